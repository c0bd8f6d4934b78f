"""Dense per-pixel motion fields from codec motion vectors, and their accumulation back to the I-frame.

Conventions: a *backward field* ``b`` ``(H, W, 2) float32`` holds, per pixel of the current frame, where its content
was in the previous (reference) frame minus where it is now, ``(src - dst)`` in pixels (channel 0 x, channel 1 y).
Accumulating over the P-frames of a GOP gives ``B`` = (position traced back in the I-frame) − (position now); the
motion map of the paper is ``-B``: the forward displacement of the content (object moving right → dx > 0).

Two tracing modes (CoViAR, Wu et al. CVPR 2018, traces pixels back frame by frame):

- ``"coviar"``: integer vectors (``src_x - dst_x`` as FFmpeg exports them, half-pels truncated towards zero),
  nearest-pixel lookups, traced positions clipped to the frame.
- ``"accurate"`` (default): sub-pixel vectors (``motion_x / motion_scale``), bilinear lookups of the accumulated
  displacement; beyond the border the displacement is extended as constant, so content entering the frame keeps
  its full displacement instead of being clipped.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

TraceMode = Literal["accurate", "coviar"]
TRACE_MODES: tuple[str, ...] = ("accurate", "coviar")
CELL = 8  # smallest MPEG-4 Part 2 prediction block (4MV mode); 16×16 macroblocks cover 2×2 cells


def check_mode(mode: str) -> None:
    if mode not in TRACE_MODES:
        raise ValueError(f"unknown trace mode {mode!r}; expected one of {TRACE_MODES}")


def dense_field(mvs: np.ndarray | None, height: int, width: int, *, mode: TraceMode = "accurate") -> np.ndarray:
    """Codec motion vectors (FFmpeg ``AVMotionVector`` records) -> backward field ``(height, width, 2) float32``.

    Blocks without a vector (intra blocks, the I-frame) get 0: their content is taken as not having moved.
    Only vectors predicting from a past frame (``source < 0``) are used.
    """
    gh, gw = -(-height // 16) * 2, -(-width // 16) * 2
    cells = np.zeros((gh, gw, 2), np.float32)
    if mvs is not None and len(mvs):
        mvs = mvs[mvs["source"] < 0]
        if mode == "coviar":
            vx = (mvs["src_x"].astype(np.float32) - mvs["dst_x"]).astype(np.float32)
            vy = (mvs["src_y"].astype(np.float32) - mvs["dst_y"]).astype(np.float32)
        else:
            scale = np.maximum(mvs["motion_scale"], 1).astype(np.float32)
            vx, vy = mvs["motion_x"] / scale, mvs["motion_y"] / scale
        bw, bh = mvs["w"].astype(np.int64), mvs["h"].astype(np.int64)
        cx = (mvs["dst_x"].astype(np.int64) - bw // 2) // CELL
        cy = (mvs["dst_y"].astype(np.int64) - bh // 2) // CELL
        vec = np.stack([vx, vy], axis=-1)
        if (bw == 16).all() and (bh == 16).all():  # the usual case: whole macroblocks only
            mb = np.zeros((gh // 2, gw // 2, 2), np.float32)
            ok = (cy >= 0) & (cx >= 0) & (cy // 2 < mb.shape[0]) & (cx // 2 < mb.shape[1])
            mb[cy[ok] // 2, cx[ok] // 2] = vec[ok]
            dense = cv2.resize(mb, (mb.shape[1] * 16, mb.shape[0] * 16), interpolation=cv2.INTER_NEAREST)
            return np.ascontiguousarray(dense[:height, :width])
        for oy in range(2):
            for ox in range(2):
                sel = (bw > CELL * ox) & (bh > CELL * oy) & (cy + oy < gh) & (cx + ox < gw) & (cy >= 0) & (cx >= 0)
                cells[cy[sel] + oy, cx[sel] + ox] = vec[sel]
    dense = cv2.resize(cells, (gw * CELL, gh * CELL), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(dense[:height, :width])


def pixel_grid(height: int, width: int) -> np.ndarray:
    """Pixel coordinates ``(height, width, 2) float32``: ``[..., 0]`` = x, ``[..., 1]`` = y."""
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return np.stack([gx, gy], axis=-1)


def trace_step(acc: np.ndarray, b: np.ndarray, grid: np.ndarray, *, mode: TraceMode = "accurate") -> np.ndarray:
    """One P-frame: accumulated backward displacement ``acc`` of the previous frame + its field ``b`` -> new ``acc``.

    ``acc, b, grid``: ``(H, W, 2) float32``; returns ``(H, W, 2) float32`` (I-frame position − current position).
    """
    where = grid + b
    if mode == "coviar":
        pos = cv2.remap(grid + acc, where, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
        np.clip(pos, 0, [grid.shape[1] - 1, grid.shape[0] - 1], out=pos)
        return pos - grid
    prev = cv2.remap(acc, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return prev + b


def accumulate(fields: list[np.ndarray], *, mode: TraceMode = "accurate") -> np.ndarray:
    """Backward fields of consecutive P-frames (first after the I-frame first) -> motion map ``(H, W, 2) float32``.

    The map is the forward displacement (position now − position traced back in the I-frame) at the last frame.
    """
    check_mode(mode)
    h, w = fields[0].shape[:2]
    grid = pixel_grid(h, w)
    acc = np.zeros((h, w, 2), np.float32)
    for b in fields:
        acc = trace_step(acc, b, grid, mode=mode)
    return -acc
