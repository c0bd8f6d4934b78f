"""The comparators of the ME-Sampler paper's Tables 2 and 4, and the authors' released-code form.

All run in the shared loop (:class:`~mesampler.attacks.sign_pgd.SignPGD`: ``x <- x - lr sign(g)``,
projection, one check query per iteration), so queries, epsilon and budget are accounted alike.

* ``e-nes`` (Table 2): NES on the whole video (:mod:`mesampler.estimators.nes`).
* ``e-bandits`` (Table 2): Bandits-TD, tiled prior per frame (:mod:`mesampler.estimators.bandits`).
* ``v-bad`` (Table 2): image-model tentative perturbation + partition NES (:mod:`mesampler.estimators.vbad`).
* ``u-sample``, ``s-value`` (Table 4): ME-Sampler with ``R * U`` / ``R * S`` maps
  (:mod:`mesampler.samplers.u_sample`, :mod:`mesampler.samplers.s_value`).
* ``me-sampler-released``: the released code's prior, estimator scaling and probability loss
  (:mod:`mesampler.samplers.released`, :mod:`mesampler.estimators.released`).
"""

from __future__ import annotations

from mesampler.attacks.prior_pgd import prior_pgd
from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.estimators.antithetic import ProbeNorm
from mesampler.estimators.bandits import BanditsEstimator
from mesampler.estimators.nes import NESEstimator
from mesampler.estimators.released import ReleasedEstimator
from mesampler.estimators.vbad import Surrogate, VBADEstimator
from mesampler.samplers.released import ReleasedSampler
from mesampler.samplers.s_value import SValue
from mesampler.samplers.u_sample import USample


@register_attack("e-nes")
def e_nes(*, samples: int = 50, sigma: float = 1e-3, momentum: float = 0.9, lr: float = 0.01) -> SignPGD:
    """E-NES: NES (Ilyas et al., ICML 2018) on the whole video, l-inf PGD. Defaults: that paper's
    ImageNet setting (50 samples, sigma 0.001, lr 0.01) and its code's momentum 0.9."""
    return SignPGD(NESEstimator(samples=samples, sigma=sigma, momentum=momentum), lr=lr)


@register_attack("e-bandits")
def e_bandits(
    *, tile: int = 6, fd_eta: float = 0.1, exploration: float = 1.0, online_lr: float = 100.0, lr: float = 0.01
) -> SignPGD:
    """E-Bandits: Bandits-TD (Ilyas, Engstrom, Madry, ICLR 2019) with a per-frame tiled prior.
    Defaults: that paper's l-inf setting (fd 0.1, exploration 1.0, online lr 100, image lr 0.01, 6 px tiles)."""
    return SignPGD(BanditsEstimator(tile=tile, fd_eta=fd_eta, exploration=exploration, online_lr=online_lr), lr=lr)


@register_attack("v-bad")
def v_bad(
    *, surrogate: Surrogate | None = None, samples: int = 48, sigma: float = 1e-5, split: int = 1, lr: float = 0.01
) -> SignPGD:
    """V-BAD (Jiang et al., ACM MM 2019): EfficientNet-Lite0 tentative perturbations rectified by NES over
    partitions. Defaults: V-BAD's released untargeted setting (48 samples, sigma 1e-5, one partition per
    frame, lr 0.01). ``surrogate``: a differentiable image model ``(N, 3, H, W)`` [0, 1] -> ``(N, D)``."""
    return SignPGD(VBADEstimator(surrogate=surrogate, samples=samples, sigma=sigma, split=split), lr=lr)


@register_attack("u-sample")
def u_sample(
    *,
    delta: float = 0.1,
    fd_eps: float = 0.1,
    eta: float = 0.1,
    lr: float = 0.025,
    interval: int = 10,
    scale: float = 50.0,
    probe_norm: ProbeNorm = "frame",
) -> SignPGD:
    """Table 4 ablation: ME-Sampler on ``R * U`` maps, U uniform in [-50, 50] (paper sec. 4.4)."""
    return prior_pgd(USample(interval=interval, scale=scale), delta, fd_eps, eta, lr, probe_norm)


@register_attack("s-value")
def s_value(
    *,
    delta: float = 0.1,
    fd_eps: float = 0.1,
    eta: float = 0.1,
    lr: float = 0.025,
    interval: int = 10,
    probe_norm: ProbeNorm = "frame",
) -> SignPGD:
    """Table 4 ablation: ME-Sampler on ``R * S`` maps, S = 0, 1, 2, ... row-major (paper sec. 4.4)."""
    return prior_pgd(SValue(interval=interval), delta, fd_eps, eta, lr, probe_norm)


@register_attack("me-sampler-released")
def me_sampler_released(
    *, delta: float = 0.1, fd_eps: float = 0.1, eta: float = 0.1, lr: float = 0.025, interval: int = 10
) -> SignPGD:
    """The authors' released code: one grid-sampled map and noise frame shared by all frames, maps in GOP
    order, per-frame l2 probes of 0.1, derivative over fd_eps delta^2, probability loss (see PAPER.md)."""
    return SignPGD(ReleasedEstimator(ReleasedSampler(interval=interval), delta=delta, fd_eps=fd_eps, eta=eta), lr=lr)


for _f in (u_sample, s_value, me_sampler_released):
    _f.needs_motion = True  # type: ignore[attr-defined]
me_sampler_released.default_loss = "probability"  # type: ignore[attr-defined]
