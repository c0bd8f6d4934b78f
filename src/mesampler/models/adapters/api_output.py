"""What a deployed classification API returns: softmax probabilities, rounded, only the top k.

``APIOutput(model, top_k=5, decimals=4)`` turns any model into that view of itself, so that attacks can be
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
        probabilities: return softmax probabilities (the input's logits are converted; probabilities that
            already sum to 1 are kept); ``False``: return the model's scores as they are.
    """

    output_kind = "probs"

    def __init__(
        self, model: Model, *, top_k: int | None = None, decimals: int | None = None, probabilities: bool = True
    ) -> None:
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be an int >= 1 or None, got {top_k!r}")
        if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0):
            raise ValueError(f"decimals must be an int >= 0 or None, got {decimals!r}")
        self.model, self.top_k, self.decimals, self.probabilities = model, top_k, decimals, probabilities
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
        if self.top_k is not None and self.top_k < s.shape[1]:
            order = np.argsort(-s, axis=1, kind="stable")
            hidden = order[:, self.top_k :]
            np.put_along_axis(s, hidden, np.nan, axis=1)
        return s


def _is_probability(s: np.ndarray) -> bool:
    return bool((s >= 0).all() and (s <= 1).all() and np.allclose(s.sum(1), 1, atol=1e-3))
