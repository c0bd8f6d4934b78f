"""Campaign results in SQLite (``DIR/results.sqlite``, WAL): the single source of truth.

``results``: one row per finished attack, UNIQUE on (dataset, video_id, model, method, setting, seed), inserted
in its own transaction, so a killed process loses only attacks in flight and never leaves half or duplicate
rows; a portfolio's member attribution (``broken_by``, ``members``) is part of its row. The adversarial clip
(``DIR/videos/<key>.npz``) is written, atomically, before its row is committed.
``clean``: the protocol's clean queries (one per candidate video and model), outside every attack's budget.
``runs``: one row per invocation (config, package version, machine).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

DB_NAME = "results.sqlite"
KEY = ("dataset", "video_id", "model", "method", "setting", "seed")

_SCHEMA_TEMPLATE = """
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    dataset TEXT NOT NULL, video_id TEXT NOT NULL, model TEXT NOT NULL, method TEXT NOT NULL,
    setting TEXT NOT NULL, seed INTEGER NOT NULL,
    attack TEXT NOT NULL, loss TEXT NOT NULL, motion TEXT NOT NULL, targeted INTEGER NOT NULL,
    eps REAL NOT NULL, max_queries INTEGER NOT NULL, attack_seed INTEGER NOT NULL, params TEXT NOT NULL,
    label INTEGER NOT NULL, label_name TEXT NOT NULL, target INTEGER, adv_label INTEGER NOT NULL,
    success INTEGER NOT NULL, queries INTEGER NOT NULL, loss_queries INTEGER NOT NULL,
    check_queries INTEGER NOT NULL, clean_queries INTEGER NOT NULL, iterations INTEGER NOT NULL,
    linf REAL NOT NULL, wall_time_s REAL NOT NULL, batch_videos INTEGER NOT NULL,
    clip_start INTEGER NOT NULL, clip_frames INTEGER NOT NULL, video_file TEXT,
    history BLOB NOT NULL, version TEXT NOT NULL, host TEXT NOT NULL, finished_at REAL NOT NULL,
    {added},
    UNIQUE (dataset, video_id, model, method, setting, seed)
);
CREATE TABLE IF NOT EXISTS clean (
    dataset TEXT NOT NULL, video_id TEXT NOT NULL, model TEXT NOT NULL, label INTEGER NOT NULL,
    prediction INTEGER NOT NULL, correct INTEGER NOT NULL, clip_start INTEGER NOT NULL, clip_frames INTEGER NOT NULL,
    queries INTEGER NOT NULL, finished_at REAL NOT NULL,
    UNIQUE (dataset, video_id, model)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_at REAL NOT NULL, config TEXT NOT NULL, version TEXT NOT NULL,
    environment TEXT NOT NULL, argv TEXT NOT NULL
);
"""

ADDED_COLUMNS = (
    ("clean_prob", "REAL"), ("adv_prob", "REAL"), ("adv_label_name", "TEXT"), ("broken_by", "TEXT"),
    ("members", "TEXT"), ("flicker", "REAL"), ("mode_share", "REAL"),
)  # fmt: skip
"""Result columns newer than the first schema (nullable): added to an older database when it is opened.
``clean_prob``/``adv_prob``: top-1 softmax probability of the clean and the adversarial clip. ``broken_by``:
:attr:`AttackResult.broken_by` (the portfolio member, or the method, that fooled the model; NULL if not fooled).
``members``: :attr:`AttackResult.members` as JSON (NULL for a single method; :meth:`ResultStore.rows` decodes it)."""

COLUMNS = (
    "dataset", "video_id", "model", "method", "setting", "seed", "attack", "loss", "motion", "targeted", "eps",
    "max_queries", "attack_seed", "params", "label", "label_name", "target", "adv_label", "success", "queries",
    "loss_queries", "check_queries", "clean_queries", "iterations", "linf", "wall_time_s", "batch_videos",
    "clip_start", "clip_frames", "video_file", "history", "version", "host", "finished_at",
    *(name for name, _ in ADDED_COLUMNS),
)  # fmt: skip

_SCHEMA = _SCHEMA_TEMPLATE.replace("{added}", ", ".join(f"{name} {kind}" for name, kind in ADDED_COLUMNS))


def encode_history(history: Iterable[tuple[int, float]]) -> bytes:
    """``[(queries, loss), ...]`` -> zlib-compressed float32 ``(n, 2)`` bytes (queries < 2**24 are exact)."""
    a = np.asarray(list(history), dtype=np.float32).reshape(-1, 2)
    return zlib.compress(a.tobytes(), 6)


def decode_history(blob: bytes) -> np.ndarray:
    """Inverse of :func:`encode_history`: ``(n, 2) float32`` rows ``(queries, loss)``."""
    return np.frombuffer(zlib.decompress(blob), dtype=np.float32).reshape(-1, 2)


def row_key(row: dict[str, Any]) -> tuple:
    return tuple(row[k] for k in KEY)


def key_name(key: tuple) -> str:
    """A file-name-safe, stable name for a result key."""
    return hashlib.sha1(json.dumps(list(key)).encode()).hexdigest()[:20]


class ResultStore:
    """The campaign database in ``directory`` (created if needed). One writer: the campaign driver."""

    def __init__(self, directory: str | os.PathLike, *, create: bool = True) -> None:
        self.dir = Path(directory)
        self.path = self.dir / DB_NAME
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"no campaign results in {self.dir} ({DB_NAME} not found)")
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "videos").mkdir(exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            if create:
                self.conn.executescript(_SCHEMA)
            self.conn.execute("SELECT COUNT(*) FROM results").fetchone()
            have = {r[1] for r in self.conn.execute("PRAGMA table_info(results)")}
            for name, kind in ADDED_COLUMNS:
                if name not in have:
                    self.conn.execute(f"ALTER TABLE results ADD COLUMN {name} {kind}")
        except sqlite3.DatabaseError as e:
            self.conn.close()
            raise ValueError(f"{self.path}: not a readable mesampler results database ({e})") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- results
    def finished_keys(self) -> set[tuple]:
        return {tuple(r) for r in self.conn.execute(f"SELECT {', '.join(KEY)} FROM results")}

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def save_video(self, key: tuple, arrays: dict[str, np.ndarray]) -> str:
        """Write ``arrays`` to ``videos/<key>.npz`` atomically; return the path relative to the directory."""
        rel = f"videos/{key_name(key)}.npz"
        tmp = self.dir / (rel + ".tmp.npz")
        np.savez_compressed(tmp, allow_pickle=True, **arrays)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / rel)
        return rel

    def insert(self, row: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> bool:
        """Store one finished attack (its clip first, then the row in one transaction).

        Returns ``False`` if the key was already there (the row is left as it was).
        """
        row = dict(row)
        if arrays is not None:
            row["video_file"] = self.save_video(row_key(row), arrays)
        row.setdefault("video_file", None)
        for name, _ in ADDED_COLUMNS:
            row.setdefault(name, None)
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise ValueError(f"result row lacks {missing}")
        sql = f"INSERT OR IGNORE INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        with self._transaction():
            cur = self.conn.execute(sql, [row[c] for c in COLUMNS])
        return cur.rowcount == 1

    def rows(self, *, history: bool = False) -> list[dict[str, Any]]:
        """All result rows as dicts (``params`` and ``members`` decoded; ``history`` decoded to ``(n, 2)`` arrays
        if asked)."""
        out = []
        for r in self.conn.execute("SELECT * FROM results ORDER BY id"):
            d = dict(r)
            d["params"] = json.loads(d["params"])
            d["members"] = json.loads(d["members"]) if d["members"] else None
            d["history"] = decode_history(d["history"]) if history else None
            out.append(d)
        return out

    def merge_from(self, directory: str | os.PathLike) -> int:
        """Add the results, clean queries and runs of the campaign store in ``directory`` (the same campaign run
        elsewhere, e.g. on a GPU machine) that this one lacks, with their clips where present; returns how many
        results were new. A key already here keeps its row."""
        with ResultStore(directory, create=False) as other:
            new = 0
            for r in other.conn.execute("SELECT * FROM results ORDER BY id"):
                row = {c: r[c] for c in COLUMNS}
                src = other.dir / row["video_file"] if row["video_file"] else None
                if src is not None and src.is_file() and not self._has(row_key(row)):
                    with np.load(src) as z:
                        arrays = {k: z[k] for k in z.files}
                    new += self.insert(row, arrays)
                else:
                    new += self.insert({**row, "video_file": None})
            self.add_clean(other.clean_rows())
            have = {(r["started_at"], r["config"]) for r in self.runs()}
            for run in other.runs():
                if (run["started_at"], run["config"]) not in have:
                    with self._transaction():
                        self.conn.execute(
                            "INSERT INTO runs (started_at, config, version, environment, argv) VALUES (?, ?, ?, ?, ?)",
                            [run[k] for k in ("started_at", "config", "version", "environment", "argv")],
                        )
        return new

    def _has(self, key: tuple) -> bool:
        q = f"SELECT 1 FROM results WHERE {' AND '.join(f'{k} = ?' for k in KEY)}"
        return self.conn.execute(q, key).fetchone() is not None

    # -- clean queries of the protocol
    def clean(self, dataset: str, model: str) -> dict[str, dict[str, Any]]:
        q = "SELECT * FROM clean WHERE dataset = ? AND model = ?"
        return {r["video_id"]: dict(r) for r in self.conn.execute(q, (dataset, model))}

    def add_clean(self, rows: list[dict[str, Any]]) -> None:
        cols = ("dataset", "video_id", "model", "label", "prediction", "correct", "clip_start", "clip_frames",
                "queries", "finished_at")  # fmt: skip
        with self._transaction():
            self.conn.executemany(
                f"INSERT OR IGNORE INTO clean ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [[r[c] for c in cols] for r in rows],
            )

    def clean_rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM clean ORDER BY dataset, model, video_id")]

    # -- runs
    def add_run(self, config: dict[str, Any], version: str, environment: dict[str, Any], argv: list[str]) -> None:
        with self._transaction():
            self.conn.execute(
                "INSERT INTO runs (started_at, config, version, environment, argv) VALUES (?, ?, ?, ?, ?)",
                (
                    time.time(),
                    json.dumps(config, default=str),
                    version,
                    json.dumps(environment, default=str),
                    json.dumps(argv),
                ),
            )

    def runs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM runs ORDER BY id")]

    def _transaction(self) -> _Tx:
        return _Tx(self.conn)


class _Tx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
