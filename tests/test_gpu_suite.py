"""``benchmarks/gpu_suite.sh --tiny`` runs end to end on the CPU, so the GPU script cannot rot."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_suite_tiny(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    p = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_suite.sh"), "--tiny", "--out", str(tmp_path),
                        "--bench-minutes", "2"], capture_output=True, text=True, env=env, timeout=400)  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    assert "work unit(s)" in p.stdout and "campaign wall time" in p.stdout
    assert "benchmark campaign: finished; merge with: mesampler campaign merge" in p.stdout
    g = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert [t["batch"] for t in g["throughput"]] == [1, 4] and g["engine"]["split"]["model_calls"] > g["engine"][
        "batched"]["model_calls"]  # fmt: skip
    assert 0 <= g["precision"]["bf16_autocast"]["sign_agreement"] <= 1 and "tf32" not in g["precision"]
    assert (tmp_path / "bench" / "results.sqlite").is_file() and (tmp_path / "bench_gpu.md").is_file()
    with open(tmp_path / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and {r["method"] for r in rows} == {"me-sampler", "one-noise"}
    assert (tmp_path / "report.md").is_file() and (tmp_path / "environment.json").is_file()
    bad = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_suite.sh"), "--bogus"], capture_output=True,
                         text=True, env=env)  # fmt: skip
    assert bad.returncode == 2 and "unknown argument --bogus" in bad.stderr
