"""Attack registry: ``@register_attack(name)`` on factories ``f(**params) -> ScoreAttack``.

A factory's keyword arguments *are* the method's hyper-parameters, with the defaults of the
paper it comes from: ``attack_params(name)`` lists them, and unknown ones raise ``TypeError``.
Optional factory attributes: ``needs_motion = True`` (the API then supplies motion maps) and
``default_loss = "probability"`` (used when the caller names no loss).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from mesampler.attacks.base import ScoreAttack

_BUILTIN_MODULES = ("mesampler.attacks.prior_pgd", "mesampler.attacks.baselines")
_ATTACKS: dict[str, Callable[..., ScoreAttack]] = {}


def register_attack(name: str) -> Callable[[Callable[..., ScoreAttack]], Callable[..., ScoreAttack]]:
    def deco(factory: Callable[..., ScoreAttack]) -> Callable[..., ScoreAttack]:
        _ATTACKS[name] = factory
        return factory

    return deco


def _load() -> None:
    for mod in _BUILTIN_MODULES:
        importlib.import_module(mod)


def list_attacks() -> list[str]:
    _load()
    return sorted(_ATTACKS)


def attack_params(name: str) -> dict[str, Any]:
    """Hyper-parameters of method ``name`` with their defaults."""
    factory = _get(name)
    return {k: p.default for k, p in inspect.signature(factory).parameters.items()}


def needs_motion(name: str) -> bool:
    return bool(getattr(_get(name), "needs_motion", False))


def default_loss(name: str) -> str:
    """The loss a method uses when the caller names none (a factory's ``default_loss`` attribute, else logits)."""
    return str(getattr(_get(name), "default_loss", "logits"))


def create_attack(name: str, **params: Any) -> ScoreAttack:
    """Build method ``name``; unknown hyper-parameters raise ``TypeError`` listing the valid ones."""
    factory = _get(name)
    unknown = sorted(set(params) - set(attack_params(name)))
    if unknown:
        raise TypeError(f"method {name!r} got unknown parameter(s) {unknown}; it takes {sorted(attack_params(name))}")
    return factory(**params)


def _get(name: str) -> Callable[..., ScoreAttack]:
    _load()
    if name not in _ATTACKS:
        raise ValueError(f"unknown method {name!r}; choose one of {sorted(_ATTACKS)}")
    return _ATTACKS[name]
