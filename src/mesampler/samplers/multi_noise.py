"""Multi-noise prior (paper Table 3): independent N(0, I) noise for every frame."""

from __future__ import annotations

import torch

from mesampler.samplers.base import Sampler


class MultiNoise(Sampler):
    def _draw_into(self, i: int, iteration: int, out: torch.Tensor) -> None:
        torch.randn(out.shape, generator=self.generators[i], device=out.device, out=out)
