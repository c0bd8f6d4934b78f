"""Multi-noise (ME-Sampler paper, Table 3): independent noise per frame, otherwise as ME-Sampler."""

from __future__ import annotations

from mesampler.attacks.methods.me_sampler import PAPER, PriorDefaults, prior_pgd
from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.samplers import MultiNoise


@register_attack("multi-noise", defaults=PriorDefaults, paper=PAPER + ", Table 3")
def multi_noise(p: PriorDefaults) -> SignPGD:
    """Table 3 ablation: independent N(0, I) noise in every frame."""
    return prior_pgd(MultiNoise(), p)
