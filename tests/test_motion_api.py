"""motion_maps / maps_for_clip: GOP arithmetic, size transform, caching, improved intervals, colour, CLI."""

from __future__ import annotations

import numpy as np
import pytest

from mesampler.motion import (
    cache_dir,
    choose_intervals,
    consistency,
    coverage,
    flow_to_rgb,
    maps_for_clip,
    maps_to_shape,
    motion_maps,
    resize_crop_maps,
)
from mesampler.video import write_video
from videogen import moving_square


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MESAMPLER_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def long_clip():
    return moving_square(frames=141, height=32, width=48, size=16, speed=(0.5, 0.0), origin=(-10, 8)).frames


@pytest.mark.parametrize("n,expected", [(11, 0), (12, 1), (13, 1), (141, 11)])
def test_gop_arithmetic(long_clip, n, expected):
    maps, intervals = motion_maps(long_clip[:n], return_intervals=True)
    assert maps.shape == (expected, 32, 48, 2)
    assert intervals.tolist() == [[12 * i, 12] for i in range(expected)]


def test_shorter_than_gop_partial(long_clip):
    maps, intervals = motion_maps(long_clip[:7], partial=True, return_intervals=True)
    assert maps.shape == (1, 32, 48, 2) and intervals.tolist() == [[0, 7]]
    maps, intervals = motion_maps(long_clip[:30], partial=True, return_intervals=True)
    assert intervals.tolist() == [[0, 12], [12, 12], [24, 6]]


def test_argument_errors(long_clip):
    with pytest.raises(ValueError, match="unknown motion kind 'of'"):
        motion_maps(long_clip, kind="of")
    with pytest.raises(ValueError, match="gop"):
        motion_maps(long_clip, gop=1)
    with pytest.raises(ValueError, match="trace mode"):
        motion_maps(long_clip, mode="exact")
    with pytest.raises(ValueError, match="1 frame"):
        motion_maps(long_clip[:1])


def test_size_scales_displacements():
    clip = moving_square(frames=12, height=96, width=128, speed=(2.0, 0.0))
    native = motion_maps(clip.frames)
    small = motion_maps(clip.frames, size=48)  # short side 96 -> 48: half scale, crop 64 -> 48 wide
    assert small.shape == (1, 48, 48, 2)
    assert np.max(small[..., 0]) == pytest.approx(11.0, abs=0.5)
    np.testing.assert_allclose(small, resize_crop_maps(native, 48))


def test_maps_to_shape_rules():
    maps = np.ones((2, 40, 60, 2), np.float32)
    assert maps_to_shape(maps, 40, 60) is not None and maps_to_shape(maps, 40, 60).shape == (2, 40, 60, 2)
    sq = maps_to_shape(maps, 20, 20)
    np.testing.assert_allclose(sq, 0.5)  # short side 40 -> 20: both components halved
    rect = maps_to_shape(maps, 80, 30)
    np.testing.assert_allclose(rect[..., 0], 0.5)
    np.testing.assert_allclose(rect[..., 1], 2.0)


def test_cache_hit_and_content_change(tmp_path, long_clip):
    path = write_video(tmp_path / "clip.mkv", long_clip[:24])
    first = motion_maps(path)
    entries = list((cache_dir() / "motion").glob("*.npz"))
    assert cache_dir() == tmp_path / "cache" and len(entries) == 1
    np.testing.assert_array_equal(motion_maps(path), first)  # hit
    assert len(list((cache_dir() / "motion").glob("*.npz"))) == 1
    reversed_clip = np.ascontiguousarray(long_clip[:24][::-1])
    write_video(path, reversed_clip)  # same name, new content
    again = motion_maps(path)
    np.testing.assert_array_equal(again, motion_maps(reversed_clip))
    assert not np.array_equal(again, first)


