"""SIGKILL safety: kill -9 a running `mesampler campaign run`, resume, and find no duplicate or half rows."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _count(db: Path) -> int:
    if not db.is_file():
        return 0
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            return int(con.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:  # schema not created yet
        return 0


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_then_resume(tmp_path):
    out = tmp_path / "c"
    config = str(ROOT / "examples" / "campaign_testbed.toml")
    argv = [sys.executable, "-m", "mesampler.cli.main", "campaign", "run", config,
            "--out", str(out), "--methods", "me-sampler", "--motion", "testbed", "--max-classes", "10",
            "--max-queries", "9", "--batch-videos", "1", "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = out / "results.sqlite"
    deadline = time.time() + 120
    while _count(db) < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, f"finished before it could be killed: {proc.stderr.read().decode()[-500:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _count(db)
    assert 3 <= killed_at < 10
    done = subprocess.run([*argv, "--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{killed_at} already stored, {10 - killed_at} stored now" in done.stdout
    con = sqlite3.connect(db)
    rows = con.execute("SELECT dataset, video_id, model, method, setting, seed, video_file FROM results").fetchall()
    assert len(rows) == 10 and len({r[:6] for r in rows}) == 10
    assert all((out / r[6]).is_file() for r in rows)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
