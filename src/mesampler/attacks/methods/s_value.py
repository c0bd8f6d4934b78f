"""S-value (ME-Sampler paper, Table 4, sec. 4.4): ME-Sampler on ``R * S`` maps, S = 0, 1, 2, ... row-major."""

from __future__ import annotations

from mesampler.attacks.methods.me_sampler import PAPER, MESamplerDefaults, prior_pgd
from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.samplers import SValue


@register_attack("s-value", defaults=MESamplerDefaults, paper=PAPER + ", Table 4", needs_motion=True)
def s_value(p: MESamplerDefaults) -> SignPGD:
    """Table 4 ablation: motion region R times sequential values S."""
    return prior_pgd(SValue(interval=p.interval), p, p.norm)
