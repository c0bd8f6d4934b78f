"""The report's paper tables on small generated campaign stores: bootstrap CI, verdicts, paper numbers, CSVs."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mesampler.campaign.store import COLUMNS, ResultStore, encode_history
from mesampler.reports.campaign import write_campaign_report
from mesampler.reports.campaign_paper import (
    counted,
    paired_counts,
    paired_ratio_ci,
    paper_tables,
    table_verdict,
    verdict,
)
from mesampler.reports.campaign_plots import gallery_rows
from mesampler.reports.campaign_tables import RESULT_COLUMNS
from mesampler.reports.paper_numbers import PAPER, paper_number


def row(method: str, video: str, queries: int, success: bool, **kw: Any) -> dict[str, Any]:
    """A result row as the campaign stores it (ME-Sampler defaults; ``kw`` overrides)."""
    r = {c: None for c in COLUMNS}
    r.update(
        dataset="clips", video_id=video, model="i3d-k400", method=method, setting="eps003", seed=0,
        attack=method, loss="logits", motion="-", targeted=0, eps=0.03, max_queries=500, attack_seed=0,
        params="{}", label=3, label_name="archery", target=None, adv_label=7 if success else 3,
        success=int(success), queries=queries, loss_queries=queries * 2 // 3, check_queries=queries // 3,
        clean_queries=1, iterations=queries // 3, linf=0.03, wall_time_s=1.0, batch_videos=1, clip_start=16,
        clip_frames=16, history=encode_history([(0, 1.0), (queries, 0.0)]), version="test", host="h",
        finished_at=time.time(), clean_prob=0.9, adv_prob=0.6, adv_label_name="sniffing" if success else "archery",
    )  # fmt: skip
    r.update(kw)
    return r


def store(tmp: Path, rows: list[dict[str, Any]]) -> Path:
    with ResultStore(tmp) as s:
        s.add_run({"models": [{"name": "i3d-k400", "ref": "i3d-k400"}], "seed": 0}, "test", {}, [])
        for r in rows:
            s.insert(r)
    return tmp


def decoded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "id": i} for i, r in enumerate(rows)]


def test_paired_bootstrap_ci_brackets_the_ratio_and_pairs_by_video() -> None:
    ref = [row("me-sampler", f"v{i}", 100, True) for i in range(20)]
    other = [row("e-nes", f"v{i}", 200 + 10 * (i % 3), True) for i in range(20)]
    ratio, lo, hi, pairs = paired_ratio_ci(other, ref)
    assert pairs == 20 and ratio == pytest.approx(np.mean([200 + 10 * (i % 3) for i in range(20)]) / 100)
    assert 2.0 <= lo <= ratio <= hi <= 2.2
    # a failure counts at the budget, and only videos attacked by both methods are paired
    ratio, lo, hi, pairs = paired_ratio_ci([row("e-nes", "v0", 50, False), row("e-nes", "x", 1, True)], ref)
    assert pairs == 1 and np.isnan(ratio) and np.isnan(lo)
    r2, *_ = paired_ratio_ci([row("e-nes", "v0", 50, False), row("e-nes", "v1", 100, True)], ref)
    assert r2 == pytest.approx((500 + 100) / 200)


def test_pairs_are_read_at_the_smaller_budget() -> None:
    # a floor capped at 200 meets the reference's first 200 queries: a reference success after 300 is a
    # failure at 200, one after 150 stays a success, and the capped method's own rows are unchanged
    ref = [row("me-sampler", "v0", 300, True), row("me-sampler", "v1", 150, True), row("me-sampler", "v2", 500, False)]
    floor = [row("random-noise", v, q, ok, max_queries=200) for v, q, ok in (("v0", 200, False), ("v1", 20, True),
                                                                              ("v2", 200, False))]  # fmt: skip
    a, b = paired_counts(floor, ref)
    assert a == [200, 20, 200] and b == [200, 150, 200]
    assert counted(ref[0]) == 300 and counted(ref[0], 200) == 200 and counted(ref[1], 200) == 150
    assert counted(ref[2], 1000) == 500  # a larger budget than the row's own reads it at its own
    ratio, *_ = paired_ratio_ci(floor, ref)
    assert ratio == pytest.approx(420 / 550)


def test_verdicts() -> None:
    assert verdict(1.1, 2.0, 20) == "reproduced" and verdict(0.5, 0.9, 20) == "reversed"
    assert verdict(0.9, 1.2, 20) == "not separable" and verdict(float("nan"), 1.0, 20) == "not separable"
    assert verdict(1.1, 2.0, pairs=2) == "not separable" and verdict(1.1, 2.0, pairs=5) == "reproduced"
    assert table_verdict(["reproduced", "reproduced"]) == "reproduced"
    assert table_verdict(["reproduced", "not separable"]) == "not separable"
    assert table_verdict(["reproduced", "reversed"]) == "reversed" and table_verdict([]) == "not separable"


def test_paper_tables_place_methods_and_show_the_papers_numbers() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        q = int(rng.integers(30, 60))
        rows += [
            row("me-sampler", f"v{i}", q, True, motion="mv"),
            row("me-sampler-of", f"v{i}", q + 1, True, attack="me-sampler", motion="flow"),
            row("e-nes", f"v{i}", 4 * q, i % 4 != 0),
            row("multi-noise", f"v{i}", q // 2, True),  # faster than ME-Sampler: reversed
            row("me-sampler-ce", f"v{i}", q + int(rng.integers(-20, 20)), True, attack="me-sampler",
                loss="cross-entropy", motion="mv"),
            row("square", f"v{i}", q, True),
        ]  # fmt: skip
    tables, verdicts = paper_tables(decoded(rows), {"i3d-k400": "i3d-k400"})
    by = {t.name: t for t in tables}
    assert set(by) == {"table2_eps003", "table3_eps003", "table5_eps003", "other_eps003"}
    assert by["table2_eps003"].extra["verdict"] == "reproduced"
    assert by["table3_eps003"].extra["verdict"] == "reversed"
    assert by["table5_eps003"].extra["verdict"] in ("not separable", "reproduced")
    assert by["other_eps003"].extra["verdict"] is None
    t2 = by["table2_eps003"]
    h = t2.header
    rows2 = {r[0]: dict(zip(h, r)) for r in t2.rows}
    assert rows2["me-sampler (reference)"]["paper ANQ"] == PAPER[(2, "Kinetics-400", "I3D", "ME-Sampler (MV)")][0]
    assert rows2["e-nes"]["paper row"] == "E-NES" and rows2["e-nes"]["paper ANQ"] == 11423
    assert rows2["e-nes"]["paper ratio"] == pytest.approx(round(11423 / 2717, 3))
    assert rows2["e-nes"]["SR %"] == pytest.approx(75.0) and "budget 60,000 (ours differs)" in t2.note
    assert {v[4]: v[-1] for v in verdicts.rows}["multi-noise"] == "reversed"
    # a setting that is not the paper's (eps 0.01) gets no paper numbers
    low = [{**r, "eps": 0.01, "setting": "eps001"} for r in decoded(rows)]
    t2low = {t.name: t for t in paper_tables(low, {"i3d-k400": "i3d-k400"})[0]}["table2_eps001"]
    assert all(r[t2low.header.index("paper ANQ")] is None for r in t2low.rows)
    assert paper_number(5, ("UCF-101", "TSN2D"), "Logits") == (6182, 100.0)


def test_report_csv_per_video_and_gallery_with_failures(tmp_path: Path) -> None:
    rows = [row("me-sampler", f"a.mp4@{i}", 30 + i, i != 2) for i in range(4)]
    rows += [row("e-bandits", f"a.mp4@{i}", 90 + i, i % 2 == 0) for i in range(4)]
    out = write_campaign_report(store(tmp_path / "c", rows), gallery=0)
    rep = Path(out["markdown"]).parent
    with open(rep / "results.csv") as f:
        res = list(csv.DictReader(f))
    assert list(res[0]) == RESULT_COLUMNS and len(res) == 8
    r0 = next(r for r in res if r["method"] == "me-sampler" and r["video_id"] == "a.mp4@2")
    assert (r0["success"], r0["queries_counted"], r0["clip"], r0["window"]) == ("0", "500", "a.mp4", "2: frames 16-31")
    assert float(r0["clean_prob"]) == pytest.approx(0.9) and r0["adv_label_name"] == "archery"
    with open(rep / "videos_eps003.csv") as f:
        vids = list(csv.DictReader(f))
    assert len(vids) == 4 and vids[2]["me-sampler"] == "500✗" and vids[2]["clean class"] == "archery"
    assert vids[1]["e-bandits"] == "500✗" and vids[0]["e-bandits"] == "90"
    md = Path(out["markdown"]).read_text()
    assert "Table 2: gradient estimators" in md and "Verdict:" in md and "log axis" in md
    picked = gallery_rows(decoded(rows), 3)
    assert [bool(r["success"]) for r in picked] == [True, False, True]


def test_older_store_gains_the_probability_columns(tmp_path: Path) -> None:
    import sqlite3

    d = tmp_path / "old"
    store(d, [row("me-sampler", "v", 3, True)])
    con = sqlite3.connect(d / "results.sqlite")
    con.execute("ALTER TABLE results DROP COLUMN adv_prob")
    con.commit()
    con.close()
    with ResultStore(d, create=False) as s:
        assert s.rows()[0]["adv_prob"] is None and json.loads(json.dumps(s.rows()[0]["params"])) == {}
