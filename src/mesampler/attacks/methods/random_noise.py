"""Random noise: the honest floor. Each query is a fresh random corner of the l-inf ball, ``x0 + eps s`` with
``s`` a random sign video (clipped to [0, 1]); a video counts as fooled when one of them fools the model.

No gradient, no memory: a method that does not beat this has shown no skill. One (check) query per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mesampler.attacks.base import Queries, ScoreAttack
from mesampler.attacks.registry import register_attack
from mesampler.estimators.nes import per_video_randn
from mesampler.samplers.base import VideoBatch


@dataclass(frozen=True)
class RandomNoiseDefaults:
    """No hyper-parameters: the radius is the attack's eps."""


class RandomNoise(ScoreAttack):
    """Random sign videos at the l-inf radius; one query each."""

    queries_per_iteration = 1

    def init(self, batch: VideoBatch) -> None:
        if not batch.eps > 0:
            raise ValueError("random-noise needs the attack's eps (VideoBatch.eps > 0)")
        self.x0, self.eps, self.generators = batch.x0, batch.eps, list(batch.generators)

    def _step(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: Queries) -> torch.Tensor:
        signs = per_video_randn(self.generators, idx, *x.shape[1:]).sign()
        return (self.x0[idx] + self.eps * signs).clamp(0, 1)


@register_attack("random-noise", defaults=RandomNoiseDefaults, paper="(baseline: uniform random corners of the ball)")
def random_noise(p: RandomNoiseDefaults) -> RandomNoise:
    """Random sign noise at radius eps, one query per draw (the floor every report shows)."""
    return RandomNoise()
