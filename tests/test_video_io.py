"""read_video / write_video: formats, round trips, the size transform, and clear errors for bad files."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mesampler.models.base import resize_short_side_crop
from mesampler.motion import motion_maps
from mesampler.video import MAX_PIXELS, VideoError, read_video, short_side_geometry, video_info, write_video
from videogen import moving_square, write_audio_only, write_clip


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MESAMPLER_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def clip():
    return moving_square(frames=10, height=48, width=64, speed=(1.0, 0.0)).frames


def test_lossless_round_trip_uint8(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (6, 33, 47, 3), dtype=np.uint8)
    path = write_video(tmp_path / "adv.mkv", frames, fps=30)
    np.testing.assert_array_equal(read_video(path), frames)
    assert video_info(path)["fps"] == pytest.approx(30)


def test_lossless_round_trip_float(tmp_path):
    frames = np.random.default_rng(1).random((4, 20, 30, 3), dtype=np.float32)
    out = read_video(write_video(tmp_path / "adv.avi", frames))
    np.testing.assert_array_equal(out, np.rint(frames * 255).astype(np.uint8))


def test_write_errors(tmp_path, clip):
    with pytest.raises(ValueError, match="FFV1"):
        write_video(tmp_path / "x.mp4", clip)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        write_video(tmp_path / "x.mkv", clip.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        write_video(tmp_path / "x.mkv", clip[..., 0])
    with pytest.raises(TypeError, match="dtype"):
        write_video(tmp_path / "x.mkv", clip.astype(np.int32))


@pytest.mark.parametrize("codec,suffix,bframes", [("h264", ".mp4", 2), ("mpeg4", ".avi", 0), ("gif", ".gif", 0)])
def test_formats_read(tmp_path, clip, codec, suffix, bframes):
    path = write_clip(tmp_path / f"c{suffix}", clip, codec=codec, bframes=bframes)
    video = read_video(path)
    assert video.shape == clip.shape and video.dtype == np.uint8
    assert np.abs(video.astype(int) - clip).mean() < 12  # lossy codecs (GIF: 256-colour palette)


def test_start_and_frames(tmp_path, clip):
    path = write_video(tmp_path / "c.mkv", clip)
    np.testing.assert_array_equal(read_video(path, frames=3, start=4), clip[4:7])
    np.testing.assert_array_equal(read_video(path, start=7), clip[7:])
    with pytest.raises(VideoError, match="only 10 frames"):
        read_video(path, start=10)
    with pytest.raises(ValueError, match="start"):
        read_video(path, start=-1)


def test_size_matches_model_transform(tmp_path):
    """Upscaling is bilinear in both, so read_video(size=S) equals models.base.resize_short_side_crop."""
    frames = moving_square(frames=2, height=30, width=50, size=12).frames
    path = write_video(tmp_path / "c.mkv", frames)
    ours = read_video(path, size=64).astype(np.float32)
    ref = resize_short_side_crop(torch.from_numpy(frames[None].astype(np.float32)), 64)[0].numpy()
    assert ours.shape == (2, 64, 64, 3)
    assert np.abs(ours - ref).max() <= 1.5


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 4000), st.integers(1, 4000), st.integers(1, 512))
def test_geometry(h, w, s):
    nh, nw, top, left = short_side_geometry(h, w, s)
    assert min(nh, nw) == s and nh >= s and nw >= s
    assert top == (nh - s) // 2 and left == (nw - s) // 2


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        read_video(tmp_path / "nope.mp4")
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        motion_maps(tmp_path / "nope.mp4")


def test_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty.mp4: empty file"):
        read_video(tmp_path / "empty.mp4")


def test_corrupt_and_truncated(tmp_path, clip):
    (tmp_path / "junk.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(VideoError, match="junk.mp4"):
        read_video(tmp_path / "junk.mp4")
    data = write_clip(tmp_path / "full.mp4", clip).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.mp4"):
        motion_maps(tmp_path / "cut.mp4")


def test_no_video_stream(tmp_path):
    path = write_audio_only(tmp_path / "sound.mka")
    with pytest.raises(VideoError, match=r"sound.mka: no video stream \(streams: audio\)"):
        read_video(path)


def test_directory(tmp_path):
    with pytest.raises(VideoError, match="directory"):
        read_video(tmp_path)


def test_single_frame(tmp_path, clip):
    path = write_video(tmp_path / "one.mkv", clip[:1])
    assert read_video(path).shape == (1, 48, 64, 3)
    with pytest.raises(VideoError, match="one.mkv: 1 frame"):
        motion_maps(path)


def test_huge_resolution(tmp_path):
    path = tmp_path / "huge.nut"
    with av.open(str(path), "w") as container:  # raw grey frame, 7696x4336 > 8K UHD
        stream = container.add_stream("rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = 7696, 4336, "gray"
        for packet in stream.encode(av.VideoFrame(7696, 4336, "gray")):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    assert 7696 * 4336 > MAX_PIXELS
    with pytest.raises(VideoError, match="huge.nut: frame size 7696x4336 exceeds"):
        read_video(path)
