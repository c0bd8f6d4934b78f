"""HMDB-51: split files ``<class>_test_split<N>.txt`` (lines "<file>.avi <0|1|2>", 2 = test) and class folders.

Looked up under ``root``: split files in ``root``, ``root/testTrainMulti_7030_splits``, ``root/splits`` or
``annotations``; videos in ``root/<class>/`` or ``videos/<class>/``.
"""

from __future__ import annotations

from pathlib import Path

from mesampler.datasets.base import VideoDataset, VideoItem
from mesampler.datasets.files import check_split, dataset_root, read_lines, resolve_videos

TEST = "2"


def load_hmdb51(
    root: str | Path, *, split: int = 1, annotations: str | Path | None = None, videos: str | Path | None = None
) -> VideoDataset:
    """Test videos (flag 2) of split ``split`` (1-3) of HMDB-51 under ``root``."""
    check_split(split, "HMDB-51")
    root = dataset_root(root, "HMDB-51")
    suffix = f"_test_split{split}.txt"
    dirs = (
        [Path(annotations)] if annotations is not None else [root, root / "testTrainMulti_7030_splits", root / "splits"]
    )
    files = next((sorted(d.glob(f"*{suffix}")) for d in dirs if d.is_dir() and any(d.glob(f"*{suffix}"))), [])
    if not files:
        raise FileNotFoundError(f"HMDB-51: no '*{suffix}' split files in {', '.join(map(str, dirs))}")
    base = Path(videos) if videos is not None else root
    classes, rel = [], []
    for f in files:
        cls = f.name[: -len(suffix)]
        classes.append(cls)
        for n, line in enumerate(read_lines(f), 1):
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise ValueError(f"{f}:{n}: expected '<file> <0|1|2>', got {line!r}")
            if parts[1] == TEST:
                rel.append(f"{cls}/{parts[0]}")
    items = [VideoItem(id=r, label=r.split("/")[0], path=p) for r, p in resolve_videos(base, rel, "HMDB-51") if p]
    return VideoDataset("hmdb51", "hmdb51", classes, items, root=root, options={"split": split})
