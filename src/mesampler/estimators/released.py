"""Algorithm 1 as the ME-Sampler authors' released code computes it (see ``PAPER.md``).

Probes are normalised to l2 norm ``fd_eps`` (0.1) per frame (as
:class:`~mesampler.estimators.antithetic.AntitheticPriorEstimator` does by default); the released code does
not clip them to [0, 1] (``clip_probes=False`` reproduces that; the default keeps this library's promise
that a model only ever sees videos in its [0, 1] bounds). Its derivative is divided by ``fd_eps delta^2``
but multiplies the explored direction ``delta r_s``, so the net update of ``g`` is exactly the paper's,
``g <- g - eta (L(x + w2) - L(x + w1)) / (delta fd_eps) r_s``.
"""

from __future__ import annotations

from typing import Any

from mesampler.estimators.antithetic import AntitheticPriorEstimator
from mesampler.samplers.base import Sampler


class ReleasedEstimator(AntitheticPriorEstimator):
    """The released code's estimator: per-frame probe norm ``fd_eps``, the paper's update of ``g``."""

    def __init__(self, sampler: Sampler, **options: Any) -> None:
        """``options``: :class:`AntitheticPriorEstimator`'s, except ``probe_norm`` (always per frame)."""
        if "probe_norm" in options:
            raise TypeError("the released estimator normalises probes per frame; probe_norm is not an option")
        super().__init__(sampler, probe_norm="frame", **options)
