"""The prior of the ME-Sampler authors' released code (SthSth-V2), as listed in ``PAPER.md``.

Differences from the paper's eq. 3 (:mod:`mesampler.samplers.me_sampler`):

* One accumulated motion map serves every video frame, and one noise frame ``r`` ``(H, W, C)``
  ~ N(0, I) per iteration: the prior is the same in every frame.
* The map is shifted by its global minimum, cast to uint8 (floored; values above 255 wrap modulo 256,
  as a C cast does), mapped to grid coordinates ``(2 v - S + 1) / (S - 1)`` with ``S`` the frame's width
  (component 0, dx: the x coordinate) or height (component 1), so value ``v`` reads pixel ``v`` and values
  beyond the frame read zeros, and used as a ``grid_sample`` grid (bilinear, ``align_corners=True`` as
  PyTorch 1.0.1, which the code ran on, behaved; zero padding) into ``r``.
* Maps are taken in GOP order, map ``(iteration // interval) mod N``, changed every ``interval``
  (10) iterations; no randomness in the choice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mesampler.samplers.base import MotionSampler, VideoBatch


def released_grid(maps: torch.Tensor) -> torch.Tensor:
    """Motion maps ``(N, H, W, 2)`` pixels -> ``grid_sample`` grids ``(N, H, W, 2)`` (``align_corners=True``
    coordinates: -1 and 1 are the centres of the first and last pixel; beyond them, zero padding)."""
    _, h, w, _ = maps.shape
    flat = maps.flatten(1)
    shifted = maps - flat.amin(1).reshape(-1, 1, 1, 1)
    u8 = torch.floor(shifted).remainder(256)
    size = torch.tensor([w, h], dtype=maps.dtype, device=maps.device)
    return (2 * u8 - size + 1) / (size - 1).clamp_min(1)


class ReleasedSampler(MotionSampler):
    """One grid-sampled noise frame, copied to every frame. ``interval``: iterations per map (10)."""

    def init(self, batch: VideoBatch) -> None:
        super().init(batch)
        self._grids = [released_grid(m) for m in batch.motions if m is not None]

    def _draw_one(self, i: int, iteration: int) -> torch.Tensor:
        _, t, h, w, c = self.shape
        grids = self._grids[i]
        grid = grids[(iteration // self.interval) % len(grids)]
        noise = self._randn(i, 1, c, h, w)
        frame = F.grid_sample(noise, grid[None].to(noise.device), mode="bilinear", align_corners=True)
        return frame[0].permute(1, 2, 0).expand(t, h, w, c)
