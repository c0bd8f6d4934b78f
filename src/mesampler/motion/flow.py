"""TV-L1 optical flow maps (Zach, Pock, Bischof 2007; OpenCV's Dual TV-L1 in ``cv2.optflow``), per GOP.

A GOP's map is the same quantity as the accumulated motion vector: at each pixel of the GOP's last frame, its
position now minus its position in the GOP's first frame. Two ways to get it:

- ``"direct"`` (default): one TV-L1 flow from the last frame to the first; ``map = -flow``. One pair per GOP,
  no drift from chaining, and TV-L1's coarse-to-fine pyramid (5 levels) handles the ~20 px displacements of a GOP.
- ``"chain"``: TV-L1 between consecutive frames (frame t to t−1), traced back to the first frame with the
  sub-pixel tracing of the motion vectors (:func:`mesampler.motion.accumulate.accumulate`); ``gop − 1`` pairs.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from mesampler.motion.accumulate import accumulate

FlowMode = Literal["direct", "chain"]
FLOW_MODES: tuple[str, ...] = ("direct", "chain")


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def tvl1() -> cv2.optflow.DualTVL1OpticalFlow:
    """OpenCV's Dual TV-L1 with its default parameters (tau 0.25, lambda 0.15, theta 0.3, 5 scales, 5 warps)."""
    return cv2.optflow.DualTVL1OpticalFlow.create()


def tvl1_flow(src: np.ndarray, dst: np.ndarray, *, solver: cv2.optflow.DualTVL1OpticalFlow | None = None) -> np.ndarray:
    """Flow ``(H, W, 2) float32`` in pixels with ``src(x) ≈ dst(x + flow(x))``; frames ``(H, W, 3) uint8`` RGB."""
    solver = solver or tvl1()
    return solver.calc(_gray(src), _gray(dst), None)  # type: ignore[call-overload]  # stubs: flow may be None


def flow_map(frames: np.ndarray, *, mode: FlowMode = "direct") -> np.ndarray:
    """One interval ``(L, H, W, 3) uint8`` (L >= 2) -> motion map ``(H, W, 2) float32`` at its last frame."""
    if mode not in FLOW_MODES:
        raise ValueError(f"unknown flow mode {mode!r}; expected one of {FLOW_MODES}")
    if len(frames) < 2:
        raise ValueError(f"a flow map needs at least 2 frames, got {len(frames)}")
    solver = tvl1()
    if mode == "direct":
        return -tvl1_flow(frames[-1], frames[0], solver=solver)
    fields = [tvl1_flow(frames[t], frames[t - 1], solver=solver) for t in range(1, len(frames))]
    return accumulate(fields, mode="accurate")
