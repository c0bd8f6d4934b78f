"""The ME-Sampler authors' released code (SthSth-V2), as listed in ``PAPER.md``: one grid-sampled map and noise
frame shared by all frames, maps in GOP order, per-frame l2 probes of ``fd_eps`` (unclipped with
``clip_probes=False``), the paper's update of ``g``, and the probability loss."""

from __future__ import annotations

from dataclasses import dataclass

from mesampler.attacks.methods.me_sampler import PAPER
from mesampler.attacks.registry import register_attack
from mesampler.attacks.sign_pgd import SignPGD
from mesampler.estimators.released import ReleasedEstimator
from mesampler.samplers import ReleasedSampler


@dataclass(frozen=True)
class ReleasedDefaults:
    """The released code's constants (they equal the paper's appendix A values; probes always per frame);
    ``adapt_fd`` as in :class:`~mesampler.attacks.methods.me_sampler.PriorDefaults` (not in the released code);
    ``clip_probes=False`` sends probes outside [0, 1] as the released code does (the default clips them, since
    a model may reject pixels outside its bounds)."""

    delta: float = 0.1
    fd_eps: float = 0.1
    eta: float = 0.1
    lr: float = 0.025
    interval: int = 10
    adapt_fd: bool = True
    clip_probes: bool = True


@register_attack(
    "me-sampler-released",
    defaults=ReleasedDefaults,
    paper=PAPER + " (the authors' released code)",
    needs_motion=True,
    default_loss="probability",
)
def me_sampler_released(p: ReleasedDefaults) -> SignPGD:
    """The authors' released-code form of the ME-Sampler."""
    estimator = ReleasedEstimator(
        ReleasedSampler(interval=p.interval),
        delta=p.delta,
        fd_eps=p.fd_eps,
        eta=p.eta,
        adapt_fd=p.adapt_fd,
        clip_probes=p.clip_probes,
    )
    return SignPGD(estimator, lr=p.lr)
