"""U-sample (ME-Sampler paper, Table 4, sec. 4.4): ME-Sampler on ``R * U`` maps instead of real motion."""

from __future__ import annotations

from dataclasses import dataclass

from mesampler.attacks.methods.me_sampler import PAPER, MESamplerDefaults, prior_pgd
from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.samplers import USample


@dataclass(frozen=True)
class USampleDefaults(MESamplerDefaults):
    """ME-Sampler's record plus ``scale``: ``U`` is uniform in [-scale, scale] (paper sec. 4.4: 50)."""

    scale: float = 50.0


@register_attack("u-sample", defaults=USampleDefaults, paper=PAPER + ", Table 4", needs_motion=True)
def u_sample(p: USampleDefaults) -> SignPGD:
    """Table 4 ablation: motion region R times uniform values U."""
    return prior_pgd(USample(interval=p.interval, scale=p.scale), p, p.norm)
