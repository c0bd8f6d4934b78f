"""Spatial transforms of motion maps: displacements are resampled *and* rescaled with the image."""

from __future__ import annotations

import numpy as np

from mesampler.video.transform import resize_image, short_side_geometry


def resize_maps(maps: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(N, H, W, 2)`` -> ``(N, height, width, 2) float32``; dx scaled by ``width / W``, dy by ``height / H``."""
    n, h, w, _ = maps.shape
    if (h, w) == (height, width):
        return maps.astype(np.float32, copy=False)
    scale = np.array([width / w, height / h], np.float32)
    out = np.empty((n, height, width, 2), np.float32)
    for i, m in enumerate(maps):
        out[i] = resize_image(np.ascontiguousarray(m, dtype=np.float32), height, width) * scale
    return out


def resize_crop_maps(maps: np.ndarray, size: int) -> np.ndarray:
    """The ``read_video(size=S)`` transform on ``(N, H, W, 2)`` maps -> ``(N, S, S, 2) float32``."""
    nh, nw, top, left = short_side_geometry(maps.shape[1], maps.shape[2], size)
    return np.ascontiguousarray(resize_maps(maps, nh, nw)[:, top : top + size, left : left + size])


def maps_to_shape(maps: np.ndarray, height: int, width: int) -> np.ndarray:
    """Align maps with a clip of ``(height, width)``: as they are if that is their size; the ``size=S`` transform
    if ``height == width``; otherwise a plain resize (aspect ratio not kept), displacements rescaled."""
    if maps.shape[1:3] == (height, width):
        return maps.astype(np.float32, copy=False)
    if height == width:
        return resize_crop_maps(maps, height)
    return resize_maps(maps, height, width)
