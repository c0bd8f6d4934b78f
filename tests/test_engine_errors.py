"""Bad input gets a clear error before (or instead of) a wrong result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mesampler
from mesampler.attacks import ModelError
from toymodels import CountingLinear

SHAPE = (2, 4, 4, 3)


@pytest.fixture
def video() -> np.ndarray:
    return np.random.default_rng(0).random(SHAPE).astype(np.float32)


@pytest.fixture
def model() -> CountingLinear:
    return CountingLinear(SHAPE, 3)


def run(model, video, **kw):
    kw.setdefault("method", "multi-noise")
    kw.setdefault("max_queries", 9)
    return mesampler.attack(model, video, **kw)


@pytest.mark.parametrize(
    ("bad", "err", "match"),
    [
        (np.zeros((4, 4, 3), np.float32), ValueError, r"expected shape \(T, H, W, 3\), got \(4, 4, 3\)"),
        (np.zeros((2, 4, 4, 4), np.float32), ValueError, r"expected shape \(T, H, W, 3\)"),
        (np.zeros((0, 4, 4, 3), np.float32), ValueError, "expected shape"),
        (np.zeros(SHAPE, np.int32), TypeError, "uint8 or float"),
        (np.full(SHAPE, 2.0, np.float32), ValueError, r"must lie in \[0, 1\].*uint8 frames are scaled"),
        (np.full(SHAPE, -0.1, np.float32), ValueError, r"must lie in \[0, 1\]"),
        (np.full(SHAPE, np.nan, np.float32), ValueError, "NaN or inf"),
        ([[1, 2]], TypeError, "numpy array or torch tensor"),
    ],
)
def test_bad_video(model, bad, err, match) -> None:
    with pytest.raises(err, match=match):
        run(model, bad)
    assert model.videos_seen == 0


def test_torch_and_uint8_videos_are_accepted(model, video) -> None:
    assert run(model, torch.from_numpy(video)).queries <= 9
    assert run(model, (video * 255).astype(np.uint8)).queries <= 9


def test_label_outside_classes(model, video) -> None:
    with pytest.raises(ValueError, match=r"label 7 is outside the model's 3 classes \(0..2\)"):
        run(model, video, label=7)
    with pytest.raises(ValueError, match="labels\\[0\\] must be >= 0"):
        run(model, video, label=-1)
    with pytest.raises(TypeError, match="integer class index"):
        run(model, video, label=1.5)


def test_target_problems(model, video) -> None:
    with pytest.raises(ValueError, match=r"targets\[0\] equals labels\[0\]"):
        run(model, video, label=1, target=1)
    clean = int(model(video[None]).argmax())
    with pytest.raises(ValueError, match="target equals the true label"):
        run(model, video, target=clean)
    with pytest.raises(ValueError, match="target 5 is outside"):
        run(model, video, target=5)


def test_too_few_classes(video) -> None:
    with pytest.raises(ModelError, match="K >= 2"):
        run(lambda v: np.zeros((len(v), 1), np.float32), video)


@pytest.mark.parametrize(
    ("scores", "match"),
    [
        (lambda v: np.full((len(v), 3), np.nan), "non-finite scores"),
        (lambda v: np.full((len(v), 3), np.inf), "non-finite scores"),
        (lambda v: np.zeros((len(v) + 1, 3)), r"shape \(\d+, 3\) for \d+ videos"),
        (lambda v: np.zeros(len(v)), "expected"),
        (lambda v: "not scores", "not an \\(N, K\\) array"),
    ],
)
def test_bad_scores(video, scores, match) -> None:
    with pytest.raises(ModelError, match=match):
        run(scores, video)


def test_changing_number_of_classes(video) -> None:
    calls = iter(range(100))
    with pytest.raises(ModelError, match="returned 4 scores per video, earlier 3"):
        run(lambda v: np.random.rand(len(v), 3 if next(calls) == 0 else 4), video)


def test_model_that_raises(video) -> None:
    def broken(v):
        raise ConnectionError("endpoint unreachable")

    with pytest.raises(ModelError, match="raised ConnectionError on a batch of 1 videos: endpoint unreachable"):
        run(broken, video)


@pytest.mark.parametrize(
    ("kw", "err", "match"),
    [
        ({"method": "nope"}, ValueError, "unknown method 'nope'; choose one of"),
        ({"loss": "hinge"}, ValueError, "unknown loss 'hinge'"),
        ({"stepsize": 1}, TypeError, r"unknown parameter\(s\) \['stepsize'\]"),
        ({"eps": 0}, ValueError, "eps must be in"),
        ({"eps": 3}, ValueError, "eps must be in"),
        ({"max_queries": 0}, ValueError, "max_queries must be >= 1"),
        ({"lr": -1}, ValueError, "lr must be > 0"),
        (
            {"method": "me-sampler", "motion": np.zeros((4, 4, 2))},
            ValueError,
            r"expected maps of shape \(N, H, W, 2\)",
        ),
        ({"method": "me-sampler", "motion": np.full((1, 4, 4, 2), np.nan)}, ValueError, "NaN or inf"),
        ({"scores": "probabilities"}, ValueError, "scores must be"),
    ],
)
def test_bad_options(model, video, kw, err, match) -> None:
    with pytest.raises(err, match=match):
        run(model, video, **kw)


def test_not_callable(video) -> None:
    with pytest.raises(TypeError, match="model must be callable"):
        run(42, video)


def test_batch_argument_errors(model, video) -> None:
    with pytest.raises(TypeError, match="takes a list"):
        mesampler.attack_batch(model, video)
    with pytest.raises(ValueError, match="labels has 1 entries for 2 videos"):
        mesampler.attack_batch(model, [video, video], labels=[0])
    assert mesampler.attack_batch(model, []) == []
    stacked = mesampler.attack_batch(model, video[None].repeat(2, 0), method="one-noise", max_queries=4)
    assert len(stacked) == 2


def test_probabilities_are_detected(video) -> None:
    base = CountingLinear(SHAPE, 3)

    def probs(v):
        s = base(v)
        e = np.exp(s - s.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    r = run(probs, video, loss="logits")
    ref = run(CountingLinear(SHAPE, 3), video, loss="logits")
    np.testing.assert_allclose(r.adversarial, ref.adversarial, atol=1e-5)
