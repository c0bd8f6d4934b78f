"""Algorithm 1 as the ME-Sampler authors' released code computes it (see ``PAPER.md``).

Two differences from :class:`~mesampler.estimators.antithetic.AntitheticPriorEstimator`'s default:
probes are normalised to l2 norm ``fd_eps`` (0.1) per frame (the default there too), and the
derivative is divided by ``fd_eps delta^2`` instead of ``delta fd_eps``:

    g <- g - eta (L(x + w2) - L(x + w1)) / (fd_eps delta^2) r_s

which is the paper's update with learning rate ``eta / delta``; this subclass applies exactly that.
"""

from __future__ import annotations

from mesampler.estimators.antithetic import AntitheticPriorEstimator
from mesampler.samplers.base import Sampler


class ReleasedEstimator(AntitheticPriorEstimator):
    """The released code's estimator: per-frame probe norm ``fd_eps``, derivative over ``fd_eps delta^2``."""

    def __init__(
        self, sampler: Sampler, *, delta: float = 0.1, fd_eps: float = 0.1, eta: float = 0.1, adapt_fd: bool = True
    ) -> None:
        super().__init__(sampler, delta=delta, fd_eps=fd_eps, eta=eta, probe_norm="frame", adapt_fd=adapt_fd)
        self.eta = eta / delta  # dividing the derivative by fd_eps delta^2 = scaling eta by 1 / delta
