"""Public entry points: the map set M of the paper's section 3.2 for a video file or frames, cached on disk.

Conventions (fixed project-wide): a map is ``(H, W, 2) float32`` in pixels at the last frame of its interval,
``(dx, dy)`` = position now − position traced back to the interval's first (I-)frame; dx +right, dy +down;
0 where nothing moves. One map per complete GOP of ``gop`` frames starting at frame 0.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

from mesampler.motion import cache as _cache
from mesampler.motion import mv
from mesampler.motion.accumulate import (
    TraceMode,
    accumulate,
    block_field,
    check_mode,
    dense_field,
    pixel_grid,
    trace_step,
)
from mesampler.motion.flow import FLOW_MODES, FlowMode, flow_map, tvl1, tvl1_flow
from mesampler.motion.improved import choose_intervals
from mesampler.motion.mv import ALL_P, coded_frames
from mesampler.motion.resample import maps_to_shape, resize_crop_maps
from mesampler.motion.trace_gop import trace_gop
from mesampler.video.io import VideoError, as_uint8_frames, iter_video_frames, read_video
from mesampler.video.transform import resize_crop_frames

Kind = Literal["mv", "flow"]
KINDS: tuple[str, ...] = typing.get_args(Kind)
GOP = 12  # the paper's interval length T (one I-frame, 11 P-frames), as in CoViAR
DEFAULT_TRACE: TraceMode = "accurate"
Source = str | os.PathLike | np.ndarray


def _traced(acc: np.ndarray | None) -> np.ndarray:
    """The motion map ``-acc`` of a GOP traced frame by frame (``acc`` is set from its first P-frame on)."""
    if acc is None:  # pragma: no cover - a map is taken only at a GOP's P-frames
        raise RuntimeError("no P-frame was traced in this GOP")
    return -acc


def _mv_fixed(
    frames: Iterable, gop: int, mode: TraceMode, partial: bool, threads: int
) -> tuple[list[np.ndarray], list[tuple[int, int]], int, tuple[int, int]]:
    """Fixed GOPs: ``"accurate"`` buffers each GOP's block fields and traces them compiled at its last frame."""
    maps: list[np.ndarray] = []
    intervals: list[tuple[int, int]] = []
    n, shape = 0, (0, 0)
    acc: np.ndarray | None = None
    grid: np.ndarray | None = None
    fields: list[np.ndarray] = []
    for cf, h, w in coded_frames(frames, gop=gop, threads=threads):
        n += 1
        shape = (h, w)
        if cf.index % gop == 0:
            acc, fields = None, []
        elif mode == "accurate":
            fields.append(block_field(cf.mvs, h, w, mode=mode))
        else:
            grid = pixel_grid(h, w) if grid is None else grid
            acc = trace_step(acc, dense_field(cf.mvs, h, w, mode=mode), grid, mode=mode)
        if cf.index % gop == gop - 1:
            maps.append(trace_gop(fields, h, w) if mode == "accurate" else _traced(acc))
            intervals.append((cf.index - gop + 1, gop))
    if partial and n % gop >= 2:
        maps.append(trace_gop(fields, *shape) if mode == "accurate" else _traced(acc))
        intervals.append((n - n % gop, n % gop))
    return maps, intervals, n, shape


def _mv_transitions(frames: Iterable, mode: TraceMode, threads: int) -> list[np.ndarray]:
    return [
        dense_field(cf.mvs, h, w, mode=mode)
        for cf, h, w in coded_frames(frames, gop=ALL_P, threads=threads)
        if cf.index > 0
    ]


