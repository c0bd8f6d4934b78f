"""l-inf sign-PGD on an estimated gradient (Algorithm 2): ``x <- x - h sign(g)``.

The estimator decides where ``g`` comes from (sparked prior, NES, Bandits, ...); the base
class projects onto the epsilon ball and [0, 1] and checks success after each step.
"""

from __future__ import annotations

from typing import Any

import torch

from mesampler.attacks.base import Queries, ScoreAttack
from mesampler.estimators.base import GradientEstimator
from mesampler.samplers.base import VideoBatch


class SignPGD(ScoreAttack):
    """Sign-gradient descent with step ``lr`` (paper's h = 0.025) on ``estimator``'s gradient."""

    def __init__(self, estimator: GradientEstimator, *, lr: float = 0.025) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        self.estimator, self.lr = estimator, lr
        self.queries_per_iteration = estimator.probes_per_iteration + 1

    def init(self, batch: VideoBatch) -> None:
        self.estimator.init(batch)

    def state_dict(self) -> dict[str, Any]:
        return {"estimator": self.estimator.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.estimator.load_state_dict(state["estimator"])

    def notes(self, i: int) -> list[str]:
        return self.estimator.notes(i)

    def _step(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: Queries) -> torch.Tensor:
        return torch.add(x, self.estimator.estimate(x, idx, iteration, loss).sign(), alpha=-self.lr)
