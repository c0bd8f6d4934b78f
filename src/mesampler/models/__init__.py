"""Black-box models: the contract, the torch wrapper, the registry and the built-in models."""

from mesampler.models.base import ModelSpec, VideoModel, resize_short_side_crop
from mesampler.models.registry import create, get_entry, list_models, register_model

__all__ = [
    "ModelSpec",
    "VideoModel",
    "create",
    "get_entry",
    "list_models",
    "register_model",
    "resize_short_side_crop",
]
