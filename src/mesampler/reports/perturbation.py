"""How visible a perturbation is, beyond its norm: temporal flicker and the share of pixels at their frame's mode
(a red-team report needs imperceptible perturbations too, not only few queries)."""

from __future__ import annotations

import numpy as np


def perturbation_stats(delta: np.ndarray) -> tuple[float, float]:
    """``(flicker, mode_share)`` of a perturbation ``delta`` ``(T, H, W, 3)`` on [0, 1] pixels: the mean
    ``|delta_t - delta_{t-1}|`` over frames (0 for one frame), and the share of values equal to their frame's most
    common value, on the 8-bit grid (mean over frames; near 1/2 for a sign perturbation, 1 for a constant one)."""
    d = np.asarray(delta, dtype=np.float32)
    flicker = float(np.abs(np.diff(d, axis=0)).mean()) if len(d) > 1 else 0.0
    shares = []
    for frame in np.round(d * 255).astype(np.int16):
        _, counts = np.unique(frame, return_counts=True)
        shares.append(counts.max() / frame.size)
    return flicker, float(np.mean(shares))
