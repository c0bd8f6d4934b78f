"""UCF-101: ``classInd.txt`` ("1 ApplyEyeMakeup"), ``testlist0N.txt`` ("ApplyEyeMakeup/v_..._g01_c01.avi"),
class folders of ``.avi`` files.

Looked up under ``root``: the split files in ``root``, ``root/ucfTrainTestlist`` or ``annotations``; the videos
in ``root``, ``root/UCF-101`` or ``videos``.
"""

from __future__ import annotations

from pathlib import Path

from mesampler.datasets.base import VideoDataset, VideoItem
from mesampler.datasets.files import check_split, find_dir, find_file, read_lines, resolve_videos


def load_ucf101(
    root: str | Path, *, split: int = 1, annotations: str | Path | None = None, videos: str | Path | None = None
) -> VideoDataset:
    """Test split ``split`` (1-3) of UCF-101 under ``root``."""
    check_split(split, "UCF-101")
    root = Path(root)
    ann = find_dir(root, annotations, ("", "ucfTrainTestlist"), "classInd.txt", "UCF-101")
    classes = []
    for n, line in enumerate(read_lines(ann / "classInd.txt"), 1):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f"{ann / 'classInd.txt'}:{n}: expected '<index> <ClassName>', got {line!r}")
        classes.append(parts[1])
    test = find_file(ann, f"testlist0{split}.txt", "UCF-101")
    rel = [line.split()[0] for line in read_lines(test)]
    for r in rel:
        if "/" not in r:
            raise ValueError(f"{test}: expected entries '<Class>/<file>.avi', got {r!r}")
    base = find_dir(root, videos, ("", "UCF-101", "videos"), rel[0] if rel else "", "UCF-101 videos")
    items = [
        VideoItem(id=r, label=r.split("/")[0], path=p) for r, p in resolve_videos(base, rel, "UCF-101") if p is not None
    ]
    unknown = sorted({it.label for it in items} - set(classes))
    if unknown:
        raise ValueError(f"{test}: classes {unknown[:5]} are not in classInd.txt")
    return VideoDataset("ucf101", "ucf101", classes, items, root=root, options={"split": split})
