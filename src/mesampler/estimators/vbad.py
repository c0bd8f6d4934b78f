"""V-BAD (Jiang, Ma, Chen, Bailey, Jiang, ACM MM 2019, "Black-box Adversarial Attacks on Video
Recognition Models"): tentative perturbations transferred from an image model, rectified by NES over
partitions of the perturbation.

Per iteration and video:

1. **Tentative perturbation** ``p`` ``(T, H, W, C)`` in {-1, 0, 1}: for every frame, the sign of the
   gradient (w.r.t. the frame's pixels) of ``||phi(frame) - r||^2``, where ``phi`` is the surrogate image
   model's output and ``r = |target_scale N(0, I)|`` a fresh random feature target (the untargeted form of
   V-BAD's released code, which draws it with ``scale=5``).
2. **Partition-based rectification**: every frame is split into ``split`` x ``split`` equal patches,
   giving ``P = T split^2`` partitions ``p_k`` of ``p``. NES with ``samples / 2`` antithetic pairs of
   coefficients ``c ~ sigma N(0, I_P)`` estimates the gradient of the loss along the partitions,
   ``g_k = sum_j (w(L(x + sum_k c_jk p_k)) - w(L(x - sum_k c_jk p_k))) c_jk / sigma``, where ``w`` is
   the rank transform of V-BAD's released code (on by default there): each of the ``samples`` losses is
   replaced by its rank among them divided by ``samples - 1`` (ties share their mean rank), so the estimate
   does not change under any increasing transform of the loss; ``rank_transform=False`` uses the losses.
3. The estimator returns ``p * g`` (partition-wise), so the attack steps ``x <- x - lr sign(g_k) p_k``.

The mean probe loss of each video is kept in :attr:`VBADEstimator.current_loss`: with coefficients of
size ``sigma`` it is the loss at ``x`` to within ``O(sigma^2)``, which the attack's lr annealing reads
(:mod:`mesampler.attacks.methods.v_bad`). The defaults live in that method's record. The surrogate is an
ImageNet image model, not the attacked model; the model layer builds the default one
(:func:`mesampler.models.efficientnet.vbad_surrogate`). Probes are clipped to [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from mesampler.estimators.base import GradientEstimator, LossQuery
from mesampler.estimators.nes import per_video_randn
from mesampler.samplers.base import VideoBatch

Surrogate = Callable[[torch.Tensor], torch.Tensor]
"""Differentiable image model: ``(N, 3, H, W)`` float32 in [0, 1] -> ``(N, D)`` features (or logits)."""


def tentative_perturbation(
    surrogate: Surrogate, x: torch.Tensor, gens: Sequence[torch.Generator], *, scale: float = 5.0
) -> torch.Tensor:
    """Sign of the per-frame feature-distortion gradient: ``x`` ``(b, T, H, W, C)`` -> same shape in {-1, 0, 1}.

    ``gens[k]`` draws video ``k``'s random feature target ``|scale N(0, I)|`` ``(T, D)``.
    """
    b, t = x.shape[:2]
    with torch.enable_grad():
        frames = x.detach().permute(0, 1, 4, 2, 3).flatten(0, 1).contiguous().requires_grad_(True)
        feats = surrogate(frames)
        feats = feats.reshape(b, t, -1)
        with torch.no_grad():
            draws = [torch.randn(feats.shape[1:], generator=g, device=g.device) for g in gens]
            target = (scale * torch.stack(draws)).abs().to(feats.dtype)
        ((feats - target.to(feats.device)) ** 2).sum().backward()
    if frames.grad is None:
        raise RuntimeError("the V-BAD surrogate's output does not depend on its input frames")
    grad = frames.grad.reshape(b, t, *frames.shape[1:]).permute(0, 1, 3, 4, 2)
    return grad.sign().to(x.device, x.dtype)


def rank_weights(losses: torch.Tensor) -> torch.Tensor:
    """Rank transform along the last axis: ``(..., n)`` losses -> ``(..., n)`` ranks / (n - 1) in [0, 1].

    The smallest loss gets 0, the largest 1; tied losses share the mean of their ranks.
    """
    n = losses.shape[-1]
    less = (losses[..., None, :] < losses[..., :, None]).sum(-1)
    ties = (losses[..., None, :] == losses[..., :, None]).sum(-1)
    return (less + (ties - 1) / 2).to(losses.dtype) / max(n - 1, 1)


def partition_ids(h: int, w: int, split: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column patch index ``(H,)``, ``(W,)`` int64 of ``split`` x ``split`` equal patches."""
    return torch.arange(h) * split // h, torch.arange(w) * split // w


