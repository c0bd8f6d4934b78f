"""Small black-box models for engine tests, each keeping its own independent query counter."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class Recording:
    """Wraps a numpy model ``(N, T, H, W, 3) -> (N, K)`` and keeps a copy of every video it is asked about."""

    def __init__(self, model: Callable[[np.ndarray], np.ndarray]) -> None:
        self.model = model
        self.inputs: list[np.ndarray] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.inputs += [np.array(v, copy=True) for v in x]
        return self.model(x)


class CountingLinear:
    """``scores = tanh-features(video) @ W``: a smooth nonlinear numpy model with its own counter."""

    def __init__(self, shape: tuple[int, int, int, int], k: int, seed: int = 0, scale: float = 3.0) -> None:
        rng = np.random.default_rng(seed)
        d = int(np.prod(shape))
        self.w1 = rng.normal(scale=scale / np.sqrt(d), size=(d, 16)).astype(np.float32)
        self.w2 = rng.normal(size=(16, k)).astype(np.float32)
        self.k = k
        self.videos_seen = 0
        self.calls = 0
        self.batch_sizes: list[int] = []

    def __call__(self, videos: np.ndarray) -> np.ndarray:
        assert isinstance(videos, np.ndarray) and videos.dtype == np.float32
        assert videos.min() >= 0 and videos.max() <= 1
        self.videos_seen += len(videos)
        self.calls += 1
        self.batch_sizes.append(len(videos))
        h = np.tanh((videos.reshape(len(videos), -1) - 0.5) @ self.w1)
        return h @ self.w2


def random_maps(rng: np.random.Generator, n: int, h: int, w: int, scale: float = 4.0) -> np.ndarray:
    """Piecewise-constant random motion maps ``(n, h, w, 2)`` float32 (a moving block on a still background)."""
    maps = np.zeros((n, h, w, 2), np.float32)
    for i in range(n):
        y0, x0 = rng.integers(0, max(1, h // 2)), rng.integers(0, max(1, w // 2))
        maps[i, y0 : y0 + max(1, h // 2), x0 : x0 + max(1, w // 2)] = rng.normal(scale=scale, size=2)
    return maps
