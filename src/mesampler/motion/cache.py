"""On-disk cache of motion maps, keyed on the video's content (SHA-256) and the parameters, never on mtime.

Location: ``$MESAMPLER_CACHE`` if set, else ``$XDG_CACHE_HOME/mesampler``, else ``~/.cache/mesampler``; maps
live in its ``motion/`` folder as ``<key>.npz``. Writes are atomic (temporary file + rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from mesampler.paths import cache_dir

CACHE_VERSION = 2  # bump when the computation changes, so stale entries are never read
_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def cache_key(path: str | os.PathLike, params: dict) -> str:
    """Key for ``path``'s content under ``params`` (JSON-serialisable)."""
    blob = json.dumps({"v": CACHE_VERSION, "file": file_digest(path), "params": params}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


def _entry(key: str) -> Path:
    return cache_dir() / "motion" / f"{key}.npz"


def load(key: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under ``key``, or ``None`` (missing or unreadable entries count as misses)."""
    p = _entry(key)
    if not p.exists():
        return None
    try:
        with np.load(p) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError):
        return None


def store(key: str, arrays: dict[str, np.ndarray]) -> None:
    """Store ``arrays`` under ``key`` atomically; a cache that cannot be written is skipped silently."""
    p = _entry(key)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, allow_pickle=True, **arrays)
        os.replace(tmp, p)
    except OSError:
        return
