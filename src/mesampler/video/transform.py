"""The spatial transform of ``read_video(..., size=S)``: short side to ``S``, centre crop ``S×S``.

Pure functions on numpy arrays; the geometry matches ``mesampler.models.base.resize_short_side_crop``.
"""

from __future__ import annotations

import cv2
import numpy as np


def short_side_geometry(height: int, width: int, size: int) -> tuple[int, int, int, int]:
    """Resized ``(new_h, new_w)`` with short side ``size`` and the crop offsets ``(top, left)``."""
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    scale = size / min(height, width)
    nh, nw = max(size, round(height * scale)), max(size, round(width * scale))
    return nh, nw, (nh - size) // 2, (nw - size) // 2


def resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize ``(H, W, C)`` to ``(height, width, C)``: area averaging when shrinking, bilinear otherwise."""
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    interp = cv2.INTER_AREA if height <= h and width <= w else cv2.INTER_LINEAR
    out = cv2.resize(image, (width, height), interpolation=interp)
    return out.reshape(height, width, *image.shape[2:])


def resize_crop_frame(image: np.ndarray, size: int) -> np.ndarray:
    """``(H, W, C)`` -> ``(size, size, C)``: short side to ``size``, then centre crop."""
    nh, nw, top, left = short_side_geometry(image.shape[0], image.shape[1], size)
    return resize_image(image, nh, nw)[top : top + size, left : left + size]


def resize_crop_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """``(T, H, W, C)`` -> ``(T, size, size, C)`` (same dtype), frame by frame."""
    out = np.empty((frames.shape[0], size, size, *frames.shape[3:]), dtype=frames.dtype)
    for i, frame in enumerate(frames):
        out[i] = resize_crop_frame(frame, size)
    return out
