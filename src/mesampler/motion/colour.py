"""Colour-wheel rendering of motion maps: hue = direction, saturation = magnitude (white = no motion)."""

from __future__ import annotations

import numpy as np


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """HSV in [0, 1] (arrays of one shape) -> RGB ``(..., 3) float32`` in [0, 1]."""
    h6 = (h % 1.0) * 6.0
    c = v * s
    x = c * (1 - np.abs(h6 % 2 - 1))
    z = np.zeros_like(c)
    sector = np.floor(h6).astype(np.int64) % 6
    table = [(c, x, z), (x, c, z), (z, c, x), (z, x, c), (x, z, c), (c, z, x)]
    rgb = np.zeros((*h.shape, 3), np.float32)
    for k, (r, g, b) in enumerate(table):
        sel = sector == k
        rgb[sel] = np.stack([r[sel], g[sel], b[sel]], axis=-1)
    return rgb + (v - c)[..., None]


def flow_to_rgb(flow: np.ndarray, *, max_magnitude: float | None = None) -> np.ndarray:
    """``(H, W, 2)`` displacements (px) -> ``(H, W, 3) uint8``. Hue: direction (0° = right = red, image y
    downwards); saturation: magnitude / ``max_magnitude`` (default: the map's largest magnitude), clipped to 1."""
    dx, dy = flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32)
    mag = np.hypot(dx, dy)
    top = float(mag.max()) if max_magnitude is None else float(max_magnitude)
    sat = np.clip(mag / top, 0, 1) if top > 0 else np.zeros_like(mag)
    hue = (np.arctan2(dy, dx) / (2 * np.pi)) % 1.0
    rgb = hsv_to_rgb(hue, sat, np.ones_like(mag))
    return np.rint(rgb * 255).astype(np.uint8)
