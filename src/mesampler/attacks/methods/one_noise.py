"""One-noise (ME-Sampler paper, Table 3): one noise frame copied to every frame, otherwise as ME-Sampler."""

from __future__ import annotations

from mesampler.attacks.methods.me_sampler import PAPER, PriorDefaults, prior_pgd
from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.samplers import OneNoise


@register_attack("one-noise", defaults=PriorDefaults, paper=PAPER + ", Table 3")
def one_noise(p: PriorDefaults) -> SignPGD:
    """Table 3 ablation: one noise frame shared by every frame."""
    return prior_pgd(OneNoise(), p)
