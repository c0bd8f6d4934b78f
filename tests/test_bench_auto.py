"""The test-bed portfolio benchmark's bookkeeping (``benchmarks/bench_auto.py``): its candidates come from the
real-model campaign file, and ``--pool`` summarises several seed runs as one paired set. No attack runs here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from benchmod import load_benchmark


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("bench_auto")


def test_candidates_are_the_campaign_auto_arms(bench: ModuleType) -> None:
    found = bench.campaign_candidates()
    sq25 = {"members": ("square", "me-sampler", "square"), "shares": (0.025, 0.6, 0.375), "streams": "video"}
    assert found["auto-sq25"] == sq25
    assert found["auto-v1"]["schedule"] == "share"  # differs from the default portfolio only by that rule
    assert set(found) <= set(bench.CANDIDATES) and set(found) <= set(bench.arms())
    assert bench.method_of("square-frame") == ("square", {"stripes": "frame"})
    assert bench.method_of("auto-sq25") == ("auto", found["auto-sq25"])


def test_pool_pairs_clips_within_their_run(bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of two clips: clip 0 of run a and clip 0 of run b are different pairs (four in all)."""
    monkeypatch.setattr(bench, "OUT", tmp_path)
    for name, q_auto, q_rn in (("a", (10, 20), (40, 1000)), ("b", (30, 40), (60, 80))):
        with (tmp_path / f"{name}.jsonl").open("w") as f:
            for video in (0, 1):
                for method, q in (("auto", q_auto[video]), ("random-noise", q_rn[video])):
                    f.write(json.dumps({"model": "fp32", "method": method, "video": video, "status": "ok",
                                        "success": q < 1000, "queries": q, "broken_by": None}) + "\n")  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["bench_auto.py", "--pool", "a,b", "--name", "pooled"])
    assert bench.main() == 0
    table = {e["method"]: e for e in json.loads((tmp_path / "pooled.json").read_text())["table"]}
    assert table["auto"]["videos"] == 4 and table["auto"]["ANQ_all"] == 25.0
    assert table["random-noise"]["fooled"] == 3 and table["random-noise"]["ANQ_all"] == 295.0
    assert table["random-noise"]["ANQ_ratio_to_auto"]["paired"] == 4
    assert "2 runs (a, b)" in (tmp_path / "pooled.md").read_text()


def test_a_rerun_under_changed_parameters_is_refused(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stored ``auto`` row that ran with other members than today's default stops a rerun of that arm before
    any attack (its rows would be mixed with new ones); rows record everything their attack ran with."""
    monkeypatch.setattr(bench, "OUT", tmp_path)
    params = {**bench.arm_params("auto"), "members": ["square"], "shares": [1.0]}
    row = {"model": "fp32", "method": "auto", "video": 0, "status": "ok", "success": True, "queries": 5,
           "broken_by": "square", "params": params}  # fmt: skip
    (tmp_path / "old.jsonl").write_text(json.dumps(row) + "\n")
    monkeypatch.setattr(sys, "argv", ["bench_auto.py", "--name", "old", "--arms", "auto", "--videos", "1"])
    with pytest.raises(SystemExit):
        bench.main()
    assert "other parameters" in capsys.readouterr().err
    assert bench.run_params([row], "auto") == params
    assert bench.arm_params("square-frame")["stripes"] == "frame"
    assert bench.arm_params("auto-v1")["schedule"] == "share"
