"""Plain Python callables (numpy or torch) behind the black-box contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mesampler.models.adapters._arrays import check_videos, like_input, scores_to_numpy, scores_to_torch


class CallableModel:
    """Wrap ``fn(videos) -> scores`` so it takes numpy or torch and returns ``(N, K)`` float32.

    With ``accepts_torch=False`` (default) ``fn`` receives ``(N, T, H, W, 3)`` float32 numpy in [0, 1];
    with ``accepts_torch=True`` it receives a float32 tensor on ``device`` (under ``torch.no_grad``)
    and the attack engine may keep its tensors there. ``fn`` may return numpy, torch or nested lists.
    The result is the same kind of array as the input (numpy in, numpy out; torch in, torch out).

    Args:
        fn: the score function.
        accepts_torch: whether ``fn`` takes torch tensors rather than numpy arrays.
        device: where tensors for ``fn`` live (only with ``accepts_torch=True``).
        num_classes: K, if known in advance; otherwise the K of the last call.
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        *,
        accepts_torch: bool = False,
        device: str | torch.device | None = None,
        num_classes: int | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"expected a callable model, got {type(fn).__name__}")
        if device is not None and not accepts_torch:
            raise ValueError("device is only meaningful with accepts_torch=True (fn takes numpy arrays)")
        self.fn = fn
        self.accepts_torch = bool(accepts_torch)
        self.device = torch.device(device if device is not None else "cpu")
        self._k = num_classes
        self._name = getattr(fn, "__qualname__", type(fn).__name__)

    @property
    def num_classes(self) -> int | None:
        return self._k

    def __repr__(self) -> str:
        kind = f"torch on {self.device}" if self.accepts_torch else "numpy"
        return f"CallableModel({self._name}, {kind})"

    def __call__(self, videos: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """``(N, T, H, W, 3)`` float32 in [0, 1] -> ``(N, K)`` float32 scores."""
        check_videos(videos)
        n = videos.shape[0]
        if self.accepts_torch:
            x = torch.as_tensor(videos).to(self.device, torch.float32)
            with torch.no_grad():
                out = scores_to_torch(self.fn(x), n, repr(self), self.device)
            self._k = out.shape[1]
            return out if isinstance(videos, torch.Tensor) else out.cpu().numpy()
        if isinstance(videos, torch.Tensor):
            x_np = videos.detach().to("cpu", torch.float32).numpy()
        else:
            x_np = np.asarray(videos, dtype=np.float32)
        scores = scores_to_numpy(self.fn(x_np), n, repr(self))
        self._k = scores.shape[1]
        return like_input(scores, videos)
