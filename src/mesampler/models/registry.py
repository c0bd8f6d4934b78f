"""Model registry: ``@register_model`` on factories, ``create(name, **kwargs)`` to build one.

Built-in model modules are listed in ``_BUILTIN_MODULES`` and imported on first lookup, so
registration never depends on what else happened to be imported.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mesampler.models.base import ModelSpec

_BUILTIN_MODULES = (
    "mesampler.models.testbed",
    "mesampler.models.i3d",
    "mesampler.models.tsn",
)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable[..., Any]
    spec: ModelSpec


_REGISTRY: dict[str, ModelEntry] = {}
_loaded = False


def register_model(spec: ModelSpec) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a factory ``f(**kwargs) -> VideoModel`` under ``spec.name``."""

    def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
        if spec.name in _REGISTRY and _REGISTRY[spec.name].factory is not factory:
            raise ValueError(f"model {spec.name!r} is registered twice")
        _REGISTRY[spec.name] = ModelEntry(spec.name, factory, spec)
        return factory

    return deco


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a module not written yet must not break the others
            if e.name != mod:
                raise


def list_models() -> list[ModelEntry]:
    """All registered models, sorted by name."""
    _load_builtin()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_entry(name: str) -> ModelEntry:
    _load_builtin()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise ValueError(f"unknown model {name!r}; registered models: {known}")
    return _REGISTRY[name]


def create(name: str, **kwargs: Any) -> Any:
    """Build the registered model ``name``; unknown keyword arguments raise ``TypeError``."""
    entry = get_entry(name)
    params = inspect.signature(entry.factory).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise TypeError(f"model {name!r} got unknown argument(s) {unknown}; it takes {sorted(params)}")
    return entry.factory(**kwargs)
