"""Read videos (any container/codec FFmpeg knows, animated GIF included) and write lossless clips.

``read_video`` returns ``(T, H, W, 3) uint8`` RGB; ``write_video`` stores frames bit-exactly as FFV1 (8-bit RGB, bgr0)
in Matroska, so adversarial clips survive a round trip unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from mesampler.video.transform import resize_crop_frame

MAX_PIXELS = 7680 * 4320
"""Largest frame (width × height) accepted: 8K UHD. Larger streams are refused before decoding."""

LOSSLESS_SUFFIXES = (".mkv", ".avi")


class VideoError(ValueError):
    """A video file that cannot be used: missing streams, undecodable, empty, or too large."""


def _check_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"video file not found: {p}")
    if p.is_dir():
        raise VideoError(f"{p}: is a directory, not a video file")
    if p.stat().st_size == 0:
        raise VideoError(f"{p}: empty file")
    return p


def video_info(path: str | os.PathLike) -> dict:
    """``{"width", "height", "fps", "frames", "codec"}`` of the first video stream (frames may be 0 if unknown)."""
    p = _check_file(path)
    try:
        with av.open(str(p)) as container:
            stream = _video_stream(container, p)
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            return {
                "width": stream.codec_context.width,
                "height": stream.codec_context.height,
                "fps": float(rate),
                "frames": int(stream.frames or 0),
                "codec": stream.codec_context.name,
            }
    except av.FFmpegError as e:
        raise VideoError(f"{p}: cannot open as a video ({e})") from e


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        kinds = ", ".join(s.type for s in container.streams) or "none"
        raise VideoError(f"{path}: no video stream (streams: {kinds})")
    stream = container.streams.video[0]
    w, h = stream.codec_context.width, stream.codec_context.height
    if w * h > MAX_PIXELS:
        raise VideoError(f"{path}: frame size {w}x{h} exceeds the limit of {MAX_PIXELS} pixels")
    return stream


def iter_video_frames(
    path: str | os.PathLike, *, start: int = 0, frames: int | None = None, threads: int = 0
) -> Iterator[av.VideoFrame]:
    """Decoded ``av.VideoFrame`` objects of frames ``[start, start + frames)`` (all to the end if ``None``).

    ``threads=1`` decodes single-threaded (for benchmarks); ``0`` lets FFmpeg choose.
    Raises ``FileNotFoundError``/``VideoError`` naming the file; yields at least one frame or raises.
    """
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if frames is not None and frames < 1:
        raise ValueError(f"frames must be >= 1 or None, got {frames}")
    p = _check_file(path)
    try:
        container = av.open(str(p))
    except av.FFmpegError as e:
        raise VideoError(f"{p}: cannot open as a video ({e})") from e
    with container:
        stream = _video_stream(container, p)
        stream.thread_count = threads
        stream.thread_type = "AUTO" if threads != 1 else "SLICE"
        index = yielded = 0
        try:
            for frame in container.decode(stream):
                if index >= start:
                    yield frame
                    yielded += 1
                    if frames is not None and yielded >= frames:
                        return
                index += 1
        except av.FFmpegError as e:
            if yielded == 0:
                raise VideoError(f"{p}: corrupt or truncated video ({e})") from e
            raise VideoError(f"{p}: decoding failed after frame {start + yielded} ({e})") from e
        if yielded == 0:
            what = "no frames could be decoded" if index == 0 else f"start={start} but it has only {index} frames"
            raise VideoError(f"{p}: {what}")


def read_video(
    path: str | os.PathLike, frames: int | None = None, start: int = 0, size: int | None = None
) -> np.ndarray:
    """Decode frames ``[start, start + frames)`` of ``path`` -> ``(T, H, W, 3) uint8`` RGB.

    ``frames=None`` reads to the end. ``size=S`` resizes each frame so its short side is ``S`` (area when
    shrinking, bilinear when enlarging) and centre-crops ``S×S`` (crop offset ``(new - S) // 2``).
    Animated GIFs are composited by FFmpeg's GIF decoder.
    """
    out = []
    for frame in iter_video_frames(path, start=start, frames=frames):
        rgb = frame.to_ndarray(format="rgb24")
        out.append(resize_crop_frame(rgb, size) if size is not None else rgb)
    return np.stack(out)


def as_uint8_frames(frames: np.ndarray, *, name: str = "frames") -> np.ndarray:
    """``(T, H, W, 3)`` uint8, or float in [0, 1] (rounded to the nearest level) -> uint8."""
    a = np.asarray(frames)
    if a.ndim != 4 or a.shape[-1] != 3 or a.shape[0] < 1:
        raise ValueError(f"{name} must have shape (T, H, W, 3) with T >= 1, got {a.shape}")
    if a.dtype == np.uint8:
        return a
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise ValueError(f"{name}: float frames must be finite and in [0, 1]")
        return np.rint(a * 255).astype(np.uint8)
    raise TypeError(f"{name} must be uint8 or float in [0, 1], got dtype {a.dtype}")


def write_video(path: str | os.PathLike, frames: np.ndarray, *, fps: float = 25.0) -> Path:
    """Write ``(T, H, W, 3)`` uint8 (or float32 in [0, 1], rounded) losslessly: FFV1 (bgr0) in ``.mkv``/``.avi``.

    Reading the file back with :func:`read_video` returns the same uint8 frames bit for bit.
    """
    p = Path(path)
    if p.suffix.lower() not in LOSSLESS_SUFFIXES:
        raise ValueError(f"{p}: lossless clips are written as FFV1 in {' or '.join(LOSSLESS_SUFFIXES)}")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    data = as_uint8_frames(frames)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(p), "w") as container:
        stream = container.add_stream("ffv1", rate=rate)
        stream.width, stream.height = data.shape[2], data.shape[1]
        stream.pix_fmt = "bgr0"
        for i, img in enumerate(data):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24").reformat(format="bgr0")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return p
