"""Kinetics-400: an annotation CSV ``label,youtube_id,time_start,time_end,split`` and a folder of trimmed clips
named ``<youtube_id>_<time_start:06d>_<time_end:06d>.<ext>`` (any depth below the folder, e.g. class folders).

``annotations``: the CSV (default: the only ``*.csv`` in ``root``, else ``validate.csv``/``val.csv``/``test.csv``).
``split``: keep only rows whose ``split`` column equals it (``None``: every row of the file).
"""

from __future__ import annotations

import csv
from pathlib import Path

from mesampler.datasets.base import VideoDataset, VideoItem
from mesampler.datasets.files import VIDEO_SUFFIXES, log

COLUMNS = ("label", "youtube_id", "time_start", "time_end")


def clip_stem(youtube_id: str, start: float | str, end: float | str) -> str:
    """File stem of a trimmed Kinetics clip: ``<id>_<start:06d>_<end:06d>``."""
    return f"{youtube_id}_{int(float(start)):06d}_{int(float(end)):06d}"


def _annotation_file(root: Path, given: str | Path | None) -> Path:
    if given is not None:
        p = Path(given) if Path(given).is_absolute() or Path(given).exists() else root / given
        if not p.is_file():
            raise FileNotFoundError(f"Kinetics-400: annotation CSV {p} not found")
        return p
    csvs = sorted(root.glob("*.csv"))
    if len(csvs) == 1:
        return csvs[0]
    for name in ("validate.csv", "val.csv", "test.csv"):
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(f"Kinetics-400: no annotation CSV in {root}; pass annotations=<file>")


def load_kinetics400(
    root: str | Path,
    *,
    annotations: str | Path | None = None,
    videos: str | Path | None = None,
    split: str | None = None,
) -> VideoDataset:
    """Kinetics-400 clips listed in the annotation CSV and present under ``videos`` (default ``root``)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Kinetics-400: dataset root {root} is not a directory")
    ann = _annotation_file(root, annotations)
    with ann.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{ann}: missing column(s) {missing}; expected label,youtube_id,time_start,time_end,split")
        rows = [r for r in reader if split is None or r.get("split") == split]
    base = Path(videos) if videos is not None else root
    files = {p.stem: p for p in base.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()}
    classes = sorted({r["label"] for r in rows})
    items, absent = [], 0
    for n, r in enumerate(rows, 2):
        try:
            stem = clip_stem(r["youtube_id"], r["time_start"], r["time_end"])
        except ValueError:
            raise ValueError(
                f"{ann}:{n}: time_start/time_end must be numbers, got {r['time_start']!r}, {r['time_end']!r}"
            ) from None
        if stem in files:
            items.append(VideoItem(id=stem, label=r["label"], path=files[stem]))
        else:
            absent += 1
    if rows and not items:
        raise FileNotFoundError(f"Kinetics-400: none of the {len(rows)} clips of {ann} found under {base}")
    if absent:
        log.warning("Kinetics-400: %d of %d annotated clips missing under %s; skipped", absent, len(rows), base)
    return VideoDataset("kinetics400", "kinetics400", classes, items, root=root, options={"split": split})
