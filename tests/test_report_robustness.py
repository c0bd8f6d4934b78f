"""Member attribution in the campaign store (``broken_by``, ``members``) and the report's robustness summary:
robust accuracy, queries-to-fool quartiles, the breaking member of each ``auto`` video and the random-noise floor,
checked against numbers recomputed here from the store."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from mesampler.attacks import attack_params
from mesampler.campaign import ResultStore, read_config, run_campaign
from mesampler.campaign.store import ADDED_COLUMNS
from mesampler.reports.campaign import write_campaign_report
from mesampler.reports.campaign_tables import clean_check, fmt
from test_report_paper import row, store

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = list(attack_params("auto")["members"])


def quantile(values: list[float], p: float) -> float:
    """Linear-interpolation quantile of ``values`` (written out here, independently of numpy)."""
    v = sorted(values)
    pos = p * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (pos - lo) * (v[hi] - v[lo])


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def members_json(broke: str | None, queries: int) -> str:
    """An ``auto`` members record: ``queries`` spent by the breaking member (all by the last if none broke)."""
    spend = broke or MEMBERS[-1]
    return json.dumps([
        {"method": m, "share": 1 / 3, "queries": queries if m == spend else 0, "loss_queries": 0,
         "check_queries": queries if m == spend else 0, "iterations": 1, "broke": m == broke}
        for m in MEMBERS
    ])  # fmt: skip


def broken(counts: dict[str, int]) -> str:
    """The report's "broken by" cell: every member once, in the portfolio's order, with its count."""
    return ", ".join(f"{m} {counts.get(m, 0)}" for m in dict.fromkeys(MEMBERS))


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``auto`` and ``random-noise`` on three test-bed videos, 40 queries each, and its report."""
    out = tmp_path_factory.mktemp("robust") / "c"
    cfg = read_config(
        ROOT / "examples" / "campaign_testbed.toml",
        datasets=[{"name": "testbed", "videos": 30}],
        methods=[{"name": "auto", "motion": "testbed"}, {"name": "random-noise"}],
        max_classes=3, max_queries=40, settings=["untargeted"], gallery=0,
    )  # fmt: skip
    run_campaign(cfg, out, progress=False)
    write_campaign_report(out)
    return out


def test_campaign_stores_which_member_broke_each_video(campaign: Path) -> None:
    con = sqlite3.connect(campaign / "results.sqlite")
    cols = {r[1]: r[2] for r in con.execute("PRAGMA table_info(results)")}
    raw = {(r[0], r[1]): r[2] for r in con.execute("SELECT method, video_id, members FROM results")}
    con.close()
    assert cols["broken_by"] == "TEXT" and cols["members"] == "TEXT"
    with ResultStore(campaign) as s:
        rows = s.rows()
    assert sorted({r["method"] for r in rows}) == ["auto", "random-noise"] and len(rows) == 6
    assert any(r["success"] for r in rows if r["method"] == "auto")  # (seeded) so attribution is exercised
    for r in rows:
        if r["method"] == "random-noise":
            assert r["members"] is None and raw[(r["method"], r["video_id"])] is None
            assert r["broken_by"] == ("random-noise" if r["success"] else None)
            continue
        m = r["members"]
        assert json.loads(raw[("auto", r["video_id"])]) == m
        assert [x["method"] for x in m] == MEMBERS
        assert sum(x["queries"] for x in m) == r["queries"]  # members' queries are the row's (no clean query)
        assert sum(x["loss_queries"] for x in m) == r["loss_queries"]
        broke = [x["method"] for x in m if x["broke"]]
        assert broke == ([r["broken_by"]] if r["success"] else []) and (r["broken_by"] is None) == (not r["success"])


