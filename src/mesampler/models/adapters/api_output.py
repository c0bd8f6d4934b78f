"""What a deployed classification API returns: softmax probabilities, rounded, only the top k.

``APIOutput(model, top_k=5, decimals=4)`` turns any model into that view of itself (``probabilities=False,
step=1.0``: its logits on a coarse grid, as a quantised output layer gives them), so that attacks can be
measured against what a red team really gets. Classes outside the top k are *unknown* and come back as NaN;
the query oracle fills them in below every known score (see :mod:`mesampler.attacks.oracle`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mesampler.models.protocol import Model


class APIOutput:
    """Wrap ``model`` so it answers like an API.

    Args:
        model: any black-box model (its logits or probabilities).
        top_k: keep only the ``top_k`` highest scores per video (the rest: NaN, unknown); ``None``: all.
        decimals: round the returned values to this many decimals; ``None``: no rounding.
        step: round the returned values to multiples of ``step`` (> 0), e.g. logits on the coarse grid of an
            int8 output layer (with ``probabilities=False``); ``None``: no grid.
        probabilities: return softmax probabilities (the input's logits are converted; probabilities that
            already sum to 1 are kept); ``False``: return the model's scores as they are.
    """

    output_kind = "probs"

    def __init__(
        self,
        model: Model,
        *,
        top_k: int | None = None,
        decimals: int | None = None,
        probabilities: bool = True,
        step: float | None = None,
    ) -> None:
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be an int >= 1 or None, got {top_k!r}")
        if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0):
            raise ValueError(f"decimals must be an int >= 0 or None, got {decimals!r}")
        if step is not None and not (isinstance(step, (int, float)) and np.isfinite(step) and step > 0):
            raise ValueError(f"step must be a finite number > 0 or None, got {step!r}")
        self.model, self.top_k, self.decimals, self.probabilities = model, top_k, decimals, probabilities
        self.step = None if step is None else float(step)
        if not probabilities:
            self.output_kind = "logits"
        for name in ("spec", "classes", "num_classes"):
            if hasattr(model, name):
                setattr(self, name, getattr(model, name))

    def __call__(self, videos: Any) -> np.ndarray:
        """``(N, T, H, W, 3)`` float32 in [0, 1] (numpy) -> ``(N, K)`` float64, NaN outside the top k."""
        raw = self.model(videos)
        s = raw.detach().cpu().numpy() if isinstance(raw, torch.Tensor) else np.asarray(raw)
        s = s.astype(np.float64)
        if self.probabilities and not _is_probability(s):
            z = np.exp(s - s.max(1, keepdims=True))
            s = z / z.sum(1, keepdims=True)
        if self.decimals is not None:
            s = np.round(s, self.decimals)
        if self.step is not None:
            s = np.round(s / self.step) * self.step
        if self.top_k is not None and self.top_k < s.shape[1]:
            order = np.argsort(-s, axis=1, kind="stable")
            hidden = order[:, self.top_k :]
            np.put_along_axis(s, hidden, np.nan, axis=1)
        return s


def _is_probability(s: np.ndarray) -> bool:
    return bool((s >= 0).all() and (s <= 1).all() and np.allclose(s.sum(1), 1, atol=1e-3))
