"""Multi-noise prior (paper Table 3): independent N(0, I) noise for every frame."""

from __future__ import annotations

import torch

from mesampler.samplers.base import Sampler, register_sampler


@register_sampler("multi-noise")
class MultiNoise(Sampler):
    def _draw_one(self, i: int, iteration: int) -> torch.Tensor:
        _, t, h, w, c = self.shape
        return self._randn(i, t, h, w, c)
