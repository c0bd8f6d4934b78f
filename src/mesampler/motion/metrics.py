"""Quality measures of motion maps ``(N, H, W, 2) float32`` (pixels), used to compare map sets."""

from __future__ import annotations

import numpy as np

MOVING_PX = 1.0  # a pixel "moves" if its displacement is at least this many pixels


def coverage(maps: np.ndarray, *, threshold: float = MOVING_PX) -> float:
    """Mean over maps of the fraction of pixels whose displacement magnitude is ``>= threshold`` px."""
    if len(maps) == 0:
        return 0.0
    return float((np.linalg.norm(maps, axis=-1) >= threshold).mean())


def consistency(maps: np.ndarray, *, threshold: float = MOVING_PX, tol: float = 0.5) -> float:
    """How piecewise-constant (clear) the moving regions are: among horizontally or vertically adjacent pixel
    pairs with at least one moving pixel, the fraction whose vectors differ by less than ``tol`` px; in [0, 1]."""
    same = total = 0
    for m in maps:
        moving = np.linalg.norm(m, axis=-1) >= threshold
        for axis in (0, 1):
            diff = np.linalg.norm(np.diff(m, axis=axis), axis=-1)
            pair = moving[1:] | moving[:-1] if axis == 0 else moving[:, 1:] | moving[:, :-1]
            same += int((diff[pair] < tol).sum())
            total += int(pair.sum())
    return same / total if total else 0.0


def map_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two map sets of the same shape, over all pixels and both channels."""
    x, y = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    x, y = x - x.mean(), y - y.mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den > 0 else 0.0
