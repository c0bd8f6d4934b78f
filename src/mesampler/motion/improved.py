"""Improved motion maps (the paper's appendix C, left as future work there): intervals chosen from the video.

Fixed GOPs cut motion at arbitrary points: a GOP that starts while nothing moves yields a faint map, and one that
spans a back-and-forth movement cancels itself out. Here each interval's start and length follow the video's own
trajectory, from the frame-to-frame fields ``b_t`` (frame t back to t−1):

1. **Start** at the first frame (at or after the previous interval's end) where motion begins: the mean
   next transition moves (at least :data:`ACTIVE_FRACTION` of pixels by >= :data:`STATIC_PX`); static stretches
   are skipped.
2. **Length**: grow the accumulated map frame by frame up to ``max_len`` (2·gop) frames, scoring each ``L >=
   min_len`` (gop) by its coverage (fraction of pixels moving >= 1 px); take the *shortest* ``L`` whose coverage is
   within :data:`NEAR_BEST` of the best. Slow or intermittent motion gets longer intervals (more complete maps);
   where a GOP already captures it, the interval stays one GOP long, only moved to where motion starts.

If no transition moves at all, the fixed GOPs are returned, so every video yields maps.
"""

from __future__ import annotations

import numpy as np

from mesampler.motion.accumulate import pixel_grid, trace_step
from mesampler.motion.metrics import MOVING_PX

STATIC_PX = 0.25  # |b_t| (px) below which a pixel counts as static in one transition
ACTIVE_FRACTION = 0.005  # a transition moves if at least this fraction of its pixels do
NEAR_BEST = 0.95  # accept the shortest length reaching this fraction of the best coverage


def fixed_intervals(n_frames: int, gop: int) -> list[tuple[int, int]]:
    """``(start, length)`` of the complete GOPs of ``n_frames`` frames."""
    return [(i * gop, gop) for i in range(n_frames // gop)]


def choose_intervals(
    fields: list[np.ndarray], *, gop: int = 12, min_len: int | None = None, max_len: int | None = None
) -> list[tuple[int, int]]:
    """Frame-to-frame backward fields (``fields[t-1]`` maps frame t to t−1; ``(H, W, 2) float32``) ->
    ``(start, length)`` intervals (length in frames, the interval's map is at frame ``start + length − 1``)."""
    n_frames = len(fields) + 1
    min_len = min_len or gop
    max_len = max_len or 2 * gop
    active = np.array([float((np.abs(b).max(-1) >= STATIC_PX).mean()) >= ACTIVE_FRACTION for b in fields])
    if not active.any():
        return fixed_intervals(n_frames, gop)
    grid = pixel_grid(*fields[0].shape[:2])
    out: list[tuple[int, int]] = []
    s = 0
    while s + min_len <= n_frames:
        while s + min_len <= n_frames and not active[s]:
            s += 1
        if s + min_len > n_frames:
            break
        acc = np.zeros_like(fields[0])
        scores = []
        for t in range(s + 1, min(s + max_len, n_frames)):
            acc = trace_step(acc, fields[t - 1], grid)
            if t - s + 1 >= min_len:
                scores.append(float((np.linalg.norm(acc, axis=-1) >= MOVING_PX).mean()))
        best = max(scores)
        length = min_len + next(i for i, c in enumerate(scores) if c >= NEAR_BEST * best)
        out.append((s, length))
        s += length
    return out or fixed_intervals(n_frames, gop)
