"""Tiny synthetic test videos with known motion, written with PyAV (or Pillow for GIF). Importable by any test.

API (everything keyword-only except paths/arrays):

- ``moving_square(frames=12, height=96, width=128, speed=(2.0, 0.0), size=48, seed=0) -> Clip``: a smoothly
  textured square translating at ``speed`` = (vx, vy) pixels/frame (sub-pixel allowed) over a static textured
  background. ``Clip.frames`` ``(T, H, W, 3) uint8``; ``Clip.box(t)`` the square's top-left ``(x, y)`` at frame t.
- ``Clip.truth_map(t0, t1)``: ``(H, W, 2) float32`` ground truth at frame t1 for a GOP starting at t0
  (``speed × (t1 − t0)`` on the square, 0 elsewhere); ``Clip.interior(t, margin)``, ``Clip.far_background(t0, t1,
  margin)``: boolean ``(H, W)`` masks for scoring.
- ``write_clip(path, frames, codec="h264", fps=25, bframes=0) -> Path``: codecs ``h264`` (libx264, .mp4/.mkv),
  ``mpeg4`` (.avi/.mp4), ``ffv1`` (.mkv), ``gif`` (Pillow).
- ``write_audio_only(path, seconds=0.5) -> Path``: a file with one audio stream and no video.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image


def texture(height: int, width: int, *, seed: int, sigma: float = 1.5) -> np.ndarray:
    """Smooth random RGB texture ``(height, width, 3) float32`` in [0, 255] (blurred noise: trackable, no aliasing)."""
    noise = np.random.default_rng(seed).uniform(0, 255, (height, width, 3)).astype(np.float32)
    tex = cv2.GaussianBlur(noise, (0, 0), sigma)
    tex = (tex - tex.mean()) / (tex.std() + 1e-6) * 60 + 128
    return np.clip(tex, 0, 255)


@dataclass
class Clip:
    frames: np.ndarray
    speed: tuple[float, float]
    origin: tuple[float, float]
    size: int

    def box(self, t: int) -> tuple[float, float]:
        return self.origin[0] + self.speed[0] * t, self.origin[1] + self.speed[1] * t

    def _square(self, t: int, margin: float) -> np.ndarray:
        h, w = self.frames.shape[1:3]
        x0, y0 = self.box(t)
        ys, xs = np.mgrid[0:h, 0:w]
        return (
            (xs >= x0 + margin)
            & (xs <= x0 + self.size - 1 - margin)
            & (ys >= y0 + margin)
            & (ys <= y0 + self.size - 1 - margin)
        )

    def interior(self, t: int, margin: float = 16) -> np.ndarray:
        """Pixels at least ``margin`` inside the square at frame ``t``."""
        return self._square(t, margin)

    def far_background(self, t0: int, t1: int, margin: float = 16) -> np.ndarray:
        """Pixels at least ``margin`` away from the square at every frame of ``[t0, t1]``."""
        near = np.zeros(self.frames.shape[1:3], bool)
        for t in range(t0, t1 + 1):
            near |= self._square(t, -margin)
        return ~near

    def truth_map(self, t0: int, t1: int) -> np.ndarray:
        out = np.zeros((*self.frames.shape[1:3], 2), np.float32)
        out[self._square(t1, 0)] = np.array(self.speed, np.float32) * (t1 - t0)
        return out


def moving_square(
    *,
    frames: int = 12,
    height: int = 96,
    width: int = 128,
    speed: tuple[float, float] = (2.0, 0.0),
    size: int = 48,
    origin: tuple[float, float] | None = None,
    seed: int = 0,
) -> Clip:
    """A textured ``size``² square moving at ``speed`` px/frame over a static textured background."""
    if origin is None:
        travel = (speed[0] * (frames - 1), speed[1] * (frames - 1))
        origin = ((width - size - travel[0]) / 2, (height - size - travel[1]) / 2)
    bg = texture(height, width, seed=seed)
    obj = texture(size + 8, size + 8, seed=seed + 1, sigma=2.0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        x0, y0 = origin[0] + speed[0] * t, origin[1] + speed[1] * t
        u, v = xs - x0 + 4, ys - y0 + 4
        sampled = cv2.remap(obj, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = (xs >= x0) & (xs <= x0 + size - 1) & (ys >= y0) & (ys <= y0 + size - 1)
        out[t] = np.rint(np.where(inside[..., None], sampled, bg)).astype(np.uint8)
    return Clip(out, speed, origin, size)


def write_clip(path: str | Path, frames: np.ndarray, *, codec: str = "h264", fps: int = 25, bframes: int = 0) -> Path:
    """Write ``(T, H, W, 3) uint8`` with ``codec`` (``h264``, ``mpeg4``, ``ffv1``, ``gif``); returns the path."""
    path = Path(path)
    if codec == "gif":
        images = [Image.fromarray(f) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
        return path
    name = {"h264": "libx264"}.get(codec, codec)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(name, rate=Fraction(fps))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "bgr0" if codec == "ffv1" else "yuv420p"
        if codec == "h264":
            stream.codec_context.max_b_frames = bframes
            stream.options = {"crf": "12", "bf": str(bframes), "preset": "ultrafast" if bframes == 0 else "fast"}
        elif codec == "mpeg4":
            stream.codec_context.qscale = 2
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_audio_only(path: str | Path, seconds: float = 0.5) -> Path:
    """A container with a single audio stream (a sine tone) and no video."""
    path = Path(path)
    rate = 8000
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le" if path.suffix == ".wav" else "aac", rate=rate)
        n = int(seconds * rate)
        tone = (np.sin(np.arange(n) * 2 * np.pi * 440 / rate) * 10000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(tone[None], format="s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
