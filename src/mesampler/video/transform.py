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


def to_float(frames: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 -> float32 in [0, 1] (the one uint8 -> [0, 1] rule)."""
    return frames.astype(np.float32) / 255.0


def quantise_in_ball(adv: np.ndarray, clean: np.ndarray, eps: float) -> np.ndarray:
    """Round ``adv`` float32 in [0, 1] to 8 bits without leaving the l-inf ``eps`` ball around ``clean``.

    ``clean`` is uint8 (or float on the 8-bit grid). Plain rounding can move a pixel up to 0.5/255 past
    ``eps`` (8/255 = 0.0314 > 0.03); such pixels take the level one step toward the clean pixel, which is
    inside the ball because the clean pixel is. Returns ``(T, H, W, 3)`` uint8.
    """
    ref = np.rint(clean.astype(np.float32) * (255.0 if clean.dtype != np.uint8 else 1.0)).astype(np.int16)
    q = np.rint(np.asarray(adv, np.float32) * 255).astype(np.int16)
    over = np.abs(q - ref) / 255.0 > eps + 1e-7
    q = np.where(over, q - np.sign(q - ref), q)
    return np.clip(q, 0, 255).astype(np.uint8)
