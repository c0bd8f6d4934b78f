"""The prior of the ME-Sampler authors' released code (SthSth-V2), as listed in ``PAPER.md``.

Differences from the paper's eq. 3 (:mod:`mesampler.samplers.me_sampler`):

* One accumulated motion map serves every video frame, and one noise frame ``r`` ``(H, W, C)``
  ~ N(0, I) per iteration: the prior is the same in every frame.
* The map is shifted by its global minimum, cast to uint8 (floored; values above 255 wrap modulo 256,
  as a C cast does), mapped to [-1, 1] (``v / 255 * 2 - 1``) and used as a ``grid_sample`` grid
  (bilinear, ``align_corners=False``, zero padding) into ``r``: component 0 (dx) is the x coordinate.
* Maps are taken in GOP order, map ``(iteration // interval) mod N``, changed every ``interval``
  (10) iterations; no randomness in the choice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mesampler.samplers.base import MotionSampler, VideoBatch


def released_grid(maps: torch.Tensor) -> torch.Tensor:
    """Motion maps ``(N, H, W, 2)`` pixels -> ``grid_sample`` grids ``(N, H, W, 2)`` in [-1, 1]."""
    flat = maps.flatten(1)
    shifted = maps - flat.amin(1).reshape(-1, 1, 1, 1)
    u8 = torch.floor(shifted).remainder(256)
    return u8 / 255 * 2 - 1


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
        frame = F.grid_sample(noise, grid[None].to(noise.device), mode="bilinear", align_corners=False)
        return frame[0].permute(1, 2, 0).expand(t, h, w, c)
