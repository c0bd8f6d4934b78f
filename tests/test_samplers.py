from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mesampler.samplers import MESampler, MultiNoise, OneNoise, sparked_index, sparked_prior
from mesampler.samplers.base import VideoBatch


def gens(n: int, seed: int = 0) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


def test_eq3_motion_value_is_a_coordinate() -> None:
    """Fig. 2b: motion (4, 5) at pixel (1, 1) picks the noise at column 4, row 5."""
    maps = torch.zeros(1, 8, 8, 2)
    maps[0, 1, 1] = torch.tensor([4.0, 5.0])
    noise = torch.randn(1, 8, 8, 3)
    out = sparked_prior(noise, sparked_index(maps))
    torch.testing.assert_close(out[0, 1, 1], noise[0, 5, 4])
    torch.testing.assert_close(out[0, 0, 0], noise[0, 0, 0])


def test_negative_and_out_of_range_coordinates_wrap() -> None:
    maps = torch.tensor([[[[-1.0, -2.0], [8.4, 9.6]]]])  # (1, 1, 2, 2): H=1, W=2
    idx = sparked_index(maps)
    # u = round(dx) mod W, v = round(dy) mod H
    assert idx.tolist() == [[(-1) % 2, 8 % 2]]


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 1000))
def test_prior_constant_on_equal_motion(h: int, w: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = torch.from_numpy(rng.integers(-3, 4, size=(2, 2)).astype(np.float32))
    labels = torch.from_numpy(rng.integers(0, 2, size=(h, w)))
    maps = values[labels][None]  # two regions with their own motion
    out = sparked_prior(torch.randn(1, h, w, 3), sparked_index(maps))[0]
    for r in (0, 1):
        region = out[labels == r]
        if len(region):
            assert torch.allclose(region, region[0].expand_as(region))


def test_maps_must_match_the_video_size() -> None:
    with pytest.raises(ValueError, match=r"motion maps of video 0 are \(4, 8\), the video is \(8, 4\)"):
        MESampler().init(VideoBatch(torch.zeros(1, 2, 8, 4, 3), gens(1), [torch.zeros(2, 4, 8, 2)]))


def test_maps_drawn_without_replacement_and_refreshed_every_interval() -> None:
    t, n = 4, 6
    maps = torch.arange(n, dtype=torch.float32).reshape(n, 1, 1, 1).expand(n, 1, 8, 2).contiguous()
    s = MESampler(interval=3)
    s.init(VideoBatch(torch.zeros(1, t, 1, 8, 3), gens(1), [maps]))
    chosen = []
    for it in range(7):
        s.draw(torch.tensor([0]), it)
        chosen.append(s._chosen[0].tolist())
    assert all(len(set(c)) == t for c in chosen)  # no map twice within a draw
    assert chosen[0] == chosen[1] == chosen[2] and chosen[3] == chosen[4] == chosen[5]
    assert chosen[0] != chosen[3] or chosen[3] != chosen[6]


def test_fewer_maps_than_frames_uses_each_map_equally() -> None:
    s = MESampler()
    s.init(VideoBatch(torch.zeros(1, 7, 2, 2, 3), gens(1), [torch.zeros(3, 2, 2, 2)]))
    s.draw(torch.tensor([0]), 0)
    counts = np.bincount(s._chosen[0].numpy(), minlength=3)
    assert counts.max() - counts.min() <= 1


def test_noise_priors_structure_and_determinism() -> None:
    shape = (2, 3, 4, 4, 3)
    one, multi = OneNoise(), MultiNoise()
    one.init(VideoBatch(torch.zeros(shape), gens(2), [None, None]))
    multi.init(VideoBatch(torch.zeros(shape), gens(2), [None, None]))
    a = one.draw(torch.tensor([0, 1]), 0)
    assert a.shape == shape and torch.equal(a[:, 0], a[:, 2])
    b = multi.draw(torch.tensor([1]), 0)
    assert not torch.equal(b[0, 0], b[0, 1])
    again = MultiNoise()
    again.init(VideoBatch(torch.zeros(shape), gens(2), [None, None]))
    assert torch.equal(again.draw(torch.tensor([1]), 0), b)


def test_geo_trap_warps_one_noise_frame_into_every_frame() -> None:
    import torch

    from mesampler.samplers.geo_trap import FAMILIES, GeoTrapSampler, transform_matrices, warp

    frame = torch.randn(3, 9, 11)
    identity = torch.eye(3)[None].repeat(2, 1, 1)
    torch.testing.assert_close(warp(frame, identity), frame.permute(1, 2, 0)[None].expand(2, 9, 11, 3))
    shift = torch.tensor([[[1.0, 0, 2 / 10], [0, 1, 0], [0, 0, 1]]])  # one pixel right in grid units (W = 11)
    torch.testing.assert_close(warp(frame, shift)[0, :, :-1], frame.permute(1, 2, 0)[:, 1:], atol=1e-5, rtol=0)
    for family in FAMILIES:
        m = transform_matrices(torch.zeros(4, {"translation": 2, "dilation": 1}.get(family, 8)), family)
        assert m.shape == (4, 3, 3)
        s = GeoTrapSampler(family=family)
        s.init(VideoBatch(torch.zeros(2, 5, 8, 8, 3), gens(2), [None, None]))
        r = s.draw(torch.tensor([0, 1]), 0)
        assert r.shape == (2, 5, 8, 8, 3) and torch.isfinite(r).all()
        assert not torch.equal(r[0, 0], r[0, 1])  # each frame has its own transform
