"""Something-Something V2: ``labels.json`` (``{"Approaching something with your camera": "0", ...}``),
``validation.json`` (``[{"id": "74225", "template": "Approaching [something] with your camera", ...}]``) and
``<id>.webm`` videos (in ``root``, ``root/20bn-something-something-v2`` or ``videos``).

An entry's class is its template with the brackets removed; classes are ordered by their index in labels.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mesampler.datasets.base import VideoDataset, VideoItem
from mesampler.datasets.files import find_dir, resolve_videos


def _json(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"Something-Something V2: {path} not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


def load_sthsth_v2(
    root: str | Path,
    *,
    annotations: str | Path | None = None,
    videos: str | Path | None = None,
    subset: str = "validation",
) -> VideoDataset:
    """The ``subset`` (``validation.json``) videos of Something-Something V2."""
    root = Path(root)
    ann = find_dir(root, annotations, ("", "annotations", "labels"), "labels.json", "Something-Something V2")
    labels = _json(ann / "labels.json")
    if not isinstance(labels, dict):
        raise ValueError(f"{ann / 'labels.json'}: expected an object {{class name: index}}")
    classes = sorted(labels, key=lambda c: int(labels[c]))
    entries = _json(ann / f"{subset}.json")
    if not isinstance(entries, list):
        raise ValueError(f"{ann / (subset + '.json')}: expected a list of entries")
    by_id = {}
    for e in entries:
        if not isinstance(e, dict) or "id" not in e or "template" not in e:
            raise ValueError(f"{ann / (subset + '.json')}: entries need 'id' and 'template', got {e!r}")
        name = str(e["template"]).replace("[", "").replace("]", "")
        if name not in labels:
            raise ValueError(f"{ann / (subset + '.json')}: template {name!r} of video {e['id']} is not in labels.json")
        by_id[str(e["id"])] = name
    rel = [f"{i}.webm" for i in by_id]
    base = find_dir(
        root,
        videos,
        ("", "20bn-something-something-v2", "videos"),
        rel[0] if rel else "",
        "Something-Something V2 videos",
    )
    items = [VideoItem(id=r[:-5], label=by_id[r[:-5]], path=p) for r, p in resolve_videos(base, rel, "SthSth-V2") if p]
    return VideoDataset("sthsth-v2", "sthsth-v2", classes, items, root=root, options={"subset": subset})