def test_robustness_summary_matches_the_store(campaign: Path) -> None:
    with ResultStore(campaign) as s:
        rows = s.rows()
        clean = s.clean_rows()
    assert all(c["correct"] for c in clean if c["video_id"] in {r["video_id"] for r in rows})
    rep = campaign / "report"
    table = {r["method"]: r for r in read_csv(rep / "robustness_untargeted_testbed_testbed-motion.csv")}
    assert set(table) == {"auto", "random-noise"}
    for method, line in table.items():
        g = [r for r in rows if r["method"] == method]
        fooled = [float(r["queries"]) for r in g if r["success"]]
        assert int(line["videos"]) == len(g) == 3 and int(line["fooled"]) == len(fooled)
        assert float(line["robust accuracy"]) == pytest.approx(round((len(g) - len(fooled)) / len(g), 3))
        for col, p in (("q25", 0.25), ("median queries", 0.5), ("q75", 0.75), ("max queries", 1.0)):
            assert (line[col] == "") if not fooled else float(line[col]) == pytest.approx(quantile(fooled, p))
        assert line["role"] == ("floor" if method == "random-noise" else "")
    counts = {m: sum(1 for r in rows if r["method"] == "auto" and r["broken_by"] == m) for m in MEMBERS}
    assert table["auto"]["broken by"] == ", ".join(f"{m} {n}" for m, n in counts.items())
    assert table["random-noise"]["broken by"] == ""

    md = (rep / "report.md").read_text()
    page = (rep / "report.html").read_text()
    floor = table["random-noise"]
    sentence = f"random-noise robust accuracy {float(floor['robust accuracy']):.3f}"
    assert "## Robustness summary" in md and md.index("## Robustness summary") < md.index("## Tables")
    assert "<h2>Robustness summary</h2>" in page and sentence in md and sentence in page
    assert "Robustness: testbed / testbed-motion / untargeted" in page

    videos = {r["clip"]: r for r in read_csv(rep / "videos_untargeted.csv")}
    results = {(r["method"], r["video_id"]): r for r in read_csv(rep / "results.csv")}
    for r in rows:
        cell = videos[r["video_id"]][r["method"]]
        if not r["success"]:
            assert cell == "40✗"
        else:
            assert cell == (f"{r['queries']} ({r['broken_by']})" if r["method"] == "auto" else str(r["queries"]))
        assert results[(r["method"], r["video_id"])]["broken_by"] == (r["broken_by"] or "")


def test_summary_numbers_floor_and_misclassified_videos(tmp_path: Path) -> None:
    """Hand-made rows: quartiles, member counts, the floor line, a setting without random noise, and a video
    the clean table records as misclassified (left out)."""
    spec = [("random-noise", 1), ("me-sampler", 30), ("me-sampler", 50), ("square", 400), (None, 0), (None, 0)]
    rows = []
    for i, (by, q) in enumerate(spec):
        ok = by is not None
        rows.append(row("auto", f"v{i}", q if ok else 500, ok, attack="auto", broken_by=by,
                        members=members_json(by, q if ok else 500)))  # fmt: skip
        rows.append(row("random-noise", f"v{i}", 3 + i, i in (0, 2), attack="random-noise", max_queries=200,
                        broken_by="random-noise" if i in (0, 2) else None))  # fmt: skip
    rows.append(row("auto", "v0", 7, True, attack="auto", setting="other", broken_by="square",
                    members=members_json("square", 7)))  # fmt: skip
    d = store(tmp_path / "c", rows)
    with ResultStore(d) as s:
        wrong = {"dataset": "clips", "video_id": "v5", "model": "i3d-k400", "label": 3, "prediction": 1,
                 "correct": 0, "clip_start": 16, "clip_frames": 16, "queries": 1, "finished_at": 0.0}  # fmt: skip
        s.add_clean([wrong])
    out = write_campaign_report(d, gallery=0)
    rep = Path(out["markdown"]).parent
    t = {r["method"]: r for r in read_csv(rep / "robustness_eps003_clips_i3d-k400.csv")}
    a = t["auto"]
    assert (a["budget"], a["videos"], a["fooled"], float(a["robust accuracy"])) == ("500", "5", "4", 0.2)
    assert [float(a[c]) for c in ("median queries", "q25", "q75", "max queries")] == [40.0, 22.75, 137.5, 400.0]
    assert a["broken by"] == broken({"random-noise": 1, "me-sampler": 2, "square": 1})
    f = t["random-noise"]
    assert (f["role"], f["budget"], f["videos"], f["fooled"], float(f["robust accuracy"])) == (
        "floor",
        "200",
        "5",
        "2",
        0.6,
    )
    assert [float(f[c]) for c in ("median queries", "q25", "q75", "max queries")] == [4.0, 3.5, 4.5, 5.0]
    md = Path(out["markdown"]).read_text()
    assert "Floor (random-noise): random-noise robust accuracy 0.600 (2 of 5 fooled within 200 queries)." in md
    assert "query counts exclude the attack's clean-label check" in md  # the rows' clean_queries are 1
    other = read_csv(rep / "robustness_other_clips_i3d-k400.csv")
    assert [(r["method"], r["robust accuracy"], r["broken by"]) for r in other] == [
        ("auto", "0.0", broken({"square": 1}))
    ]
    assert "No random-noise run: no floor to compare with." in md
    vids = {r["clip"]: r for r in read_csv(rep / "videos_eps003.csv")}
    assert (
        vids["v1"]["auto"] == "30 (me-sampler)" and vids["v4"]["auto"] == "500✗" and vids["v0"]["random-noise"] == "3"
    )


