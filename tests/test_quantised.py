"""Attacks against outputs that move in steps (int8 models, rounded API probabilities)."""

from __future__ import annotations

import numpy as np
import pytest

import mesampler

SHAPE = (4, 16, 16, 3)


class Quantised:
    """A linear scorer whose logits come out on a grid of ``step`` (an int8 output layer's behaviour)."""

    def __init__(self, step: float = 0.5, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = rng.normal(size=(int(np.prod(SHAPE)), 3)).astype(np.float32) / 8
        self.step = step

    def __call__(self, x: np.ndarray) -> np.ndarray:
        logits = (x.reshape(len(x), -1) - 0.5) @ self.w
        return np.round(logits / self.step) * self.step


def _correct_video(model: Quantised) -> np.ndarray:
    rng = np.random.default_rng(1)
    for _ in range(200):
        v = rng.random(SHAPE).astype(np.float32)
        s = model(v[None])[0]
        if np.sort(s)[-1] - np.sort(s)[-2] >= 1.0:  # a clear margin of two output steps
            return v
    raise AssertionError("no clearly classified video")


@pytest.mark.parametrize("method", ["me-sampler", "multi-noise"])
def test_default_attack_moves_and_fools_a_quantised_model(method: str) -> None:
    model = Quantised()
    video = _correct_video(model)
    motion = np.random.default_rng(2).normal(0, 3, (2, 16, 16, 2)).astype(np.float32)
    r = mesampler.attack(model, video, method=method, motion=motion, eps=0.05, max_queries=600, seed=0)
    assert r.linf > 0, r.notes
    assert r.success, (r.queries, r.notes)
    assert any("probe size raised" in n for n in r.notes)


def test_flat_loss_is_logged_once_per_run(caplog: pytest.LogCaptureFixture) -> None:
    model = Quantised(step=4.0)  # so coarse that the probe size is raised several times
    video = _correct_video(Quantised())
    motion = np.random.default_rng(2).normal(0, 3, (2, 16, 16, 2)).astype(np.float32)
    with caplog.at_level("WARNING"):
        r = mesampler.attack(model, video, method="me-sampler", motion=motion, eps=0.05, max_queries=300, seed=0)
    flat = [rec for rec in caplog.records if "flat loss" in rec.getMessage()]
    assert len(flat) == 1, [rec.getMessage() for rec in flat]
    raised = [n for n in r.notes if "probe size raised" in n]
    assert raised and "x fd_eps" in raised[0]


def test_without_adaptation_the_attack_says_it_never_moved() -> None:
    model = Quantised()
    video = _correct_video(model)
    r = mesampler.attack(model, video, method="multi-noise", eps=0.05, max_queries=60, adapt_fd=False)
    assert r.linf == 0 and not r.success
    assert any("never moved" in n for n in r.notes)
    from mesampler.reports.summary import summary_text

    assert "note: the attack never moved" in summary_text(r)


class CountingLinear:
    def __init__(self, k: int = 10) -> None:
        self.w = np.random.default_rng(3).normal(size=(int(np.prod(SHAPE)), k)).astype(np.float32) / 4
        self.seen = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.seen += len(x)
        return (x.reshape(len(x), -1) - 0.5) @ self.w


def test_api_output_top_k_and_rounding() -> None:
    from mesampler.models.adapters import APIOutput

    api = APIOutput(CountingLinear(), top_k=3, decimals=2)
    out = api(np.random.default_rng(0).random((2, *SHAPE)).astype(np.float32))
    assert out.shape == (2, 10) and (np.isfinite(out).sum(1) == 3).all()
    known = out[np.isfinite(out)]
    assert (known >= 0).all() and (known <= 1).all() and np.allclose(known, np.round(known, 2))
    with pytest.raises(ValueError, match="top_k"):
        APIOutput(CountingLinear(), top_k=0)


def test_api_output_logits_on_a_grid() -> None:
    from mesampler.models.adapters import APIOutput

    x = np.random.default_rng(0).random((3, *SHAPE)).astype(np.float32)
    raw = CountingLinear()(x)
    out = APIOutput(CountingLinear(), probabilities=False, step=0.5)(x)
    np.testing.assert_allclose(out, np.round(raw / 0.5) * 0.5, atol=1e-6)
    assert np.allclose(out / 0.5, np.round(out / 0.5)) and not np.allclose(raw, out)
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="step must be"):
            APIOutput(CountingLinear(), step=bad)


@pytest.mark.parametrize("loss", ["logits", "cross-entropy", "probability"])
@pytest.mark.parametrize("method", ["me-sampler", "e-bandits"])
def test_attacks_on_a_top_k_rounded_api_count_exactly(loss: str, method: str) -> None:
    from mesampler.models.adapters import APIOutput

    inner = CountingLinear()
    api = APIOutput(inner, top_k=5, decimals=4)
    video = np.random.default_rng(4).random(SHAPE).astype(np.float32)
    r = mesampler.attack(api, video, method=method, loss=loss, eps=0.03, max_queries=150, seed=1)
    assert r.queries == inner.seen == r.loss_queries + r.check_queries <= 150
    assert all(np.isfinite(v) for _, v in r.history)
    top = int(np.nanargmax(api(r.adversarial[None])[0]))
    assert top == r.adv_label


def test_cli_api_flags(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from mesampler import testbed
    from mesampler.cli.main import main
    from mesampler.video import write_video

    videos, _, _ = testbed.make_dataset(3, testbed.TEST_SEED)
    path = write_video(tmp_path / "clip.mkv", videos[2], fps=10)
    out = tmp_path / "o"
    argv = ["attack", str(path), "--model", "testbed-motion", "--out", str(out), "--max-queries", "30",
            "--api-top-k", "3", "--api-decimals", "3", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads((out / "summary.json").read_text())["queries"] <= 30


def test_probe_scale_rule() -> None:
    import torch

    from mesampler.estimators.flat import FLAT_RUN, ProbeScale

    ps = ProbeScale(0.1, "fd_eps")
    ps.init(2, torch.device("cpu"))
    idx = torch.arange(2)
    ps.observe(idx, torch.tensor([4.0, 4.0]))
    same = torch.tensor([4.0, 4.0])
    for _ in range(3 * FLAT_RUN):  # no response: the size doubles every FLAT_RUN iterations
        ps.update(idx, same, same)
    assert ps.scale.tolist() == [8.0, 8.0]
    both_fool = torch.tensor([0.0, 0.0])  # both probes at the loss floor, centred on the iterate: too large
    for _ in range(FLAT_RUN):
        ps.update(idx, both_fool, both_fool, centred=torch.tensor([True, False]))
    assert ps.scale.tolist() == [4.0, 16.0]  # video 1's pairs were displaced (prior != 0): no response there
    ps.update(idx, torch.tensor([1.0, 2.0]), torch.tensor([3.0, 2.5]))  # signal resets the runs
    assert ps.scale.tolist() == [4.0, 16.0] and ps.notes(1) and "16 x fd_eps" in ps.notes(1)[0]


@pytest.mark.parametrize("method", ["e-bandits", "e-nes"])
def test_other_finite_difference_methods_adapt_too(method: str) -> None:
    model = Quantised()
    video = _correct_video(model)
    budget = 600 if method == "e-bandits" else 1500
    r = mesampler.attack(model, video, method=method, eps=0.05, max_queries=budget, seed=0)
    assert r.linf > 0, r.notes
    assert any("probe size raised" in n for n in r.notes), r.notes
    off = mesampler.attack(model, video, method=method, eps=0.05, max_queries=budget, seed=0, adapt_fd=False)
    assert off.linf == 0 and not off.success  # without the rule it never moves
