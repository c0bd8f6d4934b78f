"""A plain CSV manifest: columns ``file,label`` (others ignored); ``file`` relative to the CSV's folder.

Rows with an empty label are skipped (an attack campaign needs the true class). ``label_column`` picks
another column as the label (e.g. ``kinetics400_class`` in a manifest that lists several namings).

``windows = n`` (with ``stride``, in frames) makes each file ``n`` items, ``FILE@k`` for its window ``k``
(:class:`~mesampler.datasets.clip.Window`: ``n`` slots of ``stride`` frames centred in the video); windows
whose slot does not lie inside the video are left out. The protocol then treats every window as a video.
Items are listed file by file; ``window_order`` (a permutation of ``0..n-1``) lists them window by window
instead, round-robin over the files: every file's window ``window_order[0]``, then every file's
``window_order[1]``, ... (the order of ``benchmarks/bench_i3d_attack.py``, for an in-order selection).
"""

from __future__ import annotations

import csv
from pathlib import Path

from mesampler.datasets.base import VideoDataset, VideoItem
from mesampler.datasets.clip import Window, frame_count
from mesampler.datasets.files import resolve_videos


def load_manifest(
    path: str | Path,
    *,
    videos: str | Path | None = None,
    label_column: str = "label",
    windows: int = 1,
    stride: int | None = None,
    window_order: list[int] | None = None,
) -> VideoDataset:
    """Videos listed in the CSV ``path`` (or ``path/MANIFEST.csv`` for a folder); classes sorted by name.

    ``windows`` > 1 needs ``stride`` (frames between window starts): one item per window (module docstring).
    """
    if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
        raise ValueError(f"manifest {path}: windows must be an integer >= 1, got {windows!r}")
    if windows > 1 and (isinstance(stride, bool) or not isinstance(stride, int) or stride < 1):
        raise ValueError(f"manifest {path}: windows = {windows} needs stride, an integer >= 1 (frames), got {stride!r}")
    if window_order is not None and sorted(window_order) != list(range(windows)):
        raise ValueError(
            f"manifest {path}: window_order must be a permutation of 0..{windows - 1}, got {window_order!r}"
        )
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
    found = [(r, q) for r, q in resolve_videos(base, labels, f"manifest {p}") if q]
    if windows == 1:
        items = [VideoItem(id=r, label=labels[r], path=q) for r, q in found]
    else:
        assert stride is not None
        items = []
        for r, q in found:
            n = frame_count(q)
            for k in range(windows):
                w = Window(k, windows, stride)
                if w.fits(n):
                    items.append(VideoItem(id=f"{r}@{k}", label=labels[r], path=q, window=w, source=r))
        if window_order is not None:
            rank = {k: i for i, k in enumerate(window_order)}
            items.sort(key=lambda it: rank[it.window.index] if it.window else 0)  # stable: files keep their order
    options = {"manifest": str(p), "label_column": label_column, "windows": windows, "stride": stride,
               "window_order": window_order}  # fmt: skip
    return VideoDataset("manifest", "manifest", sorted(set(labels.values())), items, root=p.parent, options=options)