def _compute(
    source: Source,
    *,
    kind: str,
    gop: int,
    improved: bool,
    mode: TraceMode,
    flow_mode: FlowMode,
    partial: bool,
    frames: int | None,
    size: int | None,
    threads: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """-> ``maps (N, h, w, 2) float32``, ``intervals (N, 2) int64`` (start, length), number of frames read."""
    path = None if isinstance(source, np.ndarray) else source
    name = str(path) if path is not None else "frames"
    array = as_uint8_frames(source) if isinstance(source, np.ndarray) else None
    if array is not None and frames is not None:
        array = array[:frames]
    if kind == "flow":
        if path is not None:
            array = read_video(path, frames=frames, size=size)
        elif array is not None and size is not None:
            array = resize_crop_frames(array, size)
    elif path is not None:
        try:
            array_iter = iter_video_frames(path, frames=frames, threads=threads)
        except av.FFmpegError as e:  # pragma: no cover - iter_video_frames wraps these
            raise VideoError(f"{name}: {e}") from e
    src = array if array is not None else array_iter

    if kind == "mv" and not improved:
        maps, intervals, n, shape = _mv_fixed(src, gop, mode, partial, threads)
    else:
        if kind == "mv":
            fields = _mv_transitions(src, mode, threads)
            n = len(fields) + 1
            shape = fields[0].shape[:2] if fields else (0, 0)
        else:
            if array is None:  # pragma: no cover - "flow" always has its frames (read or given) by now
                raise RuntimeError("flow maps need the video's frames")
            video = array
            n, shape = len(video), video.shape[1:3]
            fields = None
        if n < 2:
            maps, intervals = [], []
        elif improved:
            if fields is None:
                solver = tvl1()
                fields = [tvl1_flow(video[t], video[t - 1], solver=solver) for t in range(1, n)]
            intervals = choose_intervals(fields, gop=gop)
            trace = mode if kind == "mv" else "accurate"
            maps = [accumulate(fields[s : s + ln - 1], mode=trace) for s, ln in intervals]
        else:
            intervals = [(i * gop, gop) for i in range(n // gop)]
            if partial and n % gop >= 2:
                intervals.append((n - n % gop, n % gop))
            maps = [flow_map(video[s : s + ln], mode=flow_mode) for s, ln in intervals]
    if n < 2:
        raise VideoError(f"{name}: {n} frame(s); motion maps need at least 2 frames")
    out = np.stack(maps).astype(np.float32) if maps else np.zeros((0, *shape, 2), np.float32)
    return out, np.asarray(intervals, np.int64).reshape(-1, 2), n


def _cached(source: Source, *, cache: bool, **params: Any) -> tuple[np.ndarray, np.ndarray, int]:
    if isinstance(source, np.ndarray) or not cache:
        return _compute(source, **params)
    if not Path(source).is_file():
        iter_video_frames(source)  # raises the right error for a missing path or a directory
    key = _cache.cache_key(source, {"qscale": mv.QSCALE, **{k: v for k, v in params.items() if k != "threads"}})
    hit = _cache.load(key)
    if hit is not None:
        return hit["maps"], hit["intervals"], int(hit["n_frames"])
    maps, intervals, n = _compute(source, **params)
    _cache.store(key, {"maps": maps, "intervals": intervals, "n_frames": np.int64(n)})
    return maps, intervals, n


def _check(kind: str, gop: int, size: int | None, mode: str, flow_mode: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown motion kind {kind!r}; expected one of {KINDS}")
    if not isinstance(gop, int) or gop < 2:
        raise ValueError(f"gop must be an integer >= 2, got {gop!r}")
    if size is not None and size < 1:
        raise ValueError(f"size must be >= 1 or None, got {size}")
    check_mode(mode)
    if flow_mode not in FLOW_MODES:
        raise ValueError(f"unknown flow mode {flow_mode!r}; expected one of {FLOW_MODES}")


def motion_maps(
    source: Source,
    kind: Kind = "mv",
    gop: int = GOP,
    size: int | None = None,
    *,
    improved: bool = False,
    mode: TraceMode = DEFAULT_TRACE,
    flow_mode: FlowMode = "chain",
    partial: bool = False,
    frames: int | None = None,
    cache: bool = True,
    threads: int = 1,
    return_intervals: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Motion maps of a video: ``(N, H, W, 2) float32``, pixels, one per complete GOP (N = frames // gop).

    Args:
        source: a video file (any FFmpeg format, GIF included) or frames ``(T, H, W, 3)`` uint8 (float in [0, 1]
            is rounded to uint8).
        kind: ``"mv"`` accumulated MPEG-4 motion vectors (re-encoded, :mod:`mesampler.motion.mv`), or ``"flow"``
            TV-L1 optical flow (:mod:`mesampler.motion.flow`).
        gop: frames per GOP (the paper's T = 12).
        size: ``S`` applies ``read_video(size=S)``'s transform (short side to S, centre crop S×S) with the
            displacements rescaled; "mv" is computed at native resolution and the maps transformed, "flow" is
            computed on the transformed frames (its cost grows with pixels). ``None``: native size.
        improved: intervals chosen from the video's trajectory (:mod:`mesampler.motion.improved`) instead of
            fixed GOPs; N and the intervals then vary (see ``return_intervals``).
        mode: MV tracing, ``"accurate"`` (sub-pixel, bilinear; default) or ``"coviar"`` (integer positions).
        flow_mode: ``"chain"`` (frame-to-frame TV-L1 traced back, default) or ``"direct"`` (last to first frame).
        partial: also return a map for a trailing incomplete GOP of at least 2 frames.
        frames: read at most this many frames from the start.
        cache: for files, reuse maps computed before for the same file content and parameters.
        threads: codec threads for "mv" (1 = single-threaded).
        return_intervals: also return ``(N, 2) int64`` rows ``(start, length)`` of each map's frame interval.

    A video shorter than one GOP yields ``(0, H, W, 2)`` (or, with ``partial=True``, one map over all its
    frames). Fewer than 2 frames raises :class:`~mesampler.video.VideoError`; so do unreadable files.
    """
    _check(kind, gop, size, mode, flow_mode)
    maps, intervals, _ = _cached(
        source,
        cache=cache,
        kind=kind,
        gop=gop,
        improved=improved,
        mode=mode,
        flow_mode=flow_mode,
        partial=partial,
        frames=frames,
        size=size if kind == "flow" else None,
        threads=threads,
    )
    if size is not None and kind == "mv":
        maps = resize_crop_maps(maps, size) if len(maps) else np.zeros((0, size, size, 2), np.float32)
    return (maps, intervals) if return_intervals else maps


def maps_for_clip(
    path: str | os.PathLike,
    *,
    height: int,
    width: int,
    start: int = 0,
    frames: int | None = None,
    kind: Kind = "mv",
    improved: bool = False,
    gop: int = GOP,
) -> np.ndarray:
    """Maps of ``path`` aligned to a clip of frames ``[start, start + frames)`` shown at ``(height, width)``.

    Returns ``(N, height, width, 2) float32``: the maps whose interval overlaps the window. Spatially: as they
    are if ``(height, width)`` is the file's size; the ``read_video(size=S)`` transform if ``height == width``;
    otherwise a plain resize. Displacements are rescaled with the image.

    Fallbacks: a window overlapping no complete GOP gets all the file's maps; a file shorter than one GOP gets
    one map over all its frames (from its first to its last frame). A file with fewer than 2 frames raises
    :class:`~mesampler.video.VideoError`.
    """
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be >= 1, got {height}x{width}")
    if start < 0 or (frames is not None and frames < 1):
        raise ValueError(f"invalid window: start={start}, frames={frames}")
    params = dict(
        kind=kind,
        gop=gop,
        improved=improved,
        mode=DEFAULT_TRACE,
        flow_mode="chain",
        frames=None,
        size=height if kind == "flow" and height == width else None,
        threads=1,
    )
    _check(kind, gop, None, DEFAULT_TRACE, "chain")
    maps, intervals, n = _cached(path, cache=True, partial=False, **params)
    if len(maps) == 0:
        maps, intervals, n = _cached(path, cache=True, partial=True, **params)
    end = n if frames is None else min(n, start + frames)
    sel = [i for i, (s, ln) in enumerate(intervals) if s < end and s + ln > start]
    chosen = maps[sel] if sel else maps
    return maps_to_shape(chosen, height, width)
