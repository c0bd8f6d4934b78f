"""Probe-size adaptation for finite-difference estimators on outputs that move in steps (ours, not a paper's).

A quantised model (int8) or an API that rounds its probabilities answers both probes of a pair identically when
the probes are smaller than its output step, so the finite difference is 0, the gradient estimate stays 0 and
the attack never moves. :class:`ProbeScale` keeps one multiple of the estimator's probe size per video and
classifies every iteration by its probe losses and the loss of the iterate they were drawn around:

* **no response** (every pair equal, and equal to the iterate's loss): after :data:`FLAT_RUN` such iterations
  in a row the probe size doubles, up to :data:`MAX_SCALE` times the estimator's own;
* **symmetric response** (every pair equal but not to the iterate's loss, while the pairs are centred on the
  iterate, i.e. the estimator's own gradient state is still 0: both probes of a pair moved the output by the
  same step, or both fool the model and sit at the loss's floor): the probes are large enough to move the
  output but not to tell a direction; after :data:`FLAT_RUN` in a row the size halves (down to the
  estimator's own). Without this rule a raised probe that fools the model on both sides keeps doubling and
  the attack never moves (seen on the test-bed with logits on a grid of 2.0). Pairs drawn around a point
  displaced from the iterate (a prior ``g != 0``) differ from its loss by that displacement: there an equal
  pair counts as no response;
* **signal** (some pair differs): after :data:`SIGNAL_RUN` in a row a raised size halves again.

The iterate's loss comes from the loop's check of it (:meth:`observe`); while it is unknown, an equal pair
counts as no response. On a smooth model pairs are never equal, so nothing changes there. Each video's
result says how far its probe size went (:meth:`notes`); the first raise of a run is logged once.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch

from mesampler.estimators.base import GradientEstimator
from mesampler.samplers.base import VideoBatch

log = logging.getLogger(__name__)

FLAT_RUN = 2
"""Consecutive iterations without response (or with a symmetric one) before a video's probe size changes."""
SIGNAL_RUN = 10
"""Consecutive iterations with signal before a raised probe size is halved again."""
MAX_SCALE = 256.0
"""Largest multiple of the estimator's probe size the adaptation may reach."""


class ProbeScale:
    """Per-video multiple of a finite-difference probe size ``size`` (the estimator's unit, e.g. ``fd_eps``).

    Args:
        size: the estimator's probe size, as its docstring defines it.
        name: the estimator's name for the size (``"fd_eps"``, ``"fd_eta"``, ``"sigma"``), used in notes.
        enabled: ``False`` keeps every multiple at 1 (the estimator's literal behaviour).
    """

    def __init__(self, size: float, name: str, *, enabled: bool = True) -> None:
        self.size, self.name, self.enabled = size, name, enabled

    def init(self, n: int, device: torch.device) -> None:
        self.scale = torch.ones(n, device=device)
        self.run = torch.zeros(n, dtype=torch.long, device=device)  # > 0: no response, < 0: signal
        self.sym = torch.zeros(n, dtype=torch.long, device=device)  # consecutive symmetric responses
        self.center = torch.full((n,), math.nan, device=device)  # the loss of each video's iterate
        self.flat_total = torch.zeros(n, dtype=torch.long, device=device)
        self.max_scale = torch.ones(n, device=device)
        self.warned = False

    def state_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("scale", "run", "sym", "center", "flat_total", "max_scale")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k in ("scale", "run", "sym", "center", "flat_total", "max_scale"):
            setattr(self, k, state[k].to(self.scale.device))

    def sizes(self, idx: torch.Tensor) -> torch.Tensor:
        """The current probe size of videos ``idx`` ``(b,)``: ``size`` times each one's multiple."""
        return self.size * self.scale[idx]

    def observe(self, idx: torch.Tensor, losses: torch.Tensor) -> None:
        """The loop checked the iterates of videos ``idx``: their losses ``(b,)``."""
        self.center[idx.to(self.center.device)] = losses.to(self.center)

    def update(
        self, idx: torch.Tensor, first: torch.Tensor, second: torch.Tensor, centred: torch.Tensor | None = None
    ) -> None:
        """This iteration's probe losses: ``first`` and ``second`` ``(b, pairs)`` (or ``(b,)``), pair by pair;
        ``centred`` ``(b,)`` bool: whether each video's pairs straddle its iterate (``None``: all do)."""
        first, second = first.reshape(len(idx), -1), second.reshape(len(idx), -1)
        equal = (first == second).all(1)
        self.flat_total[idx] += equal.long()
        if not self.enabled:
            return
        center = self.center[idx]
        known = ~torch.isnan(center)
        if centred is not None:
            known &= centred.to(known.device)
        symmetric = equal & known & (first != center[:, None]).any(1)
        silent = equal & ~symmetric
        run = torch.where(silent, self.run[idx].clamp_min(0) + 1, torch.where(equal, 0, self.run[idx].clamp_max(0) - 1))
        sym = torch.where(symmetric, self.sym[idx] + 1, 0)
        scale = self.scale[idx]
        up = run >= FLAT_RUN
        down = ((run <= -SIGNAL_RUN) | (sym >= FLAT_RUN)) & (scale > 1)
        if not self.warned and bool((up & (scale < MAX_SCALE)).any()):
            self.warned = True
            log.warning(
                "flat loss for %d video(s): the model's output does not change under probes of %s %g; raising "
                "the probe size up to %g x (quantised or rounded output?); each result's notes say how far",
                int(up.sum()), self.name, self.size, MAX_SCALE,
            )  # fmt: skip
        scale = torch.where(up, (scale * 2).clamp_max(MAX_SCALE), torch.where(down, (scale / 2).clamp_min(1), scale))
        self.scale[idx] = scale
        self.run[idx] = torch.where(up | down, torch.zeros_like(run), run)
        self.sym[idx] = torch.where(down, torch.zeros_like(sym), sym)
        self.max_scale[idx] = torch.maximum(self.max_scale[idx], scale)

    def notes(self, i: int) -> list[str]:
        if float(self.max_scale[i]) <= 1:
            return []
        return [
            f"flat loss (both probes equal) in {int(self.flat_total[i])} iterations, as a quantised or rounded "
            f"output gives: probe size raised up to {self.size * float(self.max_scale[i]):g} "
            f"({float(self.max_scale[i]):g} x {self.name})"
        ]


class ProbeScaledEstimator(GradientEstimator):
    """A finite-difference estimator whose probe size follows :class:`ProbeScale`: it sees the loop's checks
    (:meth:`observe`) and reports the adaptation in each video's notes. Subclasses call :meth:`init_probe_scale`
    in ``init`` and keep ``probe_scale.state_dict()`` in their state."""

    probe_scale: ProbeScale

    def init_probe_scale(self, size: float, name: str, enabled: bool, batch: VideoBatch) -> None:
        self.probe_scale = ProbeScale(size, name, enabled=enabled)
        self.probe_scale.init(len(batch.x0), batch.x0.device)

    def observe(self, idx: torch.Tensor, losses: torch.Tensor) -> None:
        self.probe_scale.observe(idx, losses)

    def notes(self, i: int) -> list[str]:
        return self.probe_scale.notes(i)
