"""The black-box model contract, and the one place its optional attributes are read.

A model is anything callable as ``model(videos) -> scores``: ``(N, T, H, W, 3)`` float32 in [0, 1]
(numpy, or torch when the model sets ``accepts_torch = True``) to ``(N, K)`` logits or probabilities.
It may also say what it expects: ``spec`` (a :class:`~mesampler.models.base.ModelSpec` or any object
with ``frames`` / ``size`` / ``num_classes``), ``classes`` (names in output order), ``num_classes`` and
``device``. :func:`model_info` reads all of them, so nothing else probes a model's attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class Model(Protocol):
    """``(N, T, H, W, 3)`` float32 in [0, 1] -> ``(N, K)`` scores."""

    def __call__(self, videos: Any, /) -> Any: ...


@dataclass(frozen=True)
class ModelInfo:
    """What a model says about itself; ``None`` where it says nothing."""

    classes: tuple[str, ...] | None = None
    num_classes: int | None = None
    frames: int | None = None
    size: int | None = None
    device: torch.device | None = None
    accepts_torch: bool = False


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def accepts_torch(model: object) -> bool:
    """Whether ``model`` takes torch tensors (else it gets numpy arrays)."""
    return bool(getattr(model, "accepts_torch", False))


def model_device(model: object) -> torch.device:
    """Device the engine should keep videos on: the model's own for torch models, else CPU.

    Reads no class list or spec, so it never makes a remote model call home."""
    device = getattr(model, "device", None) if accepts_torch(model) else None
    return torch.device(device) if isinstance(device, (str, torch.device)) else torch.device("cpu")


def model_info(model: object) -> ModelInfo:
    """Read the optional attributes of ``model`` (see the module docstring)."""
    spec = getattr(model, "spec", None)
    raw_classes = getattr(model, "classes", None)
    classes = tuple(str(c) for c in raw_classes) if raw_classes is not None else None
    k = _positive_int(getattr(spec, "num_classes", None)) or _positive_int(getattr(model, "num_classes", None))
    if k is None and classes:
        k = len(classes)
    device = getattr(model, "device", None)
    return ModelInfo(
        classes=classes,
        num_classes=k,
        frames=_positive_int(getattr(spec, "frames", None)),
        size=_positive_int(getattr(spec, "size", None)),
        device=torch.device(device) if isinstance(device, (str, torch.device)) else None,
        accepts_torch=accepts_torch(model),
    )
