"""ME-Sampler (Zhang, Zhu, Zhu, Yang, ECCV 2020): sign-PGD on the antithetic estimate along the sparked prior.

The prior is noise warped by the video's motion maps (:mod:`mesampler.samplers.me_sampler`); the estimate
is Algorithm 1 (:mod:`mesampler.estimators.antithetic`). :class:`PriorDefaults` is also the record of
the Table 3 ablations, which change only the prior.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import Norm, SignPGD
from mesampler.estimators.antithetic import AntitheticPriorEstimator, ProbeNorm
from mesampler.samplers import MESampler
from mesampler.samplers.base import Sampler

PAPER = "Zhang, Zhu, Zhu, Yang, Motion-Excited Sampler: Video Adversarial Attack with Sparked Prior, ECCV 2020"


@dataclass(frozen=True)
class PriorDefaults:
    """Algorithms 1-2 of the ME-Sampler paper, appendix A: exploration ``delta``, finite-difference step
    ``fd_eps``, ``g``'s learning rate ``eta``, image step ``lr`` (the paper's h) on [0, 1] pixels;
    ``probe_norm`` as explained in :mod:`mesampler.estimators.antithetic`; ``adapt_fd`` (ours, not the
    paper's) raises the probe size where a quantised or rounded output makes the signal flat."""

    delta: float = 0.1
    fd_eps: float = 0.1
    eta: float = 0.1
    lr: float = 0.025
    probe_norm: ProbeNorm = "frame"
    adapt_fd: bool = True


@dataclass(frozen=True)
class MESamplerDefaults(PriorDefaults):
    """:class:`PriorDefaults` plus ``interval``: iterations between motion-map draws (paper: t = 10), and
    ``norm``: ``"linf"`` (the paper's) or ``"l2"`` (eps is then the l2 radius over the whole video, the paper's
    remark that the framework applies to other norms; step as in :mod:`mesampler.attacks.sign_pgd`)."""

    interval: int = 10
    norm: Norm = "linf"


def prior_pgd(sampler: Sampler, p: PriorDefaults, norm: Norm = "linf") -> SignPGD:
    """Algorithms 1-2 over ``sampler``: sign-PGD (or l2 PGD) on the antithetic prior estimate."""
    estimator = AntitheticPriorEstimator(
        sampler, delta=p.delta, fd_eps=p.fd_eps, eta=p.eta, probe_norm=p.probe_norm, adapt_fd=p.adapt_fd
    )
    return SignPGD(estimator, lr=p.lr, norm=norm)


@register_attack("me-sampler", defaults=MESamplerDefaults, paper=PAPER, needs_motion=True)
def me_sampler(p: MESamplerDefaults) -> SignPGD:
    """Motion-Excited Sampler: sparked prior from the video's motion maps."""
    return prior_pgd(MESampler(interval=p.interval), p, p.norm)
