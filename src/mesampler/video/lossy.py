"""Lossy round trips, to measure whether an adversarial clip survives what happens to real videos."""

from __future__ import annotations

import io

import av
import numpy as np

from mesampler.video.io import as_uint8_frames


def h264_roundtrip(frames: np.ndarray, *, crf: int = 23, preset: str = "medium", fps: int = 25) -> np.ndarray:
    """Encode ``(T, H, W, 3)`` frames with H.264 (libx264, yuv420p, ``crf``) in memory and decode them back.

    ``crf=23`` is libx264's default quality. Odd sizes are padded to even by edge replication for
    the 4:2:0 encoder and cropped back. Returns ``(T, H, W, 3) uint8``.
    """
    data = as_uint8_frames(frames)
    t, h, w, _ = data.shape
    padded = np.pad(data, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = padded.shape[2], padded.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        for i, img in enumerate(padded):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf, "r") as src:
        decoded = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    return np.stack(decoded)[:, :h, :w]
