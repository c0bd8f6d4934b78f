"""Accumulated motion vectors on synthetic clips with known motion (fixtures made with PyAV by tests/videogen.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesampler.motion import accumulate, dense_field, motion_maps
from videogen import moving_square, write_clip


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MESAMPLER_CACHE", str(tmp_path / "cache"))


def _score(maps: np.ndarray, clip, t0: int = 0, t1: int = 11) -> tuple[float, float]:
    """(fraction of interior pixels within 0.5 px of the truth, fraction of far background exactly 0)."""
    m = maps[0]
    err = np.abs(m - clip.truth_map(t0, t1)).max(-1)
    inside, bg = clip.interior(t1), clip.far_background(t0, t1)
    return float((err[inside] <= 0.5).mean()), float((np.abs(m[bg]).max(-1) == 0).mean())


@pytest.mark.parametrize("speed", [(2.0, 0.0), (-1.0, 1.0), (0.5, -0.5), (1.5, 0.5), (-0.25, 0.75)])
def test_known_translation_accurate(speed):
    clip = moving_square(speed=speed)
    maps = motion_maps(clip.frames)
    assert maps.shape == (1, 96, 128, 2) and maps.dtype == np.float32
    inside, background = _score(maps, clip)
    assert inside >= 0.95
    assert background >= 0.99


def test_sign_convention():
    clip = moving_square(speed=(2.0, -1.0))
    m = motion_maps(clip.frames)[0]
    dx, dy = np.median(m[clip.interior(11)], axis=0)
    assert dx == pytest.approx(22.0, abs=0.5)  # moving right -> +dx, 11 P-frames x 2 px
    assert dy == pytest.approx(-11.0, abs=0.5)  # moving up -> -dy


def test_coviar_mode_integer_only():
    integer = moving_square(speed=(2.0, 1.0))
    assert _score(motion_maps(integer.frames, mode="coviar"), integer)[0] >= 0.95
    sub = moving_square(speed=(0.5, -0.5))  # half-pel steps truncate to 0 in integer tracing
    assert _score(motion_maps(sub.frames, mode="coviar"), sub)[0] < 0.5


@pytest.mark.parametrize("shape", [(96, 120), (97, 125), (64, 200)])
def test_sizes_not_multiple_of_16(shape):
    clip = moving_square(height=shape[0], width=shape[1], size=40, speed=(1.0, 0.5))
    maps = motion_maps(clip.frames)
    assert maps.shape == (1, *shape, 2)
    inside, background = _score(maps, clip)
    assert inside >= 0.95 and background >= 0.99


def test_vectors_pointing_outside_frame():
    """A pan: content enters at the left edge; accurate tracing keeps the full displacement there."""
    wide = moving_square(width=200, height=96, speed=(0.0, 0.0), size=8).frames
    frames = np.stack([wide[0, :, 60 - 2 * t : 188 - 2 * t] for t in range(12)])  # content moves right 2 px/frame
    m = motion_maps(frames)[0]
    assert (np.abs(m[..., 0] - 22) <= 0.5).mean() >= 0.95
    assert np.abs(m[:, :16, 0] - 22).max() <= 0.5  # the strip of new content, traced from outside the frame
    c = motion_maps(frames, mode="coviar")[0]
    assert np.abs(c[:, :16, 0] - 22).mean() > 5  # clipped traces lose the displacement


def test_static_video_is_zero():
    frames = np.repeat(moving_square(speed=(0.0, 0.0)).frames[:1], 24, axis=0)
    maps = motion_maps(frames)
    assert maps.shape[0] == 2 and np.count_nonzero(maps) == 0  # all blocks skipped


MV_DTYPE = [
    ("source", "i4"),
    ("w", "u1"),
    ("h", "u1"),
    ("src_x", "i2"),
    ("src_y", "i2"),
    ("dst_x", "i2"),
    ("dst_y", "i2"),
    ("flags", "u8"),
    ("motion_x", "i4"),
    ("motion_y", "i4"),
    ("motion_scale", "u2"),
]


@settings(max_examples=40, deadline=None)
@given(h=st.integers(8, 60), w=st.integers(8, 60), n=st.integers(0, 30), seed=st.integers(0, 2**16))
def test_dense_field_paints_each_block_with_its_vector(h, w, n, seed):
    """Against a per-record painter: blocks of 16 or 8 px (mixed), some from future frames, some off the frame."""
    rng = np.random.default_rng(seed)
    recs = []
    for _ in range(n):
        size = int(rng.choice([8, 16]))
        x, y = int(rng.integers(-1, w // size + 1)) * size, int(rng.integers(-1, h // size + 1)) * size  # codec grid
        mx, my, scale = int(rng.integers(-40, 40)), int(rng.integers(-40, 40)), int(rng.choice([2, 4]))
        src = int(rng.choice([-1, -1, 1]))
        recs.append((src, size, size, x + size // 2 + mx // scale, y + size // 2, x + size // 2, y + size // 2, 0,
                     mx, my, scale))  # fmt: skip
    mvs = np.array(recs, dtype=MV_DTYPE)
    expected = np.zeros((h, w, 2), np.float32)
    for r in recs:
        if r[0] >= 0 or r[5] - r[1] // 2 < 0 or r[6] - r[2] // 2 < 0:
            continue
        x0, y0 = r[5] - r[1] // 2, r[6] - r[2] // 2
        expected[y0 : y0 + r[2], x0 : x0 + r[1]] = [r[8] / r[10], r[9] / r[10]]  # later records win
    np.testing.assert_allclose(dense_field(mvs, h, w), expected, atol=1e-6)


def test_dense_field_blocks_and_missing_blocks():
    mvs = np.array(
        [
            (-1, 16, 16, 11, 6, 8, 8, 0, 5, -4, 2),  # macroblock (0, 0): (+2.5, -2) px
            (-1, 8, 8, 28, 20, 28, 20, 0, 0, 0, 2),  # 8x8 block at x 24..31, y 16..23: zero vector
            (1, 16, 16, 40, 8, 40, 8, 0, 6, 6, 2),
        ],  # from a future frame: ignored
        dtype=MV_DTYPE,
    )
    f = dense_field(mvs, 40, 50)
    assert f.shape == (40, 50, 2)
    np.testing.assert_array_equal(f[:16, :16], np.broadcast_to([2.5, -2.0], (16, 16, 2)))
    assert np.count_nonzero(f[16:]) == 0 and np.count_nonzero(f[:, 16:]) == 0  # intra / missing blocks -> 0
    np.testing.assert_array_equal(dense_field(mvs, 40, 50, mode="coviar")[0, 0], [3.0, -2.0])
    assert np.count_nonzero(dense_field(None, 40, 50)) == 0


def test_accumulate_chains_translations():
    fields = [np.full((20, 30, 2), [-1.5, 0.5], np.float32)] * 4  # each frame: content came from 1.5 px left
    m = accumulate(fields)
    np.testing.assert_allclose(m[10, 15], [6.0, -2.0], atol=1e-5)  # forward = -(sum of backward)


@pytest.mark.parametrize(
    "codec,suffix,bframes", [("h264", ".mp4", 2), ("mpeg4", ".avi", 0), ("h264", ".mkv", 0), ("gif", ".gif", 0)]
)
def test_file_formats(tmp_path, codec, suffix, bframes):
    clip = moving_square(frames=24, speed=(1.0, 0.0))
    path = write_clip(tmp_path / f"clip{suffix}", clip.frames, codec=codec, bframes=bframes)
    maps = motion_maps(path)
    assert maps.shape == (2, 96, 128, 2)
    m = maps[1]
    err = np.abs(m - clip.truth_map(12, 23)).max(-1)
    assert (err[clip.interior(23)] <= 0.5).mean() >= 0.9


def test_quantiser_value_is_honoured(monkeypatch):
    """PyAV's ``qscale`` only sets a flag: the value must be pinned, or the encoder silently uses its own qmin."""
    import av

    from mesampler.motion import mv

    frames = moving_square(frames=12, speed=(1.0, 0.5)).frames
    sizes = {}
    for q in (2, 8):
        monkeypatch.setattr(mv, "QSCALE", q)
        enc, _ = mv._codecs(128, 96, 12, 1)
        assert (enc.qmin, enc.qmax, enc.global_quality) == (q, q, q)
        total = 0
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")
            vf.pts = i
            total += sum(p.size for p in enc.encode(vf))
        sizes[q] = total + sum(p.size for p in enc.encode(None))
    assert sizes[8] < 0.6 * sizes[2]


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(8, 70),
    w=st.integers(8, 70),
    cells=st.booleans(),
    n=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_compiled_gop_trace_equals_chained_remap(h, w, cells, n, seed):
    """The compiled tracer is the same computation as chaining trace_step (OpenCV remap): quarter-pel vectors,
    vectors pointing far outside the frame, 8-px cells, sizes that are not multiples of 16, all-zero fields."""
    from mesampler.motion.accumulate import expand_blocks
    from mesampler.motion.trace_gop import trace_gop

    rng = np.random.default_rng(seed)
    k = 2 if cells else 1
    shape = (-(-h // 16) * k, -(-w // 16) * k, 2)
    fields = [(rng.integers(-120, 120, shape) / 4).astype(np.float32) for _ in range(n)]
    if n > 2:
        fields[1][:] = 0
    expected = accumulate([expand_blocks(f, h, w) for f in fields])
    np.testing.assert_allclose(trace_gop(fields, h, w), expected, atol=1e-4)
