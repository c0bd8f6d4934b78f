"""U-Sample map ablation (ME-Sampler paper, sec. 4.4, Table 4): the motion map's non-zero region R
times uniform values.

Each motion map ``m`` ``(H, W, 2)`` is replaced by ``R * U``, where ``R = 1`` on pixels whose motion is
non-zero (either component) and ``U ~ Uniform[0, 1]`` per pixel and component, scaled to
``[-scale, scale]`` (paper: 50). ``U`` is drawn once per map from the video's generator; the maps are
then used exactly as the ME-Sampler uses real motion (eq. 3, map draws every ``interval`` iterations).
"""

from __future__ import annotations

import dataclasses

import torch

from mesampler.samplers.base import VideoBatch
from mesampler.samplers.me_sampler import MESampler


def region(maps: torch.Tensor) -> torch.Tensor:
    """Region map R ``(N, H, W, 1)`` float32: 1 where the motion ``(N, H, W, 2)`` is non-zero, else 0."""
    return (maps != 0).any(-1, keepdim=True).to(maps.dtype)


class USample(MESampler):
    """ME-Sampler fed ``R * U`` instead of the motion maps. ``scale``: half-range of ``U`` (paper: 50)."""

    def __init__(self, *, interval: int = 10, scale: float = 50.0) -> None:
        super().__init__(interval=interval)
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.scale = scale

    def init(self, batch: VideoBatch) -> None:
        pairs = zip(batch.motions, batch.generators, strict=True)
        super().init(dataclasses.replace(batch, motions=[None if m is None else self.replace(m, g) for m, g in pairs]))

    def replace(self, maps: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``R * U`` for motion maps ``(N, H, W, 2)``; ``U`` drawn from ``generator``."""
        u = torch.rand(maps.shape, generator=generator, device=generator.device).to(maps.device)
        return region(maps) * (2 * u - 1) * self.scale
