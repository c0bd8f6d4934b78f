"""NES gradient estimation on the whole video (Ilyas, Engstrom, Athalye, Lin, ICML 2018, "Black-box
Adversarial Attacks with Limited Queries and Information", Algorithm 1), the paper's E-NES baseline.

Per iteration and video: draw ``samples / 2`` Gaussian directions ``u_j`` over the whole video and probe
both ``x + sigma u_j`` and ``x - sigma u_j`` (antithetic sampling), then

    g_hat = sum_j (L(x + sigma u_j) - L(x - sigma u_j)) u_j / (samples sigma)
    m <- momentum m + (1 - momentum) g_hat

and return ``m`` (the attack steps ``x <- x - lr sign(m)``, l-inf PGD). Defaults are the NES paper's
ImageNet setting: ``samples = 50``, ``sigma = 0.001`` on [0, 1] pixels, image step ``lr = 0.01``;
``momentum = 0.9`` as in the authors' implementation. Probes are clipped to [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from mesampler.estimators.base import LossQuery
from mesampler.estimators.flat import ProbeScaledEstimator
from mesampler.samplers.base import VideoBatch


def per_video_randn(generators: Sequence[torch.Generator], idx: torch.Tensor, *shape: int) -> torch.Tensor:
    """``(b, *shape)`` float32 N(0, 1) noise, row ``k`` drawn from ``generators[idx[k]]``."""
    return torch.stack(
        [torch.randn(*shape, generator=generators[i], device=generators[i].device) for i in idx.tolist()]
    )


class NESEstimator(ProbeScaledEstimator):
    """Antithetic NES over the full video with a momentum average of the estimates.

    Args:
        samples: loss queries per iteration (even; ``samples / 2`` antithetic pairs).
        sigma: search standard deviation on [0, 1] pixels.
        momentum: weight of the previous estimate (0 disables momentum).
        adapt_fd: adapt ``sigma`` per video on a flat signal (ours; :mod:`mesampler.estimators.flat`).
    """

    def __init__(self, *, samples: int = 50, sigma: float = 1e-3, momentum: float = 0.9, adapt_fd: bool = True) -> None:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2 or samples % 2:
            raise ValueError(f"samples must be an even integer >= 2, got {samples!r}")
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.samples, self.sigma, self.momentum, self.adapt_fd = samples, sigma, momentum, adapt_fd
        self.probes_per_iteration = samples

    def init(self, batch: VideoBatch) -> None:
        self.generators = list(batch.generators)
        self.m = torch.zeros_like(batch.x0)
        self.init_probe_scale(self.sigma, "sigma", self.adapt_fd, batch)

    def state_dict(self) -> dict[str, Any]:
        return {"m": self.m, "probe_scale": self.probe_scale.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.m = state["m"].to(self.m.device)
        self.probe_scale.load_state_dict(state["probe_scale"])

    def estimate(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: LossQuery) -> torch.Tensor:
        b, pairs = len(idx), self.samples // 2
        u = per_video_randn(self.generators, idx, pairs, *x.shape[1:])  # (b, pairs, T, H, W, C)
        sigma = self.probe_scale.sizes(idx).reshape(-1, *(1,) * (u.ndim - 1))  # (b, 1, ...): adapted sigma
        plus = (x[:, None] + sigma * u).clamp(0, 1)
        minus = (x[:, None] - sigma * u).clamp(0, 1)
        probes = torch.cat([plus, minus], 1).flatten(0, 1)  # (b * samples, T, H, W, C), video-major
        losses = loss(probes, idx.repeat_interleave(self.samples)).reshape(b, self.samples)
        self.probe_scale.update(idx, losses[:, :pairs], losses[:, pairs:])
        diff = losses[:, :pairs] - losses[:, pairs:]  # (b, pairs)
        g = (diff.reshape(b, pairs, *(1,) * (u.ndim - 2)) * u).sum(1) / (self.samples * sigma[:, 0])
        m = self.momentum * self.m[idx] + (1 - self.momentum) * g
        self.m[idx] = m
        return m