def test_cache_key_covers_the_quantiser(tmp_path, long_clip, monkeypatch):
    from mesampler.motion import mv

    path = write_video(tmp_path / "clip.mkv", long_clip[:24])
    motion_maps(path)
    monkeypatch.setattr(mv, "QSCALE", 8)
    motion_maps(path)  # a different re-encoding: a new entry, not the old maps
    assert len(list((cache_dir() / "motion").glob("*.npz"))) == 2


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.delenv("MESAMPLER_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "mesampler"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "mesampler"


def test_maps_for_clip_windows(tmp_path, long_clip):
    path = write_video(tmp_path / "clip.mkv", long_clip)
    everything = motion_maps(path)
    window = maps_for_clip(path, height=32, width=48, start=20, frames=16)  # overlaps GOPs 1..2 (frames 12..35)
    np.testing.assert_array_equal(window, everything[1:3])
    assert maps_for_clip(path, height=32, width=48).shape == (11, 32, 48, 2)
    tail = maps_for_clip(path, height=32, width=48, start=135)  # only the incomplete 12th GOP: fall back
    assert tail.shape == (11, 32, 48, 2)
    assert maps_for_clip(path, height=16, width=16, start=0, frames=12).shape == (1, 16, 16, 2)


def test_maps_for_short_file(tmp_path):
    clip = moving_square(frames=8, height=48, width=64, size=24, speed=(1.0, 0.0))
    path = write_video(tmp_path / "short.mkv", clip.frames)
    maps = maps_for_clip(path, height=48, width=64)
    assert maps.shape == (1, 48, 64, 2)  # one map over all 8 frames
    assert np.median(maps[0][clip.interior(7, margin=6)], axis=0) == pytest.approx([7.0, 0.0], abs=0.5)


def test_improved_intervals():
    rng = np.random.default_rng(0)
    still = [np.zeros((20, 20, 2), np.float32)] * 10
    moving = [np.full((20, 20, 2), [-0.5, 0.0], np.float32)] * 40
    jitter = [f + rng.normal(0, 0.001, f.shape).astype(np.float32) for f in still + moving]
    iv = choose_intervals(jitter, gop=12)
    assert iv[0][0] == 10  # starts where motion starts
    assert all(12 <= ln <= 24 for _, ln in iv)
    assert iv[0][1] >= 12 and sum(ln for _, ln in iv) <= 51
    assert choose_intervals(still, gop=4) == [(0, 4), (4, 4)]  # nothing moves: fixed GOPs


def test_improved_maps(long_clip):
    maps, intervals = motion_maps(long_clip, improved=True, return_intervals=True)
    assert maps.shape[0] == len(intervals) >= 3
    starts, lengths = intervals[:, 0], intervals[:, 1]
    assert (np.diff(starts) >= lengths[:-1]).all() and starts[-1] + lengths[-1] <= 141
    assert coverage(maps) >= coverage(motion_maps(long_clip)) - 0.02
    assert 0 <= consistency(maps) <= 1


def test_colour_wheel():
    flow = np.zeros((4, 4, 2), np.float32)
    flow[0, 0] = [3, 0]  # right: red
    flow[0, 1] = [0, 3]  # down: hue 90 degrees (yellow-green)
    flow[0, 2] = [-3, 0]  # left: cyan
    rgb = flow_to_rgb(flow)
    assert rgb.dtype == np.uint8 and rgb.shape == (4, 4, 3)
    assert rgb[0, 0].tolist() == [255, 0, 0]
    assert rgb[0, 2].tolist() == [0, 255, 255]
    assert rgb[0, 1].tolist() == [128, 255, 0]
    assert rgb[3, 3].tolist() == [255, 255, 255]  # no motion: white


def test_cli(tmp_path, long_clip):
    from mesampler.cli.main import main

    path = write_video(tmp_path / "clip.mkv", long_clip[:24])
    assert main(["motion", str(path), "--kind", "mv", "--size", "16", "--out", str(tmp_path / "out")]) == 0
    data = np.load(tmp_path / "out" / "maps.npz")
    assert data["maps"].shape == (2, 16, 16, 2) and data["intervals"].tolist() == [[0, 12], [12, 12]]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["map_0000.png", "map_0001.png"]
    assert main(["motion", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o2")]) == 2
