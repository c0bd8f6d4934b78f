"""Video input/output: ``read_video`` (any FFmpeg format, GIF included) and lossless ``write_video``."""

from mesampler.video.io import (
    MAX_PIXELS,
    VideoError,
    as_uint8_frames,
    iter_video_frames,
    read_video,
    video_info,
    write_video,
)
from mesampler.video.lossy import h264_roundtrip
from mesampler.video.transform import resize_crop_frame, resize_crop_frames, short_side_geometry

__all__ = [
    "MAX_PIXELS",
    "VideoError",
    "as_uint8_frames",
    "h264_roundtrip",
    "iter_video_frames",
    "read_video",
    "resize_crop_frame",
    "resize_crop_frames",
    "short_side_geometry",
    "video_info",
    "write_video",
]
