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
import numba
import numpy as np

TraceMode = Literal["accurate", "coviar"]
TRACE_MODES: tuple[str, ...] = ("accurate", "coviar")
CELL = 8  # smallest MPEG-4 Part 2 prediction block (4MV mode); 16×16 macroblocks cover 2×2 cells


def check_mode(mode: str) -> None:
    if mode not in TRACE_MODES:
        raise ValueError(f"unknown trace mode {mode!r}; expected one of {TRACE_MODES}")


@numba.njit(cache=True, nogil=True)
def _block_field(mvs: np.ndarray, rows: int, cols: int, coviar: bool) -> np.ndarray:  # pragma: no cover - compiled
    whole = True  # every vector from a past frame covers a whole 16×16 macroblock
    for i in range(len(mvs)):
        if mvs[i].source < 0 and (mvs[i].w != 16 or mvs[i].h != 16):
            whole = False
            break
    k = 1 if whole else 2
    out = np.zeros((rows * k, cols * k, 2), np.float32)
    for i in range(len(mvs)):
        m = mvs[i]
        if m.source >= 0:
            continue
        cx = (np.int64(m.dst_x) - m.w // 2) // CELL  # block centre -> top-left, in 8-px cells
        cy = (np.int64(m.dst_y) - m.h // 2) // CELL
        if cx < 0 or cy < 0:
            continue
        if coviar:
            vx, vy = np.float32(np.int64(m.src_x) - m.dst_x), np.float32(np.int64(m.src_y) - m.dst_y)
        else:
            scale = max(np.int64(m.motion_scale), 1)
            vx, vy = np.float32(m.motion_x / scale), np.float32(m.motion_y / scale)
        if whole:
            if cy // 2 < rows and cx // 2 < cols:
                out[cy // 2, cx // 2, 0], out[cy // 2, cx // 2, 1] = vx, vy
            continue
        for oy in range(2):
            for ox in range(2):
                if m.w > CELL * ox and m.h > CELL * oy and cy + oy < 2 * rows and cx + ox < 2 * cols:
                    out[cy + oy, cx + ox, 0], out[cy + oy, cx + ox, 1] = vx, vy
    return out


def block_field(mvs: np.ndarray | None, height: int, width: int, *, mode: TraceMode = "accurate") -> np.ndarray:
    """Codec motion vectors -> backward field per block, ``(k·ceil(H/16), k·ceil(W/16), 2) float32``: ``k = 1``
    (16-px macroblocks) when every vector covers a whole macroblock (the usual case), else ``k = 2`` (8-px cells).

    Blocks without a vector (intra blocks, the I-frame) get 0: their content is taken as not having moved.
    Only vectors predicting from a past frame (``source < 0``) are used. ``"accurate"``: sub-pixel vectors
    (``motion_x / motion_scale``); ``"coviar"``: ``src - dst`` as FFmpeg exports it (half-pels truncated).
    """
    rows, cols = -(-height // 16), -(-width // 16)
    if mvs is None or not len(mvs):
        return np.zeros((rows, cols, 2), np.float32)
    return _block_field(mvs, rows, cols, mode == "coviar")


def block_size(blocks: np.ndarray, height: int) -> int:
    """Pixels per block of a :func:`block_field` result for frames ``height`` pixels high (16 or :data:`CELL`)."""
    return 16 if blocks.shape[0] == -(-height // 16) else CELL


def expand_blocks(blocks: np.ndarray, height: int, width: int) -> np.ndarray:
    """Per-block field from :func:`block_field` -> per-pixel ``(height, width, 2) float32``."""
    b = block_size(blocks, height)
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
    acc = trace_step(None, fields[0], grid, mode=mode)
    for b in fields[1:]:
        acc = trace_step(acc, b, grid, mode=mode)
    return -acc
