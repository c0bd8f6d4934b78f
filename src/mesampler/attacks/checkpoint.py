"""Mid-attack checkpoints: a long attack killed part-way resumes where it stopped, with exact query counts.

:meth:`ScoreAttack.run <mesampler.attacks.base.ScoreAttack.run>` saves its whole state (the current videos, the
method's estimators and samplers with their random generators, the oracle's counters, histories) every
``every_s`` seconds, atomically; given an existing file it resumes from it instead of starting again. The resumed
run makes exactly the queries the uninterrupted one would have made after that point (tested), and the counts
include the queries spent before the interruption. Queries sent between the last save and the crash are sent
again on resume and counted once: the result describes the attack, not the wasted calls.

The file holds tensors and plain values only (each method's explicit ``state_dict``) and is read with
``torch.load(weights_only=True)``, which refuses any other object: a crafted file cannot run code. It is only
used when its fingerprint (method, loss, budget, epsilon, seeds, labels, targets, hyper-parameters and a digest
of the clean videos) matches the attack being run, so a checkpoint of another attack is refused with a clear
error instead of being resumed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import torch

FORMAT = 2
log = logging.getLogger(__name__)


def fingerprint(x0: torch.Tensor, **facts: Any) -> str:
    """Digest of the clean videos ``x0`` and the attack's settings (JSON-serialisable ``facts``)."""
    h = hashlib.sha256(x0.detach().cpu().contiguous().numpy().tobytes())
    h.update(json.dumps(facts, sort_keys=True, default=repr).encode())
    return h.hexdigest()


class Checkpoint:
    """A checkpoint file for one attack run. ``every_s``: seconds between saves (0: after every iteration).

    ``remove_when_done``: :func:`mesampler.attack_batch` deletes the file when the attack ends; a caller that
    still has outputs to write (the CLI) passes ``False`` and calls :meth:`clear` once they are on disk.
    """

    def __init__(self, path: str | os.PathLike[str], *, every_s: float = 60.0, remove_when_done: bool = True) -> None:
        self.path = Path(path)
        self.every_s = float(every_s)
        self.remove_when_done = remove_when_done
        self.key = ""  # the attack's fingerprint, set by the caller before the run
        self.disabled = False
        self._last = time.monotonic()

    def load(self) -> dict[str, Any] | None:
        """The saved state of the attack whose fingerprint is :attr:`key`, or ``None`` if there is no file."""
        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, weights_only=True, map_location="cpu")
        except Exception as e:  # noqa: BLE001 - any unreadable file gets the same clear message
            raise ValueError(f"{self.path}: not a readable mesampler checkpoint ({type(e).__name__}: {e})") from e
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"{self.path}: not a mesampler checkpoint (format {FORMAT})")
        if state.get("key") != self.key:
            raise ValueError(
                f"{self.path}: checkpoint of a different attack (video, method, settings or seeds differ); "
                "delete it or choose another output folder"
            )
        return state

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.every_s

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` atomically (a crash mid-write leaves the previous checkpoint intact).

        A state that cannot be saved turns checkpointing off with a warning; the attack itself goes on.
        """
        if self.disabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            torch.save({"format": FORMAT, "key": self.key, **state}, tmp)
        except Exception as e:  # noqa: BLE001 - pickling can fail in many ways; none may stop the attack
            tmp.unlink(missing_ok=True)
            self.disabled = True
            log.warning("checkpointing to %s turned off: the attack state cannot be saved (%s)", self.path, e)
            return
        os.replace(tmp, self.path)
        self._last = time.monotonic()

    def clear(self) -> None:
        """Remove the file (the run finished)."""
        self.path.unlink(missing_ok=True)
