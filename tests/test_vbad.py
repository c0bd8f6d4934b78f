"""V-BAD as its released code runs it: rank-transformed NES, feature target |5 N(0, I)|, random start, annealed step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mesampler
from mesampler.attacks import create_attack
from mesampler.attacks.methods.v_bad import VBADAttack
from mesampler.estimators.vbad import VBADEstimator, rank_weights, tentative_perturbation
from mesampler.samplers.base import VideoBatch
from toymodels import CountingLinear


class LinearSurrogate(torch.nn.Module):
    """``(N, 3, H, W)`` -> ``(N, 4)``: a fixed linear map, so the feature-distortion gradient is known exactly."""

    def __init__(self, h: int, w: int) -> None:
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(4, 3 * h * w, generator=torch.Generator().manual_seed(3)) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.a.T


def gens(n: int, seed: int = 0) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


def test_feature_target_has_the_released_scale() -> None:
    """sign(A^T (A f - r)) with r = |5 N(0, I)| drawn from the video's generator, frame by frame."""
    h = w = 4
    sur = LinearSurrogate(h, w)
    x = torch.rand(1, 3, h, w, 3, generator=torch.Generator().manual_seed(1))
    got = tentative_perturbation(sur, x, gens(1), scale=5.0)
    r = (5.0 * torch.randn(3, 4, generator=gens(1)[0])).abs()
    frames = x[0].permute(0, 3, 1, 2).flatten(1)  # (T, 3 H W)
    grad = (frames @ sur.a.T.detach() - r) @ sur.a.detach()
    want = grad.reshape(3, 3, h, w).permute(0, 2, 3, 1).sign()
    assert torch.equal(got[0], want)
    assert not torch.equal(tentative_perturbation(sur, x, gens(1), scale=1.0), got)  # the scale matters here
    assert VBADEstimator(sur).target_scale == 5.0


def test_rank_weights() -> None:
    r = rank_weights(torch.tensor([[3.0, -1.0, 10.0, 3.0, 0.5]]))
    torch.testing.assert_close(r, torch.tensor([[2.5, 0.0, 4.0, 2.5, 1.0]]) / 4)


@pytest.mark.parametrize("rank", [True, False])
def test_rank_transform_makes_the_estimate_invariant_to_increasing_loss_transforms(rank: bool) -> None:
    x = torch.rand(1, 2, 8, 8, 3, generator=torch.Generator().manual_seed(0))
    wvec = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))

    def linear(v: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        return (v * wvec).flatten(1).sum(1)

    def steep(v: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
        return torch.exp(200 * (linear(v, o) - float(linear(x, o[:1]))))

    out = []
    for fn in (linear, steep):
        est = VBADEstimator(LinearSurrogate(8, 8), samples=16, sigma=1e-2, split=4, rank_transform=rank)
        est.init(VideoBatch(x, gens(1), [None]))
        out.append(est.estimate(x, torch.tensor([0]), 0, fn).sign())
    assert torch.equal(out[0], out[1]) == rank


def _attack(**kw: object) -> VBADAttack:
    attack = create_attack("v-bad", surrogate=LinearSurrogate(6, 6), samples=4, split=2, **kw)
    assert isinstance(attack, VBADAttack)
    return attack


def test_random_start_moves_the_first_iterate_inside_the_ball() -> None:
    rng = np.random.default_rng(0)
    video = rng.uniform(0.2, 0.8, (3, 6, 6, 3)).astype(np.float32)
    model = CountingLinear(video.shape, 4, seed=1, scale=0.01)  # barely moves: nothing is fooled
    kw = {"surrogate": LinearSurrogate(6, 6), "samples": 4, "split": 2, "eps": 0.05, "max_queries": 6, "seed": 3}
    r = mesampler.attack(model, video, method="v-bad", **kw)
    r0 = mesampler.attack(model, video, method="v-bad", random_start=False, **kw)
    d, d0 = r.adversarial - video, r0.adversarial - video
    assert r.iterations == r0.iterations == 1 and np.abs(d).max() <= 0.05 + 1e-6
    # without the start every pixel moved by exactly one step; with it the offsets spread over the ball
    assert np.unique(np.round(np.abs(d0), 6)).size <= 2 and np.unique(np.round(d, 4)).size > 50


def test_step_anneals_by_halves_to_min_lr_when_the_loss_does_not_rise() -> None:
    attack = _attack(anneal_window=3)
    x = torch.zeros(2, 1, 6, 6, 3)
    attack.init(VideoBatch(x, gens(2), [None, None], eps=0.03))
    falling = [torch.tensor([5.0, 1.0]), torch.tensor([4.0, 2.0]), torch.tensor([3.0, 3.0])]
    for v in falling:
        attack._anneal(torch.tensor([0, 1]), v)
    assert attack.step_size.tolist() == pytest.approx([0.005, 0.01])  # video 0 fell: halved; video 1 rose
    for _ in range(12):
        attack._anneal(torch.tensor([0]), torch.tensor([1.0]))
    assert float(attack.step_size[0]) == pytest.approx(0.001)  # flat: halved down to min_lr, not below
    fixed = _attack(anneal_window=0)
    fixed.init(VideoBatch(x, gens(2), [None, None], eps=0.03))
    for v in falling:
        fixed._anneal(torch.tensor([0, 1]), v)
    assert fixed.step_size.tolist() == pytest.approx([0.01, 0.01])


def test_vbad_option_errors() -> None:
    with pytest.raises(ValueError, match="min_lr must be in"):
        _attack(min_lr=0.1)
    with pytest.raises(ValueError, match="anneal_window must be"):
        _attack(anneal_window=-1)
    with pytest.raises(ValueError, match="target_scale must be"):
        _attack(target_scale=0.0)
