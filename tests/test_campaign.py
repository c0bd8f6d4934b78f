"""Campaign config, protocol rules, SQLite store and resumption, on the test-bed with tiny budgets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from mesampler.campaign import ResultStore, read_config, run_campaign
from mesampler.campaign.protocol import candidate_order, select_videos, target_for
from mesampler.campaign.runner import pending
from mesampler.campaign.store import decode_history
from mesampler.cli.main import main
from mesampler.datasets import load_dataset

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "campaign_testbed.toml"


def tiny(**kw):
    """2 classes, ME-Sampler with ground-truth motion, 15 queries: a few seconds on a loaded CPU."""
    args = dict(
        datasets=[{"name": "testbed", "videos": 20}],
        methods=[{"name": "me-sampler", "motion": "testbed"}],
        max_classes=2,
        max_queries=15,
        settings=["untargeted"],
    )
    args.update(kw)
    return read_config(EXAMPLE, **args)


def test_example_config_reads():
    c = read_config(EXAMPLE)
    assert [m.name for m in c.methods] == ["me-sampler", "me-sampler-mv", "multi-noise", "one-noise"]
    assert c.methods[1].method == "me-sampler" and c.methods[1].motion == "clip"
    assert c.models[0].options == {"batch_size": 64}
    assert [(s.name, s.eps, s.max_queries) for s in c.settings] == [("untargeted", 0.03, 3000)]
    c2 = read_config(EXAMPLE, settings=["untargeted", "targeted"], max_queries=99, seed=3)
    assert [(s.targeted, s.max_queries) for s in c2.settings] == [(False, 99), (True, 99)] and c2.seed == 3


def test_config_defaults_are_the_papers():
    c = read_config(None, models=["testbed-motion"], datasets=["testbed"], methods=["me-sampler"],
                    settings=["untargeted", "targeted"])  # fmt: skip
    assert [(s.eps, s.max_queries) for s in c.settings] == [(0.03, 60_000), (0.05, 200_000)]
    assert c.videos_per_class == 1


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[campain]\nseed = 1\n")
    with pytest.raises(ValueError, match="unknown section"):
        read_config(bad)
    bad.write_text("[campaign]\nseeds = 1\n")
    with pytest.raises(ValueError, match="unknown \\[campaign\\] key"):
        read_config(bad)
    bad.write_text("[campaign\n")
    with pytest.raises(ValueError, match="invalid TOML"):
        read_config(bad)
    with pytest.raises(ValueError, match="unknown setting"):
        read_config(EXAMPLE, settings=["sideways"])
    with pytest.raises(ValueError, match="no models"):
        read_config(None, datasets=["testbed"], methods=["me-sampler"])
    with pytest.raises(ValueError, match="motion must be one of"):
        read_config(EXAMPLE, methods=[{"name": "me-sampler", "motion": "sparks"}])
    with pytest.raises(FileNotFoundError, match="not found"):
        read_config(tmp_path / "none.toml")


def test_target_rule():
    for vid in ("a", "b", "testbed-1-00003"):
        for label in range(5):
            t = target_for(vid, label, 5, seed=0)
            assert t != label and 0 <= t < 5 and t == target_for(vid, label, 5, seed=0)
    assert len({target_for(f"v{i}", 0, 10, 0) for i in range(200)}) == 9  # every other class is reachable


def test_selection_takes_correct_videos_and_records_clean_queries():
    ds = load_dataset("testbed", videos=40)
    mapped = {c: i for i, c in enumerate(ds.classes)}
    wrong = {it.id for it in candidate_order(ds.by_class()["translate_right"], "translate_right", 0)[:2]}
    recorded = []

    def predict(items):
        return [((mapped[it.label] + 1) % 10 if it.id in wrong else mapped[it.label], 0, 16) for it in items]

    sel = select_videos(ds, mapped, predict, seed=0, max_classes=3, record=recorded.extend)
    assert [s.item.label for s in sel] == list(ds.classes[:3]) and [s.ordinal for s in sel] == [0, 1, 2]
    assert sel[0].item.id not in wrong
    assert len(recorded) == 3 + 2 and sum(r["correct"] for r in recorded) == 3
    again = select_videos(ds, mapped, lambda items: pytest.fail("re-queried"), seed=0, max_classes=3,
                          known={r["video_id"]: r for r in recorded})  # fmt: skip
    assert again == sel
    other = select_videos(ds, mapped, predict, seed=1, max_classes=3)
    assert [s.item.id for s in other] != [s.item.id for s in sel]


def test_run_store_resume(tmp_path):
    out = tmp_path / "c"
    s = run_campaign(tiny(settings=["untargeted", "targeted"]), out, progress=False)
    assert (s.total, s.skipped, s.stored) == (4, 0, 4)
    with ResultStore(out) as store:
        rows = store.rows(history=True)
        assert len(store.clean_rows()) >= 2
    assert len({(r["video_id"], r["setting"]) for r in rows}) == 4
    for r in rows:
        assert (out / r["video_file"]).is_file()
        assert r["queries"] == r["loss_queries"] + r["check_queries"] <= r["max_queries"] == 15
        assert r["history"][0, 0] == 0 and r["history"][-1, 0] == r["queries"]
        assert (r["target"] is None) == (not r["targeted"]) and r["version"] and r["params"]["interval"] == 10
        with np.load(out / r["video_file"]) as z:
            assert z["clean"].dtype == np.uint8 and np.abs(z["delta"].astype(np.float32)).max() <= r["eps"] + 1e-3
    t = [r for r in rows if r["targeted"]]
    assert all(r["success"] == (r["adv_label"] == r["target"]) for r in t)
    with pytest.raises(ValueError, match="pass --resume"):
        run_campaign(tiny(), out, progress=False)
    s2 = run_campaign(tiny(settings=["untargeted", "targeted"], max_classes=3), out, resume=True, progress=False)
    assert (s2.total, s2.skipped, s2.stored) == (6, 4, 2)
    with ResultStore(out) as store:
        assert store.count() == 6 and len(store.runs()) == 2


def test_results_do_not_depend_on_batching(tmp_path):
    a = run_campaign(tiny(batch_videos=1, max_classes=2), tmp_path / "a", progress=False)
    b = run_campaign(tiny(batch_videos=2, max_classes=2), tmp_path / "b", progress=False)
    assert a.stored == b.stored == 2
    key = ("video_id", "attack_seed", "queries", "success", "adv_label", "linf")
    ra = [{k: r[k] for k in key} for r in ResultStore(tmp_path / "a").rows()]
    rb = [{k: r[k] for k in key} for r in ResultStore(tmp_path / "b").rows()]
    assert ra == rb


def test_resume_with_gaps_reproduces_the_uninterrupted_run(tmp_path):
    import shutil
    import sqlite3

    cfg = tiny(max_classes=4, batch_videos=4)
    run_campaign(cfg, tmp_path / "a", progress=False)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with ResultStore(tmp_path / "b") as store:
        path = store.path
        gone = [r["video_id"] for r in store.rows()][1::2]  # ordinals 1 and 3: a resumed chunk with a gap
    with sqlite3.connect(path) as conn:
        conn.execute(f"DELETE FROM results WHERE video_id IN ({','.join('?' * len(gone))})", gone)
    s = run_campaign(cfg, tmp_path / "b", resume=True, progress=False)
    assert (s.skipped, s.stored) == (2, 2)
    key = ("video_id", "attack_seed", "queries", "success", "adv_label", "linf")
    ra = sorted(tuple(r[k] for k in key) for r in ResultStore(tmp_path / "a").rows())
    rb = sorted(tuple(r[k] for k in key) for r in ResultStore(tmp_path / "b").rows())
    assert ra == rb


def test_pending_keeps_unfinished_videos_with_their_ordinals(tmp_path):
    from mesampler.campaign.runner import plan
    from mesampler.campaign.work import Workspace

    cfg = tiny(max_classes=5, batch_videos=5)
    with ResultStore(tmp_path) as store:
        chunks = plan(cfg, Workspace(), store)
    assert [len(c.videos) for c in chunks] == [5]
    done = {chunks[0].key(chunks[0].videos[i]) for i in (0, 2)}
    left = pending(chunks, done)
    assert [[v.ordinal for v in c.videos] for c in left] == [[1, 3, 4]]  # seeds follow ordinals, not positions


def test_unique_key_and_history_roundtrip(tmp_path):
    run_campaign(tiny(max_classes=1), tmp_path, progress=False)
    con = sqlite3.connect(tmp_path / "results.sqlite")
    row = con.execute("SELECT * FROM results").fetchone()
    cols = [d[0] for d in con.execute("SELECT * FROM results").description]
    with pytest.raises(sqlite3.IntegrityError):
        con.execute(f"INSERT INTO results ({', '.join(cols[1:])}) VALUES ({', '.join('?' * (len(cols) - 1))})",
                    row[1:])  # fmt: skip
    h = decode_history(row[cols.index("history")])
    assert h.dtype == np.float32 and h.shape[1] == 2


def test_cli_campaign_run(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["campaign", "run", str(EXAMPLE), "--out", str(out), "--methods", "me-sampler", "--motion", "testbed",
            "--max-classes", "1", "--max-queries", "12", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert "1 stored now" in capsys.readouterr().out
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0
    assert "1 already stored, 0 stored now" in capsys.readouterr().out


def test_ray_missing_gives_install_hint(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ValueError, match=r'pip install "mesampler\[ray\]"'):
        run_campaign(tiny(executor="ray"), tmp_path, progress=False)
