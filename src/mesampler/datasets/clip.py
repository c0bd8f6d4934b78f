"""The clip-sampling rule of campaigns: the centre ``frames`` frames, short side ``size``, centre crop.

This is the rule of the project's clean-accuracy evaluation (``mesampler.models.i3d.eval_clip``): one
deterministic clip per video, so a clip depends only on the file and the model's input spec.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mesampler.video import VideoError, read_video, video_info

if TYPE_CHECKING:
    from mesampler.datasets.base import Clip


def clip_window(n_frames: int, frames: int | None) -> tuple[int, int]:
    """``(start, length)`` of the centre window of ``frames`` frames in a video of ``n_frames`` frames.

    ``start = max(0, (n_frames - frames) // 2)``; shorter videos give all their frames.
    """
    if frames is None or n_frames <= frames:
        return 0, n_frames
    return (n_frames - frames) // 2, frames


def sample_clip(path: str | os.PathLike, *, frames: int | None, size: int | None) -> Clip:
    """Clip of ``path``: centre ``frames`` frames (all if ``None``), resized so the short side is ``size`` and
    centre-cropped ``size×size`` (native size if ``None``) -> :class:`~mesampler.datasets.base.Clip`
    holding ``(T, H, W, 3) uint8``.

    The frame count comes from the container; when it is unknown (0) the whole video is decoded.
    """
    from mesampler.datasets.base import Clip

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
