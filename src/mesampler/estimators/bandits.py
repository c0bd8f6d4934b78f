"""Bandits-TD (Ilyas, Engstrom, Madry, ICLR 2019, "Prior Convictions: Black-Box Adversarial Attacks with
Bandits and Priors", Algorithm 3), the paper's E-Bandits baseline, extended to video.

The gradient prior ``v`` lives on a coarse grid: each frame is tiled into ``tile`` x ``tile`` pixel
blocks (data dependence) and ``v`` is carried from iteration to iteration (time dependence). Per
iteration and video, with ``u ~ exploration N(0, I) / sqrt(dim v)``:

    q1 = up(v + u), q2 = up(v - u)                      (nearest upsampling to the frame size)
    d  = (L(x + fd_eta q2/|q2|) - L(x + fd_eta q1/|q1|)) / (fd_eta exploration)
    v <- EG step of v along d u with rate online_lr    (exponentiated gradient on [-1, 1], l-inf)

``|q|`` is the l2 norm over the whole video. The attack then steps ``x <- x - lr sign(-up(v))``,
i.e. the estimator returns ``-up(v)`` (``L`` is minimised here; Bandits maximises ``-L``).

Defaults are the paper's l-inf ImageNet setting: ``fd_eta = 0.1``, ``exploration = 1.0``,
``online_lr = 100``, image step ``lr = 0.01``; tiles of 6 px (the paper's 50 x 50 prior on 299 px
Inception inputs). The prior has one tile grid per frame (no tiling across time). ``adapt_fd`` (ours): on an
output that moves in steps ``fd_eta`` is adapted per video (:mod:`mesampler.estimators.flat`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from mesampler.estimators.base import LossQuery
from mesampler.estimators.flat import ProbeScaledEstimator
from mesampler.estimators.nes import per_video_randn
from mesampler.samplers.base import VideoBatch


def eg_step(v: torch.Tensor, g: torch.Tensor, lr: float) -> torch.Tensor:
    """Exponentiated-gradient ascent step of ``v`` in [-1, 1] along ``g`` (Bandits' l-inf prior update).

    Equal to ``2 p e^{lr g} / (p e^{lr g} + (1 - p) e^{-lr g}) - 1`` with ``p = (v + 1) / 2``, written
    with a sigmoid so that large ``lr g`` cannot overflow.
    """
    p = ((v + 1) / 2).clamp(1e-12, 1 - 1e-12)
    return 2 * torch.sigmoid(torch.logit(p) + 2 * lr * g) - 1


class BanditsEstimator(ProbeScaledEstimator):
    """Bandits-TD over a per-frame tiled prior; returns the negated upsampled prior ``(b, T, H, W, C)``.

    Args:
        tile: side of a prior tile in pixels (data-dependent prior).
        fd_eta: finite-difference probe size (l2 norm of the probe over the video).
        exploration: size of the prior's exploration noise.
        online_lr: learning rate of the prior's exponentiated-gradient update.
        adapt_fd: adapt ``fd_eta`` on a flat signal (quantised or rounded outputs).
    """

    def __init__(
        self,
        *,
        tile: int = 6,
        fd_eta: float = 0.1,
        exploration: float = 1.0,
        online_lr: float = 100.0,
        adapt_fd: bool = True,
    ) -> None:
        if isinstance(tile, bool) or not isinstance(tile, int) or tile < 1:
            raise ValueError(f"tile must be an integer >= 1 (pixels), got {tile!r}")
        for name, v in (("fd_eta", fd_eta), ("exploration", exploration), ("online_lr", online_lr)):
            if not v > 0:
                raise ValueError(f"{name} must be > 0, got {v}")
        self.tile, self.fd_eta, self.exploration, self.online_lr = tile, fd_eta, exploration, online_lr
        self.adapt_fd = adapt_fd

    def init(self, batch: VideoBatch) -> None:
        b, t, h, w, c = batch.shape
        self.generators = list(batch.generators)
        self.size = (h, w)
        self.prior = batch.x0.new_zeros(b, t, c, math.ceil(h / self.tile), math.ceil(w / self.tile))
        self.init_probe_scale(self.fd_eta, "fd_eta", self.adapt_fd, batch)

    def state_dict(self) -> dict[str, Any]:
        return {"prior": self.prior, "probe_scale": self.probe_scale.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.prior = state["prior"].to(self.prior.device)
        self.probe_scale.load_state_dict(state["probe_scale"])

    def _up(self, v: torch.Tensor) -> torch.Tensor:
        """``(b, T, C, h, w)`` prior -> ``(b, T, H, W, C)`` video-shaped direction."""
        b, t, c = v.shape[:3]
        up = F.interpolate(v.flatten(0, 1), size=self.size, mode="nearest")
        return up.reshape(b, t, c, *self.size).permute(0, 1, 3, 4, 2)

    def estimate(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: LossQuery) -> torch.Tensor:
        v = self.prior[idx]
        u = self.exploration * per_video_randn(self.generators, idx, *v.shape[1:]) / math.sqrt(v[0].numel())
        q1, q2 = self._up(v + u), self._up(v - u)
        n1 = q1.flatten(1).norm(dim=1).clamp_min(1e-12).reshape(-1, 1, 1, 1, 1)
        n2 = q2.flatten(1).norm(dim=1).clamp_min(1e-12).reshape(-1, 1, 1, 1, 1)
        size = self.probe_scale.sizes(idx).reshape(-1, 1, 1, 1, 1)  # fd_eta, adapted on a flat signal
        probes = torch.cat([x + size * q1 / n1, x + size * q2 / n2]).clamp_(0, 1)
        losses = loss(probes, torch.cat([idx, idx]))
        l1, l2 = losses[: len(idx)], losses[len(idx) :]
        self.probe_scale.update(idx, l1, l2, centred=~v.flatten(1).any(1))
        deriv = (l2 - l1) / (size.flatten() * self.exploration)
        v = eg_step(v, deriv.reshape(-1, 1, 1, 1, 1) * u, self.online_lr)
        self.prior[idx] = v
        return -self._up(v)
