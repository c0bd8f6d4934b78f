"""Square Attack for video (Andriushchenko, Croce, Flammarion, Hein, ECCV 2020, l-inf), extended to time.

Random search: start from vertical stripes ``x0 + eps s`` (one random sign per column and channel, the same in every
row and frame; ``stripes="frame"``, ours: fresh stripes in every frame, so that the start also moves in time, which
a model that sees only motion needs); then each iteration proposes to set one spatio-temporal *tube* — a ``side x
side`` window over ``frames`` consecutive frames — to ``x0 + eps c`` with one random sign per channel, and keeps the
proposal only if the loss decreases. The window's area follows the paper's schedule: fraction ``p`` of the frame,
``p_init`` halved at 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of 10,000 iterations (scaled to the budget).
The tube spans ``max(1, round(time_scale * sqrt(p) * T))`` frames (our extension; the paper has no time axis): the
tube is as long in time, relative to the clip, as the window is wide relative to the frame.

Each proposal costs one query, whose scores also decide success: no separate check query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from mesampler.attacks.base import Queries, ScoreAttack
from mesampler.attacks.registry import register_attack
from mesampler.samplers.base import VideoBatch

PAPER = "Andriushchenko, Croce, Flammarion, Hein, Square Attack: a query-efficient black-box adversarial attack via random search, ECCV 2020"  # noqa: E501
HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
"""Iterations (of 10,000) at which the paper halves the window's area fraction."""


STRIPES = ("video", "frame")
"""The stripe start: one set of stripes for the whole video, or fresh stripes in every frame."""


@dataclass(frozen=True)
class SquareDefaults:
    """The paper's l-inf ImageNet setting: ``p_init = 0.05``; ``time_scale = 1`` and ``stripes = "video"`` (ours:
    tube length and stripe start in time, see above)."""

    p_init: float = 0.05
    time_scale: float = 1.0
    stripes: str = "video"


def area_fraction(p_init: float, iteration: int, budget: int) -> float:
    """The paper's schedule of the window's area fraction at ``iteration`` of a ``budget``-query run."""
    scaled = int(iteration / max(budget, 1) * 10_000)
    return p_init / 2 ** sum(scaled > h for h in HALVINGS)


class Square(ScoreAttack):
    """Square Attack (l-inf) on videos, with spatio-temporal tubes."""

    queries_per_iteration = 1

    def __init__(self, *, p_init: float = 0.05, time_scale: float = 1.0, stripes: str = "video") -> None:
        if not 0 < p_init <= 1:
            raise ValueError(f"p_init must be in (0, 1], got {p_init}")
        if stripes not in STRIPES:
            raise ValueError(f"stripes must be one of {STRIPES}, got {stripes!r}")
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.p_init, self.time_scale, self.stripes = p_init, time_scale, stripes

    def init(self, batch: VideoBatch) -> None:
        if not batch.eps > 0:
            raise ValueError("square needs the attack's eps (VideoBatch.eps > 0)")
        self.x0, self.eps, self.generators = batch.x0, batch.eps, list(batch.generators)
        self.budget = batch.max_queries or 10_000
        n = len(batch.x0)
        self.best_loss = torch.full((n,), float("inf"), device=batch.x0.device)
        self.best_scores: torch.Tensor | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"best_loss": self.best_loss, "best_scores": self.best_scores}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_loss = state["best_loss"].to(self.x0.device)
        scores = state["best_scores"]
        self.best_scores = None if scores is None else scores.to(self.x0.device)

    def warm_start(self, idx: torch.Tensor, losses: torch.Tensor, scores: torch.Tensor) -> None:
        """Search from the given iterates: a proposal (the stripes first) is kept only if it beats their loss."""
        if self.best_scores is None:
            self.best_scores = scores.new_zeros(len(self.x0), scores.shape[1])
        self.best_loss[idx] = losses
        self.best_scores[idx] = scores

    def _signs(self, i: int, *shape: int) -> torch.Tensor:
        g = self.generators[i]
        return torch.randint(0, 2, shape, generator=g, device=g.device).float().mul_(2).sub_(1)

    def _proposal(self, x: torch.Tensor, i: int, iteration: int) -> torch.Tensor:
        """Video ``i``'s proposal from its current iterate ``x`` ``(T, H, W, C)``."""
        t, h, w, c = x.shape
        if iteration == 0:
            frames = t if self.stripes == "frame" else 1
            return (self.x0[i] + self.eps * self._signs(i, frames, 1, w, c)).clamp(0, 1)
        p = area_fraction(self.p_init, iteration, self.budget)
        side = max(1, min(round(math.sqrt(p * h * w)), h, w))
        length = max(1, min(round(self.time_scale * math.sqrt(p) * t), t))
        g = self.generators[i]
        t0, y0, x0 = (int(torch.randint(0, n - k + 1, (1,), generator=g, device=g.device)) for n, k in
                      ((t, length), (h, side), (w, side)))  # fmt: skip
        out = x.clone()
        self._place(out, i, (slice(t0, t0 + length), slice(y0, y0 + side), slice(x0, x0 + side)), self._signs(i, c))
        return out

    def _place(self, out: torch.Tensor, i: int, tube: tuple[slice, slice, slice], signs: torch.Tensor) -> None:
        """Set the tube of video ``i``'s proposal ``out`` to its clean pixels plus ``eps signs`` ``(C,)``."""
        out[tube] = (self.x0[i][tube] + self.eps * signs).clamp(0, 1)

    def _step(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: Queries) -> torch.Tensor:
        proposals = torch.stack([self._proposal(x[j], i, iteration) for j, i in enumerate(idx.tolist())])
        losses, scores = loss.scored(proposals, idx)
        if self.best_scores is None:
            self.best_scores = scores.new_zeros(len(self.x0), scores.shape[1])
        accept = losses < self.best_loss[idx]  # the stripes (first proposal, best loss inf) are always kept
        self.best_loss[idx] = torch.where(accept, losses, self.best_loss[idx])
        self.best_scores[idx] = torch.where(accept[:, None], scores, self.best_scores[idx])
        self.iterate_scores = self.best_scores[idx]
        return torch.where(accept.view(-1, 1, 1, 1, 1), proposals, x)


@register_attack("square", defaults=SquareDefaults, paper=PAPER)
def square(p: SquareDefaults) -> Square:
    """Random search over spatio-temporal tubes at the corners of the l-inf ball."""
    return Square(p_init=p.p_init, time_scale=p.time_scale, stripes=p.stripes)
