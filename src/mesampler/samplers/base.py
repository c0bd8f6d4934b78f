"""The prior interface: a sampler draws one noise video per attacked video and iteration.

The attack loop never knows which prior it runs; it only calls :meth:`Sampler.init` once per
batch and :meth:`Sampler.draw` once per iteration for the videos still running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class VideoBatch:
    """What one run starts from: clean videos ``x0`` ``(B, T, H, W, 3)`` float32 in [0, 1], one random
    generator per video, per video its motion maps ``(N, H, W, 2)`` (dx, dy) pixels or ``None``, the
    l-inf radius ``eps`` and the per-video budget ``max_queries`` (0: not given)."""

    x0: torch.Tensor
    generators: Sequence[torch.Generator]
    motions: Sequence[torch.Tensor | None]
    eps: float = 0.0
    max_queries: int = 0

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        b, t, h, w, c = self.x0.shape
        return b, t, h, w, c


class RunComponent:
    """A piece of an attack with per-run state: samplers, estimators and the attacks themselves.

    :meth:`init` allocates the state for a batch; :meth:`state_dict` returns it as tensors and plain values
    (what checkpoints store) and :meth:`load_state_dict` restores it after :meth:`init` of the same batch.
    """

    def init(self, batch: VideoBatch) -> None:
        """Allocate per-video state for ``batch``."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (nothing to restore for a stateless component)."""

    def notes(self, i: int) -> list[str]:
        """What the user should know about video ``i``'s run (e.g. an adapted step size)."""
        return []


class Sampler(RunComponent):
    """Base prior. ``draw`` returns ``(b, T, H, W, 3)`` float32 noise on the generators' device."""

    needs_motion = False

    def init(self, batch: VideoBatch) -> None:
        """Prepare for ``batch``'s ``(B, T, H, W, C)`` videos; one generator (and motion set) per video."""
        self.shape = shape = batch.shape
        self.generators = list(batch.generators)
        motions = batch.motions
        if self.needs_motion and any(m is None for m in motions):
            missing = [i for i, m in enumerate(motions) if m is None]
            raise ValueError(f"sampler {type(self).__name__} needs motion maps; none given for video(s) {missing}")
        h, w = shape[2:4]
        for i, m in enumerate(motions):
            if m is not None and tuple(m.shape[1:3]) != (h, w):
                raise ValueError(f"motion maps of video {i} are {tuple(m.shape[1:3])}, the video is {(h, w)}")

    def draw(self, idx: torch.Tensor, iteration: int) -> torch.Tensor:
        """Noise for videos ``idx`` ``(b,)`` at loop ``iteration`` -> ``(b, T, H, W, C)``."""
        out = torch.empty((len(idx), *self.shape[1:]), device=self.generators[0].device)
        for j, i in enumerate(idx.tolist()):
            self._draw_into(i, iteration, out[j])
        return out

    def _draw_into(self, i: int, iteration: int, out: torch.Tensor) -> None:
        """Write video ``i``'s noise ``(T, H, W, C)`` into ``out``; override to avoid the copy."""
        out.copy_(self._draw_one(i, iteration))

    def _draw_one(self, i: int, iteration: int) -> torch.Tensor:
        raise NotImplementedError

    def _randn(self, i: int, *shape: int) -> torch.Tensor:
        g = self.generators[i]
        return torch.randn(*shape, generator=g, device=g.device)


class MotionSampler(Sampler):
    """Base of the priors built from motion maps; ``interval``: iterations between map draws (paper: t = 10)."""

    needs_motion = True

    def __init__(self, *, interval: int = 10) -> None:
        if interval < 1:
            raise ValueError(f"interval must be >= 1, got {interval}")
        self.interval = interval
