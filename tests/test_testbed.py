"""The motion test-bed: generator determinism and shapes, ground-truth motion, the registered model."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mesampler.models import create
from mesampler.testbed import CLASSES, TEST_SEED, TRAIN_SEED, TestbedConfig, make_clip, make_dataset

CFG = TestbedConfig()


@pytest.fixture(scope="module")
def held_out():
    return make_dataset(200, TEST_SEED)


@pytest.fixture(scope="module")
def model():
    return create("testbed-motion")


def test_clip_shapes_and_dtypes():
    video, motion = make_clip(0, 0)
    assert video.shape == (CFG.frames, CFG.size, CFG.size, 3) and video.dtype == np.uint8
    assert motion.shape == (CFG.frames // CFG.interval, CFG.size, CFG.size, 2) and motion.dtype == np.float32


def test_dataset_shapes_and_balanced_labels():
    videos, labels, motions = make_dataset(len(CLASSES) + 2, 5)
    assert videos.shape == (12, 16, 64, 64, 3) and videos.dtype == np.uint8
    assert labels.dtype == np.int64 and labels.tolist() == [i % len(CLASSES) for i in range(12)]
    assert motions.shape == (12, 4, 64, 64, 2) and motions.dtype == np.float32


def test_config_controls_geometry():
    cfg = TestbedConfig(frames=12, size=32, interval=3)
    video, motion = make_clip(4, 1, cfg=cfg)
    assert video.shape == (12, 32, 32, 3) and motion.shape == (4, 32, 32, 2)


@given(label=st.integers(0, len(CLASSES) - 1), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=10, deadline=None)
def test_same_seed_same_bytes(label, seed):
    v1, m1 = make_clip(label, seed)
    v2, m2 = make_clip(label, np.random.default_rng(seed))
    assert v1.tobytes() == v2.tobytes() and m1.tobytes() == m2.tobytes()


def test_dataset_is_deterministic_prefix_stable_and_splits_differ():
    v5, l5, m5 = make_dataset(5, TRAIN_SEED)
    v3, l3, m3 = make_dataset(3, TRAIN_SEED)
    assert v5[:3].tobytes() == v3.tobytes() and m5[:3].tobytes() == m3.tobytes()
    vt, _, _ = make_dataset(3, TEST_SEED)
    assert not np.array_equal(vt, v3)


def test_different_seeds_differ():
    assert not np.array_equal(make_clip(0, 1)[0], make_clip(0, 2)[0])


def test_appearance_does_not_give_the_class(held_out):
    """Between-class spread of per-clip colour statistics is no larger than chance (one-way ANOVA F)."""
    videos, labels, _ = held_out
    x = videos.astype(np.float32) / 255
    feats = np.concatenate([x.mean(axis=(1, 2, 3)), x.std(axis=(1, 2, 3))], 1)  # (N, 6)
    k, n = len(CLASSES), len(labels)
    means = np.stack([feats[labels == c].mean(0) for c in range(k)])
    between = ((means - feats.mean(0)) ** 2).sum(0) * (n / k) / (k - 1)
    within = sum(((feats[labels == c] - means[c]) ** 2).sum(0) for c in range(k)) / (n - k)
    assert (between / within).max() < 3.0  # F(9, 190) critical value at p = 0.002 is about 3


def test_ground_truth_translate_right_integer_speed():
    speed = 2.0
    cfg = dataclasses.replace(CFG, speed=(speed, speed))
    video, motion = make_clip(CLASSES.index("translate_right"), 7, cfg=cfg)
    step = int(speed * (cfg.interval - 1))
    for k in range(cfg.num_maps):
        a, b = k * cfg.interval, k * cfg.interval + cfg.interval - 1
        moving = np.any(motion[k] != 0, axis=-1)
        assert moving.sum() > 100
        np.testing.assert_allclose(motion[k][moving, 0], step, atol=1e-6)
        np.testing.assert_allclose(motion[k][..., 1], 0, atol=1e-6)
        ys, xs = np.nonzero(moving)
        ok = xs >= step  # the content point was inside the frame at frame a
        assert np.array_equal(video[b][ys[ok], xs[ok]], video[a][ys[ok], xs[ok] - step])
        still = ~moving & np.all(video[b] == video[0], axis=-1)  # background, away from the object
        assert still.sum() > 0.7 * still.size


def test_ground_truth_zero_for_still_background_and_sign_conventions():
    _, m_right = make_clip(CLASSES.index("translate_right"), 3)
    _, m_down = make_clip(CLASSES.index("translate_down"), 3)
    _, m_zoom = make_clip(CLASSES.index("zoom_in"), 3)
    _, m_shrink = make_clip(CLASSES.index("zoom_out"), 3)
    assert m_right[..., 0].max() > 0 and m_right[..., 0].min() >= 0
    assert m_down[..., 1].max() > 0 and m_down[..., 1].min() >= 0
    # expansion: displacement points away from the object's centre, so dx grows with x
    mk = np.any(m_zoom[-1] != 0, axis=-1)
    ys, xs = np.nonzero(mk)
    assert np.corrcoef(xs, m_zoom[-1][mk, 0])[0, 1] > 0.9
    mk = np.any(m_shrink[-1] != 0, axis=-1)
    ys, xs = np.nonzero(mk)
    assert np.corrcoef(ys, m_shrink[-1][mk, 1])[0, 1] < -0.9


@given(label=st.sampled_from([c for c in CLASSES if not c.startswith("zoom")]), seed=st.integers(0, 2**16))
@settings(max_examples=10, deadline=None)
def test_ground_truth_explains_the_frames(label, seed):
    """Sampling frame ``a`` at ``x - d`` reproduces frame ``b`` far better than at ``x + d`` (wrong sign).

    (Zoom is left out: its minified texture aliases, so resampling errors dominate; its signs are checked above.)
    """
    video, motion = make_clip(CLASSES.index(label), seed)
    v = video.astype(np.float32)
    yy, xx = np.mgrid[0 : CFG.size, 0 : CFG.size].astype(np.float32)
    for k in range(CFG.num_maps):
        a, b = k * CFG.interval, k * CFG.interval + CFG.interval - 1
        d = motion[k]
        mk = np.hypot(d[..., 0], d[..., 1]) >= 1
        if mk.sum() < 20:
            continue
        err = {}
        for sign in (1, -1):
            src = cv2.remap(
                v[a], xx - sign * d[..., 0], yy - sign * d[..., 1], cv2.INTER_LINEAR, None, cv2.BORDER_REPLICATE
            )
            err[sign] = np.abs(v[b] - src)[mk].mean()
        assert err[1] < 0.6 * err[-1]


@pytest.mark.parametrize("bad", [-1, len(CLASSES)])
def test_bad_label_raises(bad):
    with pytest.raises(ValueError, match="label must be in"):
        make_clip(bad, 0)


def test_bad_config_raises():
    with pytest.raises(ValueError, match="interval"):
        TestbedConfig(interval=1)
    with pytest.raises(ValueError, match="speed"):
        TestbedConfig(speed=(2.0, 1.0))


def test_model_is_registered_and_accurate(held_out, model):
    videos, labels, _ = held_out
    scores = model(videos.astype(np.float32) / 255)
    assert isinstance(scores, np.ndarray) and scores.shape == (200, len(CLASSES))
    assert model.classes == list(CLASSES)
    assert (scores.argmax(1) == labels).mean() >= 0.9


def test_model_accepts_numpy_and_torch_and_other_sizes(held_out, model):
    x = held_out[0][:4].astype(np.float32) / 255
    s_np = model(x)
    s_t = model(torch.from_numpy(x))
    assert isinstance(s_t, torch.Tensor) and s_t.shape == (4, len(CLASSES))
    np.testing.assert_allclose(s_np, s_t.numpy(), rtol=1e-5, atol=1e-5)
    big = torch.nn.functional.interpolate(torch.from_numpy(x).flatten(0, 1).permute(0, 3, 1, 2), size=(80, 96))
    s_big = model(big.permute(0, 2, 3, 1).reshape(4, CFG.frames, 80, 96, 3))
    assert s_big.shape == (4, len(CLASSES))


def test_missing_weights_are_trained_into_the_cache(tmp_path, monkeypatch, caplog):
    """Without the bundled file the weights are trained once into $MESAMPLER_CACHE (training stubbed here)."""
    import mesampler.models.testbed as mt
    import mesampler.testbed.train as tr
    from mesampler.testbed.net import MotionNet

    calls = []

    def fake_train(**kw):
        calls.append(kw)
        return MotionNet(len(CLASSES)).eval(), {"width": 8, "accuracy": 0.0}

    monkeypatch.setattr(mt, "BUNDLED", tmp_path / "absent.safetensors")
    monkeypatch.setenv("MESAMPLER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tr, "train", fake_train)
    with caplog.at_level("WARNING"):
        m = mt.create_testbed()
    assert (tmp_path / "cache" / "testbed.safetensors").is_file() and len(calls) == 1
    assert "training them into" in caplog.text
    mt.create_testbed()
    assert len(calls) == 1
    assert m(np.zeros((1, CFG.frames, CFG.size, CFG.size, 3), np.float32)).shape == (1, len(CLASSES))


def test_unreadable_checkpoint_raises(tmp_path):
    from mesampler.models.testbed import load_net

    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.safetensors"):
        load_net(bad)
