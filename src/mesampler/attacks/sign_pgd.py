"""l-inf sign-PGD on an estimated gradient (Algorithm 2): ``x <- x - h sign(g)``; or l2 PGD (``norm="l2"``):
``x <- x - h sqrt(D) g / ||g||_2`` (D values per video, so the step's per-pixel RMS is h), projected by the loop
onto the l2 ball.

The estimator decides where ``g`` comes from (sparked prior, NES, Bandits, ...); the base
class projects onto the epsilon ball and [0, 1] and checks success after each step.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from mesampler.attacks.base import Queries, ScoreAttack
from mesampler.estimators.base import GradientEstimator
from mesampler.samplers.base import VideoBatch

Norm = Literal["linf", "l2"]


class SignPGD(ScoreAttack):
    """Sign-gradient descent with step ``lr`` (paper's h = 0.025) on ``estimator``'s gradient."""

    def __init__(self, estimator: GradientEstimator, *, lr: float = 0.025, norm: Norm = "linf") -> None:
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if norm not in ("linf", "l2"):
            raise ValueError(f"norm must be 'linf' or 'l2', got {norm!r}")
        self.estimator, self.lr, self.norm = estimator, lr, norm
        self.queries_per_iteration = estimator.probes_per_iteration + 1

    def init(self, batch: VideoBatch) -> None:
        self.estimator.init(batch)

    def state_dict(self) -> dict[str, Any]:
        return {"estimator": self.estimator.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.estimator.load_state_dict(state["estimator"])

    def notes(self, i: int) -> list[str]:
        return self.estimator.notes(i)

    def observe(self, idx: torch.Tensor, x: torch.Tensor, scores: torch.Tensor, losses: torch.Tensor) -> None:
        self.estimator.observe(idx, losses)

    def warm_start(self, idx: torch.Tensor, losses: torch.Tensor, scores: torch.Tensor) -> None:
        self.estimator.observe(idx, losses)

    def _step(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: Queries) -> torch.Tensor:
        g = self.estimator.estimate(x, idx, iteration, loss)
        if self.norm == "linf":
            return torch.add(x, g.sign(), alpha=-self.lr)
        # l2: a normalised step of per-pixel RMS lr (the size of the l-inf sign step), projected by the loop
        scale = math.sqrt(g[0].numel()) / g.flatten(1).norm(dim=1).clamp_min(1e-12)
        return torch.addcmul(x, g, scale.reshape(-1, *(1,) * (g.ndim - 1)), value=-self.lr)
