"""One-noise prior (paper Table 3): one N(0, I) noise frame copied to every frame."""

from __future__ import annotations

import torch

from mesampler.samplers.base import Sampler


class OneNoise(Sampler):
    def _draw_one(self, i: int, iteration: int) -> torch.Tensor:
        _, t, h, w, c = self.shape
        return self._randn(i, 1, h, w, c).expand(t, h, w, c)
