"""``load_dataset(kind, root, **options)``: one entry point for every supported on-disk layout."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from mesampler.datasets.base import VideoDataset
from mesampler.datasets.hmdb51 import load_hmdb51
from mesampler.datasets.kinetics import load_kinetics400
from mesampler.datasets.manifest import load_manifest
from mesampler.datasets.sthsth import load_sthsth_v2
from mesampler.datasets.testbed import load_testbed
from mesampler.datasets.ucf101 import load_ucf101
from mesampler.registry import Registry, check_keywords

DATASETS: Registry[VideoDataset] = Registry("dataset kind")
for _kind, _loader in (
    ("testbed", load_testbed),
    ("ucf101", load_ucf101),
    ("hmdb51", load_hmdb51),
    ("kinetics400", load_kinetics400),
    ("sthsth-v2", load_sthsth_v2),
    ("manifest", load_manifest),
):
    DATASETS.add(_kind, _loader)
DATASET_KINDS: tuple[str, ...] = tuple(DATASETS.names())


def load_dataset(kind: str, root: str | Path | None = None, *, name: str | None = None, **options: Any) -> VideoDataset:
    """Load dataset ``kind`` (one of :data:`DATASET_KINDS`) from ``root`` (a manifest CSV for ``"manifest"``;
    none for ``"testbed"``). ``options`` are the loader's keywords (e.g. ``split``, ``annotations``); unknown
    ones raise ``TypeError``. ``name`` renames it (the name campaigns store)."""
    loader = DATASETS.get(kind)
    params = inspect.signature(loader).parameters
    check_keywords(
        f"dataset kind {kind!r}", options, [k for k, p in params.items() if p.kind is p.KEYWORD_ONLY], "option"
    )
    if kind == "testbed":
        if root is not None:
            raise ValueError("dataset kind 'testbed' takes no root (its clips are generated)")
        ds = loader(**options)
    else:
        if root is None:
            raise ValueError(f"dataset kind {kind!r} needs a root folder (or manifest CSV)")
        ds = loader(root, **options)
    if name is not None:
        ds.name = name
    return ds
