"""Small helpers shared by the dataset loaders: finding annotation files and videos under a root."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

log = logging.getLogger("mesampler.datasets")

VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".gif", ".m4v", ".mpg", ".mpeg")


def read_lines(path: Path) -> list[str]:
    """Non-empty stripped lines of a text file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"annotation file not found: {path}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def dataset_root(root: str | Path, what: str) -> Path:
    """``root`` as a path; ``FileNotFoundError`` naming the dataset when it is not a folder."""
    path = Path(root)
    if not path.is_dir():
        raise FileNotFoundError(f"{what}: dataset root {path} is not a directory")
    return path


def check_split(split: int, what: str) -> None:
    """Splits 1-3 of UCF-101 and HMDB-51."""
    if split not in (1, 2, 3):
        raise ValueError(f"{what} split must be 1, 2 or 3, got {split!r}")


def find_dir(root: Path, given: str | Path | None, subdirs: Sequence[str], marker: str, what: str) -> Path:
    """The folder holding ``marker``: ``given`` if set, else the first of ``root/<subdir>`` that has it."""
    dataset_root(root, what)
    candidates = [Path(given)] if given is not None else [root / s for s in subdirs]
    for c in candidates:
        if (c / marker).exists():
            return c
    where = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"{what}: {marker or 'the folder'} not found in {where}")


def find_file(folder: Path, name: str, what: str) -> Path:
    p = folder / name
    if not p.is_file():
        raise FileNotFoundError(f"{what}: {p} not found")
    return p


def resolve_videos(base: Path, rel: Iterable[str], what: str) -> list[tuple[str, Path | None]]:
    """``(rel, base / rel or None if missing)``; missing files are logged, and none found at all is an error."""
    out = [(r, (base / r) if (base / r).is_file() else None) for r in rel]
    missing = [r for r, p in out if p is None]
    if out and len(missing) == len(out):
        raise FileNotFoundError(f"{what}: none of the {len(out)} listed videos exist under {base} (e.g. {missing[0]})")
    if missing:
        log.warning(
            "%s: %d of %d listed videos are missing under %s (e.g. %s); skipped",
            what,
            len(missing),
            len(out),
            base,
            missing[0],
        )
    return out