class VBADEstimator(GradientEstimator):
    """Tentative image-model perturbation, rectified by partition-wise antithetic NES.

    Args:
        surrogate: image model (see :data:`Surrogate`).
        samples: loss queries per iteration (even; ``samples / 2`` antithetic pairs).
        sigma: standard deviation of the partition coefficients.
        split: patches per frame side (``split ** 2`` partitions per frame).
        rank_transform: weigh the probes by the ranks of their losses (V-BAD's released code), not the losses.
        target_scale: standard deviation of the random feature target before its absolute value.
    """

    current_loss: torch.Tensor
    """``(b,)`` mean probe loss of the videos of the latest :meth:`estimate` call."""

    def __init__(
        self,
        surrogate: Surrogate,
        *,
        samples: int = 48,
        sigma: float = 1e-3,
        split: int = 8,
        rank_transform: bool = True,
        target_scale: float = 5.0,
    ) -> None:
        if not callable(surrogate):
            raise TypeError(f"surrogate must be a callable image model, got {type(surrogate).__name__}")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2 or samples % 2:
            raise ValueError(f"samples must be an even integer >= 2, got {samples!r}")
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        if isinstance(split, bool) or not isinstance(split, int) or split < 1:
            raise ValueError(f"split must be an integer >= 1, got {split!r}")
        if not target_scale > 0:
            raise ValueError(f"target_scale must be > 0, got {target_scale}")
        self.surrogate, self.samples, self.sigma, self.split = surrogate, samples, sigma, split
        self.rank_transform, self.target_scale = bool(rank_transform), float(target_scale)
        self.probes_per_iteration = samples

    def init(self, batch: VideoBatch) -> None:
        x0, generators = batch.x0, batch.generators
        _, _, h, w, _ = x0.shape
        if self.split > min(h, w):
            raise ValueError(f"split={self.split} exceeds the frame size {(h, w)}")
        self.generators = list(generators)
        rows, cols = partition_ids(h, w, self.split)
        self.rows, self.cols = rows.to(x0.device), cols.to(x0.device)
        if isinstance(self.surrogate, nn.Module):
            self.surrogate = self.surrogate.to(x0.device)

    def _expand(self, c: torch.Tensor) -> torch.Tensor:
        """Partition coefficients ``(..., T, split, split)`` -> per-pixel ``(..., T, H, W, 1)``."""
        return c[..., self.rows, :][..., self.cols][..., None]

    def estimate(self, x: torch.Tensor, idx: torch.Tensor, iteration: int, loss: LossQuery) -> torch.Tensor:
        b, t = x.shape[:2]
        gens = [self.generators[i] for i in idx.tolist()]
        p = tentative_perturbation(self.surrogate, x, gens, scale=self.target_scale)  # (b, T, H, W, C)
        pairs = self.samples // 2
        c = self.sigma * per_video_randn(self.generators, idx, pairs, t, self.split, self.split)
        delta = self._expand(c) * p[:, None]  # (b, pairs, T, H, W, C)
        probes = torch.cat([(x[:, None] + delta).clamp(0, 1), (x[:, None] - delta).clamp(0, 1)], 1).flatten(0, 1)
        losses = loss(probes, idx.repeat_interleave(self.samples)).reshape(b, self.samples)
        self.current_loss = losses.mean(1)
        if self.rank_transform:
            losses = rank_weights(losses)
        diff = (losses[:, :pairs] - losses[:, pairs:]).reshape(b, pairs, 1, 1, 1)
        g = (diff * c).sum(1) / self.sigma  # (b, T, split, split)
        return self._expand(g) * p
