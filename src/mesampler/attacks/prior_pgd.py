"""Methods that run Algorithms 1-2 with a noise prior: the ME-Sampler and its Table 3 ablations.

Defaults are the paper's (appendix A): delta = 0.1, fd_eps = 0.1, eta = 0.1, h (``lr``) = 0.025,
map interval t = 10. ``probe_norm`` is explained in :mod:`mesampler.estimators.antithetic`.
"""

from __future__ import annotations

from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.estimators.antithetic import AntitheticPriorEstimator, ProbeNorm
from mesampler.samplers import MESampler, MultiNoise, OneNoise
from mesampler.samplers.base import Sampler


def prior_pgd(sampler: Sampler, delta: float, fd_eps: float, eta: float, lr: float, probe_norm: ProbeNorm) -> SignPGD:
    """Algorithms 1-2 over ``sampler``: sign-PGD on the antithetic prior estimate."""
    return SignPGD(AntitheticPriorEstimator(sampler, delta=delta, fd_eps=fd_eps, eta=eta, probe_norm=probe_norm), lr=lr)


@register_attack("me-sampler")
def me_sampler(
    *,
    delta: float = 0.1,
    fd_eps: float = 0.1,
    eta: float = 0.1,
    lr: float = 0.025,
    interval: int = 10,
    probe_norm: ProbeNorm = "frame",
) -> SignPGD:
    """Motion-Excited Sampler (Zhang et al., ECCV 2020): sparked prior from motion maps."""
    return prior_pgd(MESampler(interval=interval), delta, fd_eps, eta, lr, probe_norm)


me_sampler.needs_motion = True  # type: ignore[attr-defined]


@register_attack("multi-noise")
def multi_noise(
    *,
    delta: float = 0.1,
    fd_eps: float = 0.1,
    eta: float = 0.1,
    lr: float = 0.025,
    probe_norm: ProbeNorm = "frame",
) -> SignPGD:
    """Table 3 ablation: independent noise per frame, otherwise as ME-Sampler."""
    return prior_pgd(MultiNoise(), delta, fd_eps, eta, lr, probe_norm)


@register_attack("one-noise")
def one_noise(
    *,
    delta: float = 0.1,
    fd_eps: float = 0.1,
    eta: float = 0.1,
    lr: float = 0.025,
    probe_norm: ProbeNorm = "frame",
) -> SignPGD:
    """Table 3 ablation: one noise frame copied to every frame, otherwise as ME-Sampler."""
    return prior_pgd(OneNoise(), delta, fd_eps, eta, lr, probe_norm)
