"""Attack methods: ``@register_attack(name, defaults=Record, paper=...)`` on ``f(record) -> ScoreAttack``.

Every method's hyper-parameters are the fields of one frozen dataclass of defaults, written once in the
method's file under :mod:`mesampler.attacks.methods` with the paper it comes from. The API, the CLI,
campaigns and reports read them from here (:func:`attack_params`); unknown ones raise ``TypeError``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from mesampler.attacks.base import ScoreAttack
from mesampler.attacks.methods import METHOD_MODULES
from mesampler.registry import Registry, check_keywords

Norm = Literal["linf", "l2"]
D = TypeVar("D")

ATTACKS: Registry[ScoreAttack] = Registry("method", tuple(f"mesampler.attacks.methods.{m}" for m in METHOD_MODULES))


@dataclass(frozen=True)
class MethodSpec:
    """What is known about a registered method before it runs."""

    name: str
    defaults: type[Any]  # the frozen dataclass of hyper-parameters
    paper: str
    needs_motion: bool = False
    default_loss: str = "logits"
    norm: Norm = "linf"
    summary: str = ""


def register_attack(
    name: str,
    *,
    defaults: type[D],
    paper: str,
    needs_motion: bool = False,
    default_loss: str = "logits",
    norm: Norm = "linf",
) -> Callable[[Callable[[D], ScoreAttack]], Callable[[D], ScoreAttack]]:
    """Register ``factory(params: defaults) -> ScoreAttack`` as method ``name``."""
    if not (dataclasses.is_dataclass(defaults) and isinstance(defaults, type)):
        raise TypeError(f"method {name!r}: defaults must be a dataclass type, got {defaults!r}")

    def deco(factory: Callable[[D], ScoreAttack]) -> Callable[[D], ScoreAttack]:
        summary = (factory.__doc__ or "").strip().splitlines()[0] if factory.__doc__ else ""
        spec = MethodSpec(name, defaults, paper, needs_motion, default_loss, norm, summary)
        ATTACKS.add(name, factory, spec=spec)
        return factory

    return deco


def method_spec(name: str) -> MethodSpec:
    """The registration record of method ``name`` (close matches suggested for unknown names)."""
    spec: MethodSpec = ATTACKS.meta(name, "spec")
    return spec


def list_attacks() -> list[str]:
    return ATTACKS.names()


def method_params(name: str, **params: Any) -> Any:
    """The defaults record of ``name`` with ``params`` replaced; unknown names raise ``TypeError``."""
    spec = method_spec(name)
    fields = [f.name for f in dataclasses.fields(spec.defaults)]
    check_keywords(f"method {name!r}", params, fields, "parameter")
    return spec.defaults(**params)


def attack_params(name: str) -> dict[str, Any]:
    """Hyper-parameters of method ``name`` with their defaults."""
    return as_dict(method_params(name))


def as_dict(record: Any) -> dict[str, Any]:
    """A defaults record's fields (shallow: objects such as a surrogate model stay as they are)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def needs_motion(name: str) -> bool:
    return method_spec(name).needs_motion


def default_loss(name: str) -> str:
    """The loss a method uses when the caller names none."""
    return method_spec(name).default_loss


def create_attack(name: str, **params: Any) -> ScoreAttack:
    """Build method ``name``; unknown hyper-parameters raise ``TypeError`` listing the valid ones."""
    record = method_params(name, **params)
    return ATTACKS.get(name)(record)
