"""Geo-TRAP (Li et al., NeurIPS 2021): ME-Sampler's estimator and sign-PGD with a geometric-transform prior.

One noise frame warped into every frame by random geometric transforms (:mod:`mesampler.samplers.geo_trap`);
the antithetic estimate, probe normalisation per frame and the sign step are ME-Sampler's, with the
constants of Geo-TRAP's released query attack (delta 0.1, fd 0.1, eta 0.1, step 0.025 on [0, 1] pixels).
"""

from __future__ import annotations

from dataclasses import dataclass

from mesampler.attacks.methods.me_sampler import PriorDefaults, prior_pgd
from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.samplers.geo_trap import Family, GeoTrapSampler

PAPER = (
    "Li, Aich, Zhu, Asif, Song, Roy-Chowdhury, Krishnamurthy, Adversarial Attacks on Black Box Video "
    "Classifiers: Leveraging the Power of Geometric Transformations, NeurIPS 2021"
)


@dataclass(frozen=True)
class GeoTrapDefaults(PriorDefaults):
    """ME-Sampler's record (the same constants in Geo-TRAP's code) plus ``family`` of the random transforms
    (its example run: ``translation_dilation``)."""

    family: Family = "translation_dilation"


@register_attack("geo-trap", defaults=GeoTrapDefaults, paper=PAPER)
def geo_trap(p: GeoTrapDefaults) -> SignPGD:
    """Noise frame warped per frame by random geometric transforms, in ME-Sampler's estimator."""
    return prior_pgd(GeoTrapSampler(family=p.family), p)
