"""Model registry: ``@register_model`` on factories, ``create(name, **kwargs)`` to build one.

Built-in model modules are listed in ``_BUILTIN_MODULES`` and imported on first lookup, so
registration never depends on what else happened to be imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mesampler.models.base import ModelSpec
from mesampler.registry import Registry, check_keywords, keyword_names

MODELS: Registry[Any] = Registry("model", ("mesampler.models.testbed", "mesampler.models.i3d", "mesampler.models.tsn"))


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable[..., Any]
    spec: ModelSpec


def register_model(spec: ModelSpec) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a factory ``f(**kwargs) -> VideoModel`` under ``spec.name``."""
    return MODELS.register(spec.name, spec=spec)


def get_entry(name: str) -> ModelEntry:
    e = MODELS.entry(name)
    return ModelEntry(e.name, e.factory, e.meta["spec"])


def list_models() -> list[ModelEntry]:
    """All registered models, sorted by name."""
    return [get_entry(n) for n in MODELS.names()]


def create(name: str, **kwargs: Any) -> Any:
    """Build the registered model ``name``; unknown keyword arguments raise ``TypeError``."""
    entry = get_entry(name)
    allowed = keyword_names(entry.factory)
    if allowed is not None:
        check_keywords(f"model {name!r}", kwargs, allowed, "argument")
    return entry.factory(**kwargs)
