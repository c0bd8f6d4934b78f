"""Mapping a dataset's class names to a model's class indices.

Rules, in order: an entry of the user's mapping file; the exact name; the name compared case-insensitively
with ``_``/``-`` read as spaces (``"flipping_pancake"`` = ``"Flipping pancake"``), if that is unambiguous.
``"index"`` maps dataset class ``i`` (the dataset's own order, e.g. UCF-101's classInd) to model class ``i``.
Classes left unmapped are dropped (logged); a mapping that maps nothing is an error.

Mapping files: JSON ``{"dataset class": "model class" or index}``, or CSV with two columns
``dataset_class,model_class`` (a header row is optional).
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("mesampler.datasets")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name).strip().lower()


def read_mapping(path: str | Path) -> dict[str, str | int]:
    """A mapping file -> ``{dataset class: model class name or index}``."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"class mapping file {p} not found")
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{p}: not valid JSON ({e})") from None
        if not isinstance(data, dict) or not all(isinstance(v, (str, int)) for v in data.values()):
            raise ValueError(f"{p}: expected an object {{dataset class: model class name or index}}")
        return {str(k): v for k, v in data.items()}
    out: dict[str, str | int] = {}
    with p.open(newline="", encoding="utf-8-sig") as f:
        for n, row in enumerate(csv.reader(f), 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 2:
                raise ValueError(f"{p}:{n}: expected 'dataset_class,model_class', got {row}")
            if n == 1 and [c.strip().lower() for c in row] == ["dataset_class", "model_class"]:
                continue
            out[row[0].strip()] = int(row[1]) if row[1].strip().isdigit() else row[1].strip()
    return out


def map_classes(
    dataset_classes: Sequence[str],
    model_classes: Sequence[str] | None,
    *,
    mapping: str | Path | dict[str, str | int] | None = None,
    num_classes: int | None = None,
) -> dict[str, int]:
    """``{dataset class name: model class index}`` for every class that maps.

    Args:
        model_classes: the model's class names in output order (``None`` if it has none: then a mapping to
            indices, or ``"index"``, is needed).
        mapping: a mapping file, a dict, ``"index"``, or ``None`` (names only).
        num_classes: the model's number of outputs (checks indices).
    """
    k = num_classes if num_classes is not None else (len(model_classes) if model_classes is not None else None)
    if mapping == "index":
        out = {c: i for i, c in enumerate(dataset_classes) if k is None or i < k}
        if k is not None and len(dataset_classes) > k:
            log.warning("class mapping 'index': %d dataset classes for %d model classes", len(dataset_classes), k)
        return out
    user = read_mapping(mapping) if isinstance(mapping, (str, Path)) else dict(mapping or {})
    names = list(model_classes or [])
    exact = {c: i for i, c in enumerate(names)}
    loose: dict[str, list[int]] = {}
    for i, c in enumerate(names):
        loose.setdefault(_norm(c), []).append(i)
    out, missing = {}, []
    for c in dataset_classes:
        if c in user:
            v = user[c]
            if isinstance(v, int):
                if k is not None and not 0 <= v < k:
                    raise ValueError(f"class mapping: {c!r} -> {v} is outside the model's {k} classes")
                out[c] = v
            elif v in exact:
                out[c] = exact[v]
            else:
                raise ValueError(f"class mapping: {c!r} -> {v!r}, which is not one of the model's class names")
        elif c in exact:
            out[c] = exact[c]
        elif len(loose.get(_norm(c), [])) == 1:
            out[c] = loose[_norm(c)][0]
        else:
            missing.append(c)
    if not out:
        hint = "the model has no class names; " if model_classes is None else ""
        raise ValueError(
            f"no dataset class maps to a model class ({hint}e.g. {list(dataset_classes)[:3]}); "
            "give a mapping file (JSON or CSV dataset_class,model_class) or mapping='index'"
        )
    if missing:
        log.warning(
            "%d of %d dataset classes have no model class and are skipped (e.g. %s)",
            len(missing),
            len(dataset_classes),
            ", ".join(missing[:3]),
        )
    return out
