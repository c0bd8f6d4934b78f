"""E-Bandits (ME-Sampler paper, Table 2): Bandits-TD (Ilyas, Engstrom, Madry, ICLR 2019), per-frame tiled prior."""

from __future__ import annotations

from dataclasses import dataclass

from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.estimators.bandits import BanditsEstimator

PAPER = "Ilyas, Engstrom, Madry, Prior Convictions: Black-Box Adversarial Attacks with Bandits and Priors, ICLR 2019"


@dataclass(frozen=True)
class BanditsDefaults:
    """That paper's l-inf setting: fd 0.1, exploration 1.0, online lr 100, image lr 0.01; 6 px tiles (its
    50 x 50 prior on 299 px inputs). ``adapt_fd`` (ours, not the paper's): adapt ``fd_eta`` on a flat signal
    (:mod:`mesampler.estimators.flat`)."""

    tile: int = 6
    fd_eta: float = 0.1
    exploration: float = 1.0
    online_lr: float = 100.0
    lr: float = 0.01
    adapt_fd: bool = True


@register_attack("e-bandits", defaults=BanditsDefaults, paper=PAPER)
def e_bandits(p: BanditsDefaults) -> SignPGD:
    """Bandits-TD with time and data priors, per frame."""
    estimator = BanditsEstimator(
        tile=p.tile, fd_eta=p.fd_eta, exploration=p.exploration, online_lr=p.online_lr, adapt_fd=p.adapt_fd
    )
    return SignPGD(estimator, lr=p.lr)
