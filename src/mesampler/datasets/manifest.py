"""A plain CSV manifest: columns ``file,label`` (others ignored); ``file`` relative to the CSV's folder.

Rows with an empty label are skipped (an attack campaign needs the true class). ``label_column`` picks
another column as the label (e.g. ``kinetics400_class`` in a manifest that lists several namings).
"""

from __future__ import annotations

import csv
from pathlib import Path

from mesampler.datasets.base import VideoDataset, VideoItem
from mesampler.datasets.files import resolve_videos


def load_manifest(path: str | Path, *, videos: str | Path | None = None, label_column: str = "label") -> VideoDataset:
    """Videos listed in the CSV ``path`` (or ``path/MANIFEST.csv`` for a folder); classes sorted by name."""
    p = Path(path)
    if p.is_dir():
        p = p / "MANIFEST.csv"
    if not p.is_file():
        raise FileNotFoundError(f"manifest CSV {p} not found")
    with p.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not {"file", label_column} <= set(reader.fieldnames or []):
            raise ValueError(f"{p}: expected columns 'file,{label_column}', got {reader.fieldnames}")
        rows = [(r["file"].strip(), (r[label_column] or "").strip()) for r in reader if (r.get("file") or "").strip()]
    rows = [(f, lab) for f, lab in rows if lab]
    labels = dict(rows)
    if len(labels) != len(rows):
        raise ValueError(f"{p}: a file is listed twice")
    base = Path(videos) if videos is not None else p.parent
    items = [VideoItem(id=r, label=labels[r], path=q) for r, q in resolve_videos(base, labels, f"manifest {p}") if q]
    return VideoDataset(
        "manifest",
        "manifest",
        sorted(set(labels.values())),
        items,
        root=p.parent,
        options={"manifest": str(p), "label_column": label_column},
    )
