"""Where mesampler keeps what it computes or downloads once (motion maps, converted weights)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "MESAMPLER_CACHE"


def cache_dir() -> Path:
    """The cache root (not created).

    ``$MESAMPLER_CACHE``, else ``$XDG_CACHE_HOME/mesampler``, else ``~/.cache/mesampler``.
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "mesampler"
