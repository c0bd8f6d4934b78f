"""Motion vectors of a video as an MPEG-4 Part 2 encoder sees it: re-encode in memory, decode, export vectors.

Every input (any codec, B-frames or not, GIF, raw frames) is re-encoded with FFmpeg's ``mpeg4`` encoder: fixed
fine quantiser (:data:`QSCALE`, pinned with ``qmin = qmax``), no B-frames, scene-cut detection off and an I-frame
forced every ``gop`` frames, so GOP ``n`` is exactly frames ``[n·gop, (n+1)·gop)``. The packets go straight to a
decoder with ``flags2=+export_mvs``; nothing touches the disk. Odd widths/heights are padded by one replicated
row/column for 4:2:0 and cropped again; widths not a multiple of 16 need nothing (the last macroblock column is cut).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from typing import TYPE_CHECKING

import av
import cv2
import numpy as np

if TYPE_CHECKING:
    from av.video.codeccontext import VideoCodecContext

# Fixed MPEG-4 quantiser, chosen by benchmarks/bench_motion.py ("quantiser": q 1-4 side by side). CoViAR re-encodes
# with -q:v 1, but there q 1 put only 60 % of object pixels within 0.5 px at one synthetic sub-pixel speed (q 2 and
# 3: 100 % at every speed) and costs twice the bits; q 2 and q 3 gave the same MV-vs-TV-L1 correlation on the shared
# clips (0.697 both) and q 3 re-encodes and decodes ~10 % faster, so q 3. (q 4 lost accuracy: 97 % minimum.)
QSCALE = 3
ALL_P = 0  # ``gop`` value meaning: one I-frame at the start, every later frame a P-frame (frame-to-frame vectors)
_LONG_GOP = 1 << 20
_TIME_BASE = Fraction(1, 25)  # frames are renumbered 0, 1, 2, ... whatever their source timing
# Frames are re-encoded and decoded in chunks of about this many pixels (24 frames at 224², at least one frame):
# decoder, encoder and vector decoder take turns instead of alternating every frame, which measured ~10 % faster.
CHUNK_PIXELS = 24 * 224 * 224


@dataclass
class CodedFrame:
    """One re-encoded frame: display ``index``, ``pict_type`` ("I"/"P"), FFmpeg motion vectors (``None`` if none)."""

    index: int
    pict_type: str
    mvs: np.ndarray | None


def _yuv_frame(frame: av.VideoFrame | np.ndarray) -> tuple[av.VideoFrame, int, int]:
    """Any decoded frame or ``(H, W, 3) uint8`` RGB -> even-sized yuv420p ``VideoFrame`` and the true ``(H, W)``."""
    if isinstance(frame, av.VideoFrame):
        h, w = frame.height, frame.width
        if h % 2 == 0 and w % 2 == 0:
            return (frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")), h, w
        frame = frame.to_ndarray(format="rgb24")
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    yuv: np.ndarray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420)
    return av.VideoFrame.from_ndarray(yuv, format="yuv420p"), h, w


def _codecs(width: int, height: int, gop: int, threads: int) -> tuple[VideoCodecContext, VideoCodecContext]:
    enc = av.CodecContext.create("mpeg4", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = _TIME_BASE
    enc.gop_size = gop if gop > 0 else _LONG_GOP
    enc.max_b_frames = 0
    enc.qscale = True  # PyAV: only sets AV_CODEC_FLAG_QSCALE; the value itself must be pinned with qmin/qmax
    enc.global_quality = enc.qmin = enc.qmax = QSCALE
    enc.thread_count = threads
    enc.options = {"sc_threshold": "1000000000"}
    dec = av.CodecContext.create("mpeg4", "r")
    dec.thread_count = threads
    dec.options = {"flags2": "+export_mvs"}
    return enc, dec


def coded_frames(
    frames: Iterable[av.VideoFrame | np.ndarray], *, gop: int = 12, threads: int = 1
) -> Iterator[tuple[CodedFrame, int, int]]:
    """Re-encode ``frames`` (``gop`` frames per GOP, or :data:`ALL_P`) and yield ``(CodedFrame, H, W)`` in order.

    ``frames``: decoded ``av.VideoFrame`` objects or ``(H, W, 3) uint8`` arrays, all the same size.
    """
    enc: VideoCodecContext | None = None
    dec: VideoCodecContext | None = None
    shape: tuple[int, int] | None = None
    index = 0

    def drain(packets: Iterable[av.Packet | None]) -> Iterator[tuple[CodedFrame, int, int]]:
        nonlocal index
        if dec is None or shape is None:  # pragma: no cover - drained only after the first frame opened the codecs
            raise RuntimeError("no frame was encoded yet")
        for packet in packets:
            for out in dec.decode(packet):
                sd = out.side_data.get("MOTION_VECTORS")
                mvs = sd.to_ndarray() if sd is not None else None
                kind = "I" if out.key_frame else "P"
                yield CodedFrame(index, kind, mvs), shape[0], shape[1]
                index += 1

    pending: list[av.Packet] = []
    source = iter(frames)
    i = 0
    size = 1  # the first chunk is one frame: it gives the frame size, hence the chunk length
    while chunk := list(islice(source, size)):  # stages take turns per chunk: each keeps its data in cache
        for frame in chunk:
            vf, h, w = _yuv_frame(frame)
            if enc is None or dec is None or shape is None:  # the first frame (all three are set together)
                shape = (h, w)
                enc, dec = _codecs(vf.width, vf.height, gop, threads)
            elif (h, w) != shape:
                raise ValueError(f"frame {i} has size {w}x{h}, expected {shape[1]}x{shape[0]} like frame 0")
            vf.pts, vf.time_base = i, _TIME_BASE
            vf.pict_type = av.video.frame.PictureType.I if (i == 0 or (gop > 0 and i % gop == 0)) else 0
            pending += enc.encode(vf)
            i += 1
        yield from drain(pending)
        pending = []
        size = max(1, CHUNK_PIXELS // (h * w))  # every frame has frame 0's size (checked above)
    if enc is None:
        return
    yield from drain(enc.encode(None))
    yield from drain([None])
