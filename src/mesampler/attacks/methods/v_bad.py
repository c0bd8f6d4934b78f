"""V-BAD (ME-Sampler paper, Table 2; Jiang, Ma, Chen, Bailey, Jiang, ACM MM 2019): image-model tentative
perturbations rectified by NES over partitions, with V-BAD's random start and lr annealing.

Where the ACM MM paper leaves a choice open, the record follows V-BAD's released untargeted code
(``attack/video_attack.py::untargeted_video_attack`` and its ``main``):

* **Random start.** The first iterate is ``clip(x0 + U(-eps, eps), 0, 1)`` (drawn from the video's generator);
  our loop then steps from it, so the start itself costs no extra check query.
* **lr annealing.** The step starts at ``lr`` (its ``max_lr`` 0.01). After each estimate the video's current
  loss (the mean probe loss, see :class:`~mesampler.estimators.vbad.VBADEstimator`) joins a window of the
  last ``anneal_window`` (20) values; when the window is full and its newest value is not above its oldest,
  the step halves (not below ``min_lr``, 0.001) and the window restarts. That is the released code's rule on
  the clean-class probability (it anneals once the score has stopped rising over 20 iterations, i.e. while it
  falls or stalls), applied to the attack's loss. ``anneal_window=0`` keeps the step fixed.
* **Rank transform** of the NES losses and the **feature target** ``|5 N(0, I)|`` (its ``scale=5.``).
* 48 samples (its 50 rounded to its NES batch of 12), sigma 1e-3 and 8 x 8 partitions per frame: its
  untargeted command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mesampler.attacks.base import Queries
from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.estimators.vbad import Surrogate, VBADEstimator
from mesampler.samplers.base import VideoBatch

PAPER = "Jiang, Ma, Chen, Bailey, Jiang, Black-box Adversarial Attacks on Video Recognition Models, ACM MM 2019"


@dataclass(frozen=True)
class VBADDefaults:
    """V-BAD's released untargeted setting: 48 samples, sigma 1e-3, 8 x 8 partitions per frame, rank
    transform, feature target scale 5, random start, step 0.01 annealed by halves to 0.001 over windows of
    20 iterations. ``surrogate``: a differentiable image model ``(N, 3, H, W)`` [0, 1] -> ``(N, D)``;
    ``None``: the pretrained EfficientNet-Lite0 of the model layer."""

    surrogate: Surrogate | None = None
    samples: int = 48
    sigma: float = 1e-3
    split: int = 8
    lr: float = 0.01
    min_lr: float = 0.001
    anneal_window: int = 20
    rank_transform: bool = True
    target_scale: float = 5.0
    random_start: bool = True


class VBADAttack(SignPGD):
    """Sign steps on the V-BAD estimate from a random start, with a per-video annealed step (module docstring)."""

    estimator: VBADEstimator

    def __init__(
        self, estimator: VBADEstimator, *, lr: float, min_lr: float, anneal_window: int, random_start: bool
    ) -> None:
        super().__init__(estimator, lr=lr)
        if not 0 < min_lr <= lr:
            raise ValueError(f"min_lr must be in (0, lr={lr}], got {min_lr}")
        if isinstance(anneal_window, bool) or not isinstance(anneal_window, int) or anneal_window < 0:
            raise ValueError(f"anneal_window must be an integer >= 0, got {anneal_window!r}")
        self.min_lr, self.anneal_window, self.random_start = min_lr, anneal_window, bool(random_start)

    def init(self, batch: VideoBatch) -> None:
        super().init(batch)
        n, dev = len(batch.x0), batch.x0.device
        self.generators, self.eps = list(batch.generators), float(batch.eps)
        self.step_size = torch.full((n,), float(self.lr), device=dev)
        self.window = torch.zeros(n, max(self.anneal_window, 1), device=dev)
        self.filled = torch.zeros(n, dtype=torch.long, device=dev)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "step_size": self.step_size, "window": self.window, "filled": self.filled}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        dev = self.step_size.device
        self.step_size, self.window = state["step_size"].to(dev), state["window"].to(dev)
        self.filled = state["filled"].to(dev)

    def _random_start(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """``clip(x + U(-eps, eps), 0, 1)`` ``(b, T, H, W, C)``, video ``k``'s noise from its generator."""
        u = torch.stack([torch.rand(x.shape[1:], generator=self.generators[i], device=x.device)
                         for i in idx.tolist()])  # fmt: skip
        return (x + (2 * u - 1) * self.eps).clamp(0, 1)

    def _anneal(self, idx: torch.Tensor, current: torch.Tensor) -> None:
        """Push ``current`` ``(b,)`` losses into the videos' windows; halve the step of full, non-rising ones."""
        w = self.anneal_window
        if w == 0:
            return
        for j, i in enumerate(idx.tolist()):
            f = int(self.filled[i])
            if f == w:  # full: slide by one
                self.window[i, :-1] = self.window[i, 1:].clone()
                f -= 1
            self.window[i, f] = current[j]
            self.filled[i] = f + 1
            if f + 1 == w and bool(self.window[i, -1] <= self.window[i, 0]):
                self.step_size[i] = max(float(self.step_size[i]) / 2, self.min_lr)
                self.filled[i] = 0

    def _step(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: Queries) -> torch.Tensor:
        if iteration == 0 and self.random_start and self.eps > 0:
            x = self._random_start(x, idx)
        g = self.estimator.estimate(x, idx, iteration, loss)
        self._anneal(idx, self.estimator.current_loss)
        lr = self.step_size[idx].reshape(-1, *(1,) * (x.ndim - 1))
        return x - lr * g.sign()


@register_attack("v-bad", defaults=VBADDefaults, paper=PAPER)
def v_bad(p: VBADDefaults) -> SignPGD:
    """Tentative perturbation from an image model, rectified by partition-wise NES (random start, lr annealing)."""
    surrogate = p.surrogate
    if surrogate is None:
        from mesampler.models.efficientnet import vbad_surrogate

        surrogate = vbad_surrogate()
    est = VBADEstimator(surrogate, samples=p.samples, sigma=p.sigma, split=p.split, rank_transform=p.rank_transform,
                        target_scale=p.target_scale)  # fmt: skip
    return VBADAttack(est, lr=p.lr, min_lr=p.min_lr, anneal_window=p.anneal_window, random_start=p.random_start)