def test_old_database_gains_the_attribution_columns(tmp_path: Path) -> None:
    """A store of the first schema (every added column dropped) is migrated when opened; its rows read as
    unattributed and the report still runs."""
    d = store(tmp_path / "old", [row("auto", "v0", 9, True, attack="auto"), row("random-noise", "v0", 4, False)])
    con = sqlite3.connect(d / "results.sqlite")
    for name, _ in ADDED_COLUMNS:
        con.execute(f"ALTER TABLE results DROP COLUMN {name}")
    con.commit()
    assert not {"broken_by", "members"} & {r[1] for r in con.execute("PRAGMA table_info(results)")}
    con.close()
    with ResultStore(d, create=False) as s:
        have = {r[1] for r in s.conn.execute("PRAGMA table_info(results)")}
        assert {name for name, _ in ADDED_COLUMNS} <= have
        old = s.rows()
        assert [(r["broken_by"], r["members"]) for r in old] == [(None, None), (None, None)]
        s.insert(row("auto", "v1", 12, True, attack="auto", broken_by="square", members=members_json("square", 12)))
        new = s.rows()[-1]
    assert new["broken_by"] == "square" and [m["method"] for m in new["members"]] == MEMBERS
    out = write_campaign_report(d, gallery=0)
    rep = Path(out["markdown"]).parent
    t = {r["method"]: r for r in read_csv(rep / "robustness_eps003_clips_i3d-k400.csv")}
    assert t["auto"]["broken by"] == broken({"square": 1}) + ", unknown 1"
    vids = {r["clip"]: r for r in read_csv(rep / "videos_eps003.csv")}
    assert vids["v0"]["auto"] == "9" and vids["v1"]["auto"] == "12 (square)"
    assert {r["video_id"]: r["broken_by"] for r in read_csv(rep / "results.csv") if r["method"] == "auto"} == {
        "v0": "",
        "v1": "square",
    }


def test_cells_read_alike_and_clean_check_follows_the_rows() -> None:
    """Whole floats keep a decimal (a median column reads 7.0 beside 49.0); the clean-check sentence says
    what each setting's rows did (``clean_queries`` 0: counted against the budget)."""
    assert [fmt(v) for v in (7.0, 49.0, 3.25, 0.123456, 1234.56, 3, None, float("nan"))] == [
        "7.0", "49.0", "3.25", "0.123", "1234.6", "3", "-", "-"
    ]  # fmt: skip
    inside = row("me-sampler", "v0", 9, True, clean_queries=0)
    outside = row("me-sampler", "v0", 9, True, clean_queries=1, setting="eps001")
    assert "include" in clean_check([inside]) and "exclude" in clean_check([outside])
    assert clean_check([inside, outside]).startswith(
        "query counts include the attack's clean-label check in setting(s) eps003"
    )
