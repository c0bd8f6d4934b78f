"""Algorithm 1 of the ME-Sampler paper: antithetic two-query estimate along a sampled prior,
driving a running gradient estimate ``g`` (Zhang et al., ECCV 2020, sec. 3.4; after Bandits,
Ilyas et al., ICLR 2019).

Per iteration and video: draw ``r_s`` from the sampler, probe ``w1 = g + delta r_s`` and
``w2 = g - delta r_s``, then

    Delta = (L(x + fd_eps w2) - L(x + fd_eps w1)) / (delta fd_eps) * r_s
    g <- g - eta Delta

and return ``g`` (the attack steps ``x <- x - h sign(g)``).

Probe normalisation (``probe_norm``): the paper's literal probes ``x + fd_eps w`` are not
normalised; as ``g`` grows with every update they move ever further from ``x`` (per-pixel
size ``fd_eps |g|``, soon far beyond the 8-bit grid and the epsilon ball), so the finite
difference stops measuring a local slope. The authors' code and Bandits normalise the probe
direction; the working default here does too: ``w`` is scaled to l2 norm ``fd_eps`` per frame
(``"frame"``, as the released code), or over the whole video (``"video"``, as Bandits), or not
at all (``"none"``, the paper's literal form). Probes are clipped to the model's [0, 1] bounds.

Flat-signal adaptation (``adapt_fd``, ours, not the paper's): on an output that moves in steps the probe size
``fd_eps`` is raised and lowered per video by the rule of :mod:`mesampler.estimators.flat`.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from mesampler.estimators.base import LossQuery, put_rows, rows
from mesampler.estimators.flat import ProbeScaledEstimator
from mesampler.samplers.base import Sampler, VideoBatch

ProbeNorm = Literal["frame", "video", "none"]


def normalise_(w: torch.Tensor, how: ProbeNorm, size: float | torch.Tensor) -> torch.Tensor:
    """Scale ``(b, T, H, W, C)`` directions in place to l2 norm ``size`` (a float, or one per direction
    ``(b,)``) per frame or per video (``"none"``: multiply by ``size``)."""
    size_t = torch.as_tensor(size, dtype=w.dtype, device=w.device).reshape(-1, *(1,) * (w.ndim - 1))
    if how == "none":
        return w.mul_(size_t)
    norms = w.flatten(2 if how == "frame" else 1).norm(dim=-1).clamp_min(1e-12)  # (b, T) or (b,)
    return w.mul_(
        size_t.reshape(-1, *(1,) * (norms.ndim - 1)).div(norms).reshape(norms.shape + (1,) * (w.ndim - norms.ndim))
    )


class AntitheticPriorEstimator(ProbeScaledEstimator):
    """Algorithm 1 with the ``g`` update of Algorithm 2, over any :class:`Sampler`.

    Args:
        sampler: the prior ``r_s`` (ME-Sampler, multi-noise, one-noise, ...).
        delta: exploration size of the prior around ``g`` (paper: 0.1).
        fd_eps: finite-difference step (paper: 0.1).
        eta: learning rate of ``g`` (paper: 0.1).
        probe_norm: ``"frame"`` (default), ``"video"`` or ``"none"`` (paper literal); see module doc.
        adapt_fd: raise the probe size on a flat signal (quantised or rounded outputs); see module doc.
        clip_probes: clip probes to the model's [0, 1] bounds (the released code does not).
    """

    def __init__(
        self,
        sampler: Sampler,
        *,
        delta: float = 0.1,
        fd_eps: float = 0.1,
        eta: float = 0.1,
        probe_norm: ProbeNorm = "frame",
        adapt_fd: bool = True,
        clip_probes: bool = True,
    ) -> None:
        if probe_norm not in ("frame", "video", "none"):
            raise ValueError(f"probe_norm must be 'frame', 'video' or 'none', got {probe_norm!r}")
        for name, v in (("delta", delta), ("fd_eps", fd_eps), ("eta", eta)):
            if not v > 0:
                raise ValueError(f"{name} must be > 0, got {v}")
        self.sampler = sampler
        self.delta, self.fd_eps, self.eta, self.probe_norm = delta, fd_eps, eta, probe_norm
        self.adapt_fd, self.clip_probes = adapt_fd, clip_probes

    def init(self, batch: VideoBatch) -> None:
        self.g = torch.zeros_like(batch.x0)
        self.init_probe_scale(self.fd_eps, "fd_eps", self.adapt_fd, batch)
        self.sampler.init(batch)

    def state_dict(self) -> dict[str, Any]:
        return {"g": self.g, "probe_scale": self.probe_scale.state_dict(), "sampler": self.sampler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.g = state["g"].to(self.g.device)
        self.probe_scale.load_state_dict(state["probe_scale"])
        self.sampler.load_state_dict(state["sampler"])

    def estimate(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: LossQuery) -> torch.Tensor:
        b = len(idx)
        r_s = self.sampler.draw(idx, iteration)
        g = rows(self.g, idx)
        probes = torch.empty((2, *x.shape), device=x.device)  # w1 = g + delta r_s, w2 = g - delta r_s
        torch.add(g, r_s, alpha=self.delta, out=probes[0])
        torch.add(g, r_s, alpha=-self.delta, out=probes[1])
        size = self.probe_scale.sizes(idx)  # (b,): fd_eps, adapted on a flat signal
        probes = normalise_(probes.view(2 * b, *x.shape[1:]), self.probe_norm, size.repeat(2)).view(2, *x.shape)
        probes.add_(x)
        if self.clip_probes:
            probes.clamp_(0, 1)
        losses = loss(probes.view(2 * b, *x.shape[1:]), torch.cat([idx, idx]))
        self.probe_scale.update(idx, losses[:b], losses[b:], centred=~g.flatten(1).any(1))
        step = (losses[b:] - losses[:b]) / (self.delta * size)  # (L(x + w2) - L(x + w1)) / (delta fd_eps)
        g = torch.addcmul(g, step.view(-1, 1, 1, 1, 1), r_s, value=-self.eta)
        self.g = put_rows(self.g, idx, g)
        return g
