"""E-NES (ME-Sampler paper, Table 2): NES (Ilyas, Engstrom, Athalye, Lin, ICML 2018) on the whole video, l-inf PGD."""

from __future__ import annotations

from dataclasses import dataclass

from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.estimators.nes import NESEstimator

PAPER = "Ilyas, Engstrom, Athalye, Lin, Black-box Adversarial Attacks with Limited Queries and Information, ICML 2018"


@dataclass(frozen=True)
class NESDefaults:
    """That paper's ImageNet setting (50 samples, sigma 0.001 on [0, 1] pixels, image step 0.01) and its
    code's momentum 0.9. ``adapt_fd`` (ours, not the paper's): adapt ``sigma`` on a flat signal
    (:mod:`mesampler.estimators.flat`)."""

    samples: int = 50
    sigma: float = 1e-3
    momentum: float = 0.9
    lr: float = 0.01
    adapt_fd: bool = True


@register_attack("e-nes", defaults=NESDefaults, paper=PAPER)
def e_nes(p: NESDefaults) -> SignPGD:
    """NES gradient estimate over the whole video."""
    return SignPGD(NESEstimator(samples=p.samples, sigma=p.sigma, momentum=p.momentum, adapt_fd=p.adapt_fd), lr=p.lr)
