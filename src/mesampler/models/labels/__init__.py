"""Class names shipped with the package, as JSON lists in output order.

``kinetics400.json``: the 400 Kinetics-400 classes in the order of DeepMind's I3D logits.
``imagenet1k.json``: the 1,000 ImageNet-1k classes in the usual (synset-sorted) order.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

KNOWN = ("kinetics400", "imagenet1k")


@cache
def _load(name: str) -> tuple[str, ...]:
    text = resources.files(__name__).joinpath(f"{name}.json").read_text("utf-8")
    return tuple(json.loads(text))


def class_names(name: str) -> list[str]:
    """Class names of ``name`` (one of :data:`KNOWN`), index = output index."""
    if name not in KNOWN:
        raise ValueError(f"unknown class list {name!r}; known: {', '.join(KNOWN)}")
    return list(_load(name))
