"""Attacks against outputs that move in steps (int8 models, rounded API probabilities)."""

from __future__ import annotations

import numpy as np
import pytest

import mesampler

SHAPE = (4, 16, 16, 3)


class Quantised:
    """A linear scorer whose logits come out on a grid of ``step`` (an int8 output layer's behaviour)."""

    def __init__(self, step: float = 0.5, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = rng.normal(size=(int(np.prod(SHAPE)), 3)).astype(np.float32) / 8
        self.step = step

    def __call__(self, x: np.ndarray) -> np.ndarray:
        logits = (x.reshape(len(x), -1) - 0.5) @ self.w
        return np.round(logits / self.step) * self.step


def _correct_video(model: Quantised) -> np.ndarray:
    rng = np.random.default_rng(1)
    for _ in range(200):
        v = rng.random(SHAPE).astype(np.float32)
        s = model(v[None])[0]
        if np.sort(s)[-1] - np.sort(s)[-2] >= 1.0:  # a clear margin of two output steps
            return v
    raise AssertionError("no clearly classified video")


@pytest.mark.parametrize("method", ["me-sampler", "multi-noise"])
def test_default_attack_moves_and_fools_a_quantised_model(method: str) -> None:
    model = Quantised()
    video = _correct_video(model)
    motion = np.random.default_rng(2).normal(0, 3, (2, 16, 16, 2)).astype(np.float32)
    r = mesampler.attack(model, video, method=method, motion=motion, eps=0.05, max_queries=600, seed=0)
    assert r.linf > 0, r.notes
    assert r.success, (r.queries, r.notes)
    assert any("probe size raised" in n for n in r.notes)


def test_without_adaptation_the_attack_says_it_never_moved() -> None:
    model = Quantised()
    video = _correct_video(model)
    r = mesampler.attack(model, video, method="multi-noise", eps=0.05, max_queries=60, adapt_fd=False)
    assert r.linf == 0 and not r.success
    assert any("never moved" in n for n in r.notes)
    from mesampler.reports.summary import summary_text

    assert "note: the attack never moved" in summary_text(r)
