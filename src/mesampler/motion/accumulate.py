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


def block_field(mvs: np.ndarray | None, height: int, width: int, *, mode: TraceMode = "accurate") -> np.ndarray:
    """Codec motion vectors -> backward field per block, ``(k·ceil(H/16), k·ceil(W/16), 2) float32``: ``k = 1``
    (16-px macroblocks) when every vector covers a whole macroblock (the usual case), else ``k = 2`` (8-px cells).

    Blocks without a vector (intra blocks, the I-frame) get 0: their content is taken as not having moved.
    Only vectors predicting from a past frame (``source < 0``) are used.
    """
    if mvs is not None and len(mvs) and mvs["source"].max() >= 0:
        mvs = mvs[mvs["source"] < 0]
    if mvs is None or not len(mvs):
        return np.zeros((-(-height // 16), -(-width // 16), 2), np.float32)
    bw, bh = mvs["w"], mvs["h"]
    cx = (mvs["dst_x"] - (bw >> 1).astype(np.int16)) // CELL  # block centre -> top-left, in 8-px cells
    cy = (mvs["dst_y"] - (bh >> 1).astype(np.int16)) // CELL
    vec = np.empty((len(mvs), 2), np.float32)
    if mode == "coviar":
        np.subtract(mvs["src_x"], mvs["dst_x"], out=vec[:, 0], casting="unsafe")
        np.subtract(mvs["src_y"], mvs["dst_y"], out=vec[:, 1], casting="unsafe")
    else:
        scale = np.maximum(mvs["motion_scale"], 1)
        np.divide(mvs["motion_x"], scale, out=vec[:, 0], casting="unsafe")
        np.divide(mvs["motion_y"], scale, out=vec[:, 1], casting="unsafe")
    ok = (cx >= 0) & (cy >= 0)
    if bw.min() == 16 and bh.min() == 16:
        out = np.zeros((-(-height // 16), -(-width // 16), 2), np.float32)
        ok &= (cy // 2 < out.shape[0]) & (cx // 2 < out.shape[1])
        out[cy[ok] // 2, cx[ok] // 2] = vec[ok]
        return out
    out = np.zeros((-(-height // 16) * 2, -(-width // 16) * 2, 2), np.float32)
    for oy in range(2):
        for ox in range(2):
            sel = ok & (bw > CELL * ox) & (bh > CELL * oy) & (cy + oy < out.shape[0]) & (cx + ox < out.shape[1])
            out[cy[sel] + oy, cx[sel] + ox] = vec[sel]
    return out


def expand_blocks(blocks: np.ndarray, height: int, width: int) -> np.ndarray:
    """Per-block field from :func:`block_field` -> per-pixel ``(height, width, 2) float32``."""
    b = 16 if blocks.shape[0] == -(-height // 16) else CELL
    dense = blocks.repeat(b, axis=0).repeat(b, axis=1)
    return dense if dense.shape[:2] == (height, width) else np.ascontiguousarray(dense[:height, :width])


def dense_field(mvs: np.ndarray | None, height: int, width: int, *, mode: TraceMode = "accurate") -> np.ndarray:
    """Codec motion vectors (FFmpeg ``AVMotionVector`` records) -> backward field ``(height, width, 2) float32``.

    Blocks without a vector (intra blocks, the I-frame) get 0: their content is taken as not having moved.
    """
    return expand_blocks(block_field(mvs, height, width, mode=mode), height, width)


def pixel_grid(height: int, width: int) -> np.ndarray:
    """Pixel coordinates ``(height, width, 2) float32``: ``[..., 0]`` = x, ``[..., 1]`` = y."""
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return np.stack([gx, gy], axis=-1)


def trace_step(acc: np.ndarray | None, b: np.ndarray, grid: np.ndarray, *, mode: TraceMode = "accurate") -> np.ndarray:
    """One P-frame: accumulated backward displacement ``acc`` of the previous frame + its field ``b`` -> new ``acc``.

    ``acc, b, grid``: ``(H, W, 2) float32`` (``acc=None``: the first P-frame after the I-frame, all zeros);
    returns ``(H, W, 2) float32`` (I-frame position − current position).
    """
    if acc is None:
        if mode != "coviar":
            return b.copy()  # sampling an all-zero field gives zeros whatever the positions
        acc = np.zeros_like(b)
    if not b.any():
        return acc  # nothing moved: every pixel samples its own position
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
    acc = None
    for b in fields:
        acc = trace_step(acc, b, grid, mode=mode)
    return -acc
