"""One registry type for every pluggable kind: methods, models, datasets, losses, executors.

An entry is a name, a factory and the metadata given when it was registered (paper, default loss,
whether it needs motion, ...). Unknown names raise a :class:`KeyError` subclass that also is a
:class:`ValueError` and lists the close matches and every valid name. Built-in entries are
registered by importing the modules named at construction, on first use, so importing a registry
never imports its members.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class UnknownName(KeyError, ValueError):
    """A name that is not registered; the message names close matches and all choices."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered ``factory`` under ``name`` with its registration ``meta``."""

    name: str
    factory: Callable[..., T]
    meta: Mapping[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """Name -> factory of one ``kind`` (used in messages: "unknown method 'x'")."""

    def __init__(self, kind: str, builtins: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._builtins = builtins
        self._loaded = not builtins
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, **meta: Any) -> Callable[[F], F]:
        """Decorator: register the decorated factory as ``name`` with metadata ``meta``."""

        def deco(factory: F) -> F:
            self.add(name, factory, **meta)
            return factory

        return deco

    def add(self, name: str, factory: Callable[..., T], **meta: Any) -> None:
        """Register ``factory`` as ``name`` (re-registering a name replaces it, e.g. in a user's session)."""
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        self._entries[name] = Entry(name, factory, dict(meta))

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self._builtins:
                importlib.import_module(module)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._load()
        return sorted(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    def entry(self, name: str) -> Entry[T]:
        """The entry of ``name``; :class:`UnknownName` with close matches when there is none."""
        self._load()
        if name in self._entries:
            return self._entries[name]
        close = difflib.get_close_matches(str(name), self._entries, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownName(f"unknown {self.kind} {name!r}; choose one of {sorted(self._entries)}{hint}")

    def get(self, name: str) -> Callable[..., T]:
        """The factory of ``name``."""
        return self.entry(name).factory

    def meta(self, name: str, key: str, default: Any = None) -> Any:
        """Registration metadata ``key`` of ``name`` (``default`` where it was not given)."""
        return self.entry(name).meta.get(key, default)

    def create(self, name: str, *args: Any, **kwargs: Any) -> T:
        """Call the factory of ``name``."""
        return self.get(name)(*args, **kwargs)


def check_keywords(what: str, given: Mapping[str, Any] | set[str], allowed: set[str] | list[str], noun: str) -> None:
    """Raise ``TypeError`` naming ``what`` when ``given`` has keys outside ``allowed`` (``noun``: "parameter")."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        close = {u: difflib.get_close_matches(u, list(allowed), n=1) for u in unknown}
        hints = "".join(f"; {u!r}: did you mean {c[0]!r}?" for u, c in close.items() if c)
        raise TypeError(f"{what} got unknown {noun}(s) {unknown}; it takes {sorted(allowed)}{hints}")


def keyword_names(factory: Callable[..., Any]) -> set[str] | None:
    """The keyword arguments ``factory`` accepts, or ``None`` when it takes ``**kwargs``."""
    params = inspect.signature(factory).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return {k for k, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
