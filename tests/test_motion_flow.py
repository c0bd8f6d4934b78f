"""TV-L1 flow maps on synthetic clips with known motion."""

from __future__ import annotations

import numpy as np
import pytest

from mesampler.motion import flow_map, motion_maps
from videogen import moving_square


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MESAMPLER_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("speed", [(1.5, 0.0), (-0.5, 0.5)])
def test_known_translation_chain(speed):
    clip = moving_square(height=72, width=96, size=40, speed=speed)
    maps = motion_maps(clip.frames, kind="flow")
    assert maps.shape == (1, 72, 96, 2) and maps.dtype == np.float32
    m, truth = maps[0], clip.truth_map(0, 11)
    err = np.linalg.norm(m - truth, axis=-1)
    assert (err[clip.interior(11, margin=8)] <= 1.0).mean() >= 0.95
    assert (np.linalg.norm(m[clip.far_background(0, 11)], axis=-1) < 1.0).mean() >= 0.95
    median = np.median(m[clip.interior(11)], axis=0)
    assert all(np.sign(md) == np.sign(sp) for md, sp in zip(median, speed, strict=True) if sp != 0)


def test_direct_mode_small_motion():
    clip = moving_square(frames=4, height=72, width=96, size=40, speed=(1.0, 0.0))
    m = flow_map(clip.frames, mode="direct")
    assert np.median(m[clip.interior(3, margin=8)], axis=0) == pytest.approx([3.0, 0.0], abs=0.5)
    with pytest.raises(ValueError, match="flow mode"):
        flow_map(clip.frames, mode="sideways")
    with pytest.raises(ValueError, match="at least 2 frames"):
        flow_map(clip.frames[:1])
