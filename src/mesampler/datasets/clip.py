"""The one clip-sampling rule (campaigns, benchmarks, clean accuracy): the centre ``frames`` frames, short
side ``size``, centre crop ``crop`` (default ``size``). ``mesampler.models.i3d.eval_clip`` is this rule with
short side 256 and crop 224. One deterministic clip per video: it depends only on the file and these numbers.
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


def clip_window(n_frames: int, frames: int | None) -> tuple[int, int]:
    """``(start, length)`` of the centre window of ``frames`` frames in a video of ``n_frames`` frames.

    ``start = max(0, (n_frames - frames) // 2)``; shorter videos give all their frames.
    """
    if frames is None or n_frames <= frames:
        return 0, n_frames
    return (n_frames - frames) // 2, frames


def sample_clip(path: str | os.PathLike[str], *, frames: int | None, size: int | None, crop: int | None = None) -> Clip:
    """Clip of ``path``: centre ``frames`` frames (all if ``None``), resized so the short side is ``size`` and
    centre-cropped ``crop×crop`` (``crop`` defaults to ``size``; native size if both are ``None``) ->
    :class:`Clip` holding ``(T, H, W, 3) uint8``.

    The frame count comes from the container; when it is unknown (0) the whole video is decoded.
    """
    clip = _centre_frames(path, frames, size)
    if crop is None or crop == size:
        return clip
    h, w = clip.video.shape[1:3]
    if crop > min(h, w):
        raise ValueError(f"{path}: crop {crop} exceeds the resized frame {w}x{h}")
    top, left = (h - crop) // 2, (w - crop) // 2
    return Clip(clip.video[:, top : top + crop, left : left + crop], clip.start)


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
