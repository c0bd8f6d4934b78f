"""S-Value map ablation (ME-Sampler paper, sec. 4.4, Table 4): the motion map's non-zero region R
times sequential values.

Each motion map is replaced by ``R * S`` with ``S[y, x] = y W + x`` (0, 1, 2, ... left to right, top
to bottom), the same value in both components. Under eq. 3's coordinate rule (rounded, modulo the
frame size) a moving pixel ``(x, y)`` reads the noise at column ``x`` and row ``(y W + x) mod H``
(row ``x`` on square frames), and every static pixel reads ``r[0, 0]``. The maps are then used exactly
as the ME-Sampler uses real motion.
"""

from __future__ import annotations

import dataclasses

import torch

from mesampler.samplers.base import VideoBatch
from mesampler.samplers.me_sampler import MESampler
from mesampler.samplers.u_sample import region


def sequential_map(h: int, w: int, *, device: torch.device | str = "cpu") -> torch.Tensor:
    """``(H, W, 2)`` float32 map whose both components are ``y W + x``."""
    s = torch.arange(h * w, dtype=torch.float32, device=device).reshape(h, w, 1)
    return s.expand(h, w, 2)


class SValue(MESampler):
    """ME-Sampler fed ``R * S`` instead of the motion maps."""

    def init(self, batch: VideoBatch) -> None:
        _, _, h, w, _ = batch.shape
        # maps of the wrong size are passed on unchanged so that Sampler.init reports them
        maps = [m if m is None or tuple(m.shape[1:3]) != (h, w) else self.replace(m) for m in batch.motions]
        super().init(dataclasses.replace(batch, motions=maps))

    @staticmethod
    def replace(maps: torch.Tensor) -> torch.Tensor:
        """``R * S`` for motion maps ``(N, H, W, 2)``."""
        return region(maps) * sequential_map(maps.shape[1], maps.shape[2], device=maps.device)
