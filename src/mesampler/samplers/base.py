"""The prior interface: a sampler draws one noise video per attacked video and iteration.

The attack loop never knows which prior it runs; it only calls :meth:`Sampler.init` once per
batch and :meth:`Sampler.draw` once per iteration for the videos still running.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

_SAMPLERS: dict[str, Callable[..., Sampler]] = {}


def register_sampler(name: str) -> Callable[[type[Sampler]], type[Sampler]]:
    def deco(cls: type[Sampler]) -> type[Sampler]:
        _SAMPLERS[name] = cls
        cls.name = name
        return cls

    return deco


def create_sampler(name: str, **kwargs: object) -> Sampler:
    if name not in _SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(_SAMPLERS)}")
    return _SAMPLERS[name](**kwargs)


class Sampler:
    """Base prior. ``draw`` returns ``(b, T, H, W, 3)`` float32 noise on the generators' device."""

    name = "base"
    needs_motion = False

    def init(
        self,
        shape: tuple[int, int, int, int, int],
        generators: Sequence[torch.Generator],
        motions: Sequence[torch.Tensor | None],
    ) -> None:
        """Prepare for ``shape = (B, T, H, W, C)`` videos; one generator (and motion set) per video."""
        self.shape = shape
        self.generators = list(generators)
        if self.needs_motion and any(m is None for m in motions):
            missing = [i for i, m in enumerate(motions) if m is None]
            raise ValueError(f"sampler {self.name!r} needs motion maps; none given for video(s) {missing}")
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
