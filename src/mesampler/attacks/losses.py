"""Attack losses (paper sec. 3.5 and Table 5). Each maps scores ``(m, K)`` and classes ``(m,)``
to a loss ``(m,)`` that the attack *minimises*; scores are logits (or log-probabilities).

Untargeted, ``y`` is the class to leave; targeted, ``y`` is the class to reach.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mesampler.registry import Registry

LossFn = Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor]


def _best_other(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return scores.scatter(1, y[:, None], float("-inf")).amax(1)


def logits_margin(scores: torch.Tensor, y: torch.Tensor, targeted: bool) -> torch.Tensor:
    """``max(l_y - max_{k!=y} l_k, 0)``; targeted: ``max(max_{k!=t} l_k - l_t, 0)``."""
    own = scores.gather(1, y[:, None])[:, 0]
    margin = own - _best_other(scores, y)
    return (-margin if targeted else margin).clamp_min(0)


def cross_entropy(scores: torch.Tensor, y: torch.Tensor, targeted: bool) -> torch.Tensor:
    """Untargeted: ``log p_y`` (minimising it maximises the cross-entropy); targeted: ``-log p_t``."""
    logp = scores.log_softmax(1).gather(1, y[:, None])[:, 0]
    return -logp if targeted else logp


def probability(scores: torch.Tensor, y: torch.Tensor, targeted: bool) -> torch.Tensor:
    """The paper's ``max(sum_k p_k - max_{k!=y} p_k, 0) = 1 - max_{k!=y} p_k``; targeted: ``1 - p_t``."""
    p = scores.softmax(1)
    if targeted:
        return 1 - p.gather(1, y[:, None])[:, 0]
    return (1 - _best_other(p, y)).clamp_min(0)


LOSSES: Registry[torch.Tensor] = Registry("loss")
LOSSES.add("logits", logits_margin, paper="Carlini & Wagner margin; ME-Sampler paper Table 5 (its best)")
LOSSES.add("cross-entropy", cross_entropy, paper="ME-Sampler paper Table 5")
LOSSES.add("probability", probability, paper="ME-Sampler paper sec. 3.5, Table 5")


def get_loss(name: str) -> LossFn:
    """The loss called ``name`` (one of ``LOSSES.names()``)."""
    return LOSSES.get(name)
