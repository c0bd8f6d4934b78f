"""Gradient estimators: given the current videos, return an estimate of the loss gradient.

The sign-PGD step that consumes the estimate is shared (``mesampler.attacks.base``), so any
estimator (sparked prior, NES, Bandits) runs in the same loop with the same accounting.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mesampler.samplers.base import RunComponent

LossQuery = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``loss(videos (m, T, H, W, 3), owners (m,)) -> (m,)``; every call is counted as loss queries."""


def rows(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``t[idx]`` for sorted unique ``idx``; ``t`` itself (no copy) when ``idx`` selects every row."""
    return t if len(idx) == len(t) else t[idx]


def put_rows(t: torch.Tensor, idx: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``t[idx] = values`` for sorted unique ``idx``; returns ``values`` itself when ``idx`` selects every row."""
    if len(idx) == len(t):
        return values
    t[idx] = values
    return t


class GradientEstimator(RunComponent):
    """Base estimator. ``probes_per_iteration`` loss queries are spent per video per call."""

    probes_per_iteration = 2

    def estimate(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: LossQuery) -> torch.Tensor:
        """Gradient estimate ``(b, T, H, W, 3)`` of the loss at ``x`` for videos ``idx`` ``(b,)``."""
        raise NotImplementedError

    def observe(self, idx: torch.Tensor, losses: torch.Tensor) -> None:
        """The loss ``(b,)`` of the iterates of videos ``idx`` as the loop checked them (or as a portfolio
        hands them over); nothing by default."""
