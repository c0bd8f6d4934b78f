"""The one clip-sampling rule (campaigns, benchmarks, clean accuracy): the centre ``frames`` frames, short
side ``size``, centre crop ``crop`` (default ``size``). ``mesampler.models.i3d.eval_clip`` is this rule with
short side 256 and crop 224. One deterministic clip per video: it depends only on the file and these numbers.

Several clips of one long video are :class:`Window` s: ``count`` slots of ``stride`` frames centred in the
video (slot ``k`` starts ``k * stride`` frames after the first); window ``k``'s clip is the ``frames`` frames
from its slot's start. With ``stride = frames = 16`` and ``count = 4`` these are the four 16-frame quarters of
the centre 64 frames (``benchmarks/bench_i3d_attack.py``'s windows).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from mesampler.video import VideoError, read_video, video_info


@dataclass(frozen=True)
class Clip:
    """A sampled clip: ``video`` ``(T, H, W, 3) uint8``; frames ``[start, start + T)`` of the source."""

    video: np.ndarray
    start: int


@dataclass(frozen=True)
class Window:
    """Window ``index`` (0-based) of ``count`` slots of ``stride`` frames centred in a video."""

    index: int
    count: int
    stride: int

    def __post_init__(self) -> None:
        if self.count < 1 or self.stride < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"invalid window {self.index} of {self.count} (stride {self.stride})")

    def slot_start(self, n_frames: int) -> int:
        """First frame of this window's slot in a video of ``n_frames`` frames."""
        return max(0, (n_frames - self.count * self.stride) // 2) + self.index * self.stride

    def fits(self, n_frames: int) -> bool:
        """Whether the whole slot lies inside a video of ``n_frames`` frames."""
        return self.slot_start(n_frames) + self.stride <= n_frames


def clip_window(n_frames: int, frames: int | None) -> tuple[int, int]:
    """``(start, length)`` of the centre window of ``frames`` frames in a video of ``n_frames`` frames.

    ``start = max(0, (n_frames - frames) // 2)``; shorter videos give all their frames.
    """
    if frames is None or n_frames <= frames:
        return 0, n_frames
    return (n_frames - frames) // 2, frames


def sample_clip(
    path: str | os.PathLike[str],
    *,
    frames: int | None,
    size: int | None,
    crop: int | None = None,
    window: Window | None = None,
) -> Clip:
    """Clip of ``path``: centre ``frames`` frames (all if ``None``), or with ``window`` the ``frames`` frames
    (default ``window.stride``) from that window's slot; resized so the short side is ``size`` and
    centre-cropped ``crop×crop`` (``crop`` defaults to ``size``; native size if both are ``None``) ->
    :class:`Clip` holding ``(T, H, W, 3) uint8``.

    The frame count comes from the container; when it is unknown (0) the whole video is decoded. A window
    whose clip runs past the video's end raises ``ValueError``.
    """
    clip = _centre_frames(path, frames, size) if window is None else _window_frames(path, frames, size, window)
    if crop is None or crop == size:
        return clip
    h, w = clip.video.shape[1:3]
    if crop > min(h, w):
        raise ValueError(f"{path}: crop {crop} exceeds the resized frame {w}x{h}")
    top, left = (h - crop) // 2, (w - crop) // 2
    return Clip(clip.video[:, top : top + crop, left : left + crop], clip.start)


def frame_count(path: str | os.PathLike[str]) -> int:
    """Frames of the video at ``path``: the container's count, else (0 or unreadable) decoded and counted."""
    n = int(video_info(path)["frames"])
    return n if n > 0 else len(read_video(path, size=32))


def _window_frames(path: str | os.PathLike[str], frames: int | None, size: int | None, window: Window) -> Clip:
    length = window.stride if frames is None else frames
    n = frame_count(path)
    start = window.slot_start(n)
    if start + length > n:
        raise ValueError(
            f"{path}: window {window.index} of {window.count} (stride {window.stride}) needs frames "
            f"[{start}, {start + length}) but the video has {n}"
        )
    video = read_video(path, frames=length, start=start, size=size)
    if len(video) != length:
        video = read_video(path, size=size)[start : start + length]
    if len(video) != length:
        raise ValueError(f"{path}: could read only {len(video)} of frames [{start}, {start + length})")
    return Clip(video, start)


def _centre_frames(path: str | os.PathLike[str], frames: int | None, size: int | None) -> Clip:
    if frames is not None and frames < 1:
        raise ValueError(f"frames must be >= 1 or None, got {frames}")
    n = int(video_info(path)["frames"])
    if n > 0:
        start, length = clip_window(n, frames)
        try:
            video = read_video(path, frames=length, start=start, size=size)
        except VideoError:  # fewer frames than the header says
            video = None
        if video is not None and len(video) == length:
            return Clip(video, start)
    video = read_video(path, size=size)  # frame count unknown or wrong in the header
    start, length = clip_window(len(video), frames)
    return Clip(video[start : start + length], start)
