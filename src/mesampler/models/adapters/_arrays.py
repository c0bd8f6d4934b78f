"""Array checks and conversions shared by the adapters (numpy <-> torch, shapes, layouts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch

Layout = Literal["NTHWC", "NCTHW", "NTCHW"]
LAYOUTS: tuple[str, ...] = ("NTHWC", "NCTHW", "NTCHW")
# (N, T, H, W, C) -> layout, as an axis permutation.
_PERMUTE = {"NTHWC": (0, 1, 2, 3, 4), "NCTHW": (0, 4, 1, 2, 3), "NTCHW": (0, 1, 4, 2, 3)}


def check_layout(layout: str) -> str:
    if layout not in _PERMUTE:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    return layout


def check_mean_std(
    mean: Sequence[float] | None, std: Sequence[float] | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Validate per-channel ``mean``/``std`` (3 values each, std > 0) -> float32 arrays or ``None``."""
    out: list[np.ndarray | None] = []
    for name, v in (("mean", mean), ("std", std)):
        if v is None:
            out.append(None)
            continue
        a = np.asarray(v, dtype=np.float32).reshape(-1)
        if a.shape != (3,):
            raise ValueError(f"{name} must have 3 values (R, G, B), got {list(np.asarray(v).reshape(-1))}")
        if name == "std" and not np.all(a > 0):
            raise ValueError(f"std must be > 0, got {a.tolist()}")
        out.append(a)
    return out[0], out[1]


def video_shape_error(shape: Sequence[int]) -> str | None:
    """Why ``shape`` is not ``(N, T, H, W, 3)`` with N >= 1, or ``None`` if it is."""
    if len(shape) != 5 or shape[-1] != 3:
        return f"expected videos of shape (N, T, H, W, 3), got {tuple(shape)}"
    if min(shape) < 1:
        return f"expected a non-empty batch of videos, got shape {tuple(shape)}"
    return None


def check_videos(videos: Any) -> None:
    """Raise ``ValueError``/``TypeError`` unless ``videos`` is an ``(N, T, H, W, 3)`` array or tensor."""
    if not isinstance(videos, (np.ndarray, torch.Tensor)):
        raise TypeError(f"videos must be a numpy array or torch tensor, got {type(videos).__name__}")
    err = video_shape_error(videos.shape)
    if err:
        raise ValueError(err)


def to_numpy_videos(videos: np.ndarray | torch.Tensor) -> np.ndarray:
    """``(N, T, H, W, 3)`` numpy or torch -> contiguous float32 numpy array on the host."""
    check_videos(videos)
    if isinstance(videos, torch.Tensor):
        videos = videos.detach().to("cpu", torch.float32).numpy()
    return np.ascontiguousarray(videos, dtype=np.float32)


def scores_to_numpy(scores: Any, n: int, where: str) -> np.ndarray:
    """Model output -> ``(n, K)`` float32 numpy; ``ValueError`` naming ``where`` if it is not that."""
    if isinstance(scores, torch.Tensor):
        scores = scores.detach().to("cpu", torch.float32).numpy()
    try:
        arr = np.asarray(scores, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where} returned {type(scores).__name__}, not an (N, K) array of scores") from e
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] < 1:
        raise ValueError(f"{where} returned scores of shape {arr.shape} for {n} videos; expected ({n}, K)")
    return arr


def scores_to_torch(scores: Any, n: int, where: str, device: torch.device) -> torch.Tensor:
    """Model output -> ``(n, K)`` float32 tensor on ``device``; ``ValueError`` if it is not that."""
    if not isinstance(scores, torch.Tensor):
        return torch.from_numpy(scores_to_numpy(scores, n, where)).to(device)
    if scores.ndim != 2 or scores.shape[0] != n or scores.shape[1] < 1:
        raise ValueError(f"{where} returned scores of shape {tuple(scores.shape)} for {n} videos; expected ({n}, K)")
    return scores.detach().to(device, torch.float32)


def like_input(scores: np.ndarray, videos: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Return numpy ``scores`` as the same kind of array as ``videos`` (torch on its device, or numpy)."""
    if isinstance(videos, torch.Tensor):
        return torch.from_numpy(scores).to(videos.device)
    return scores


def normalise_numpy(videos: np.ndarray, layout: str, mean: np.ndarray | None, std: np.ndarray | None) -> np.ndarray:
    """``(N, T, H, W, 3)`` float32 -> ``(x - mean) / std`` permuted to ``layout``, contiguous."""
    x = videos
    if mean is not None:
        x = x - mean
    if std is not None:
        x = x / std
    return np.ascontiguousarray(x.transpose(_PERMUTE[layout]), dtype=np.float32)


def normalise_torch(
    videos: torch.Tensor, layout: str, mean: torch.Tensor | None, std: torch.Tensor | None
) -> torch.Tensor:
    """Torch twin of :func:`normalise_numpy` (no copy when there is nothing to do)."""
    x = videos
    if mean is not None:
        x = x - mean
    if std is not None:
        x = x / std
    return x.permute(*_PERMUTE[layout]) if layout != "NTHWC" else x
