"""The real-model benchmark's summary logic (``benchmarks/bench_attacks.py``) on made-up rows: the headroom
table, the portfolio goal and the common-budget ratios. The benchmark itself is not run here."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from benchmod import load_benchmark


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("bench_attacks")


def row(method: str, video: str, queries: int, success: bool, budget: int = 1000) -> dict[str, Any]:
    attack = "auto" if method.startswith("auto") else method  # portfolio arms are the registered auto
    return {"setting": "eps001", "method": method, "attack": attack, "dataset": "clips", "video_id": video,
            "queries": queries, "success": int(success), "max_queries": budget, "eps": 0.01, "flicker": 0.01,
            "mode_share": 0.5, "iterations": 1, "wall_time_s": 1.0}  # fmt: skip


def groups(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault((r["setting"], r["method"]), []).append(r)
    return out


def test_headroom_takes_the_best_single_per_window_and_counts_unfooled_windows_at_the_budget(bench: Any) -> None:
    rows = [
        row("me-sampler", "a", 100, True), row("me-sampler", "b", 1000, False), row("me-sampler", "c", 1000, False),
        row("square", "a", 10, True), row("square", "b", 400, True), row("square", "c", 1000, False),
        row("random-noise", "c", 200, False, budget=200),
        row("auto-v1", "c", 5, True),  # a portfolio is not a single method: it does not count
    ]  # fmt: skip
    (h,) = bench.headroom(groups(rows))
    assert h["windows"] == 3 and h["fooled_by_any"] == 2 and h["fooled_by_none"] == ["c"]
    assert h["ANQ_best_per_window"] == pytest.approx((10 + 400 + 1000) / 3, abs=0.1)
    assert h["ANQ_reference"] == pytest.approx(700) and h["best_by"] == {"square": 2}


def test_summary_ratios_read_a_capped_arm_at_its_budget(bench: Any) -> None:
    rows = [row("me-sampler", v, q, True) for v, q in (("a", 50), ("b", 300), ("c", 150))]
    rows += [row("random-noise", v, q, ok, budget=200) for v, q, ok in (("a", 20, True), ("b", 200, False),
                                                                         ("c", 200, False))]  # fmt: skip
    s = bench.summarise(rows, {})
    (floor,) = [e for e in s["table"] if e["method"] == "random-noise"]
    # me-sampler at 200: 50, 200 (its 300 is past the cap), 150; the floor: 20, 200, 200
    assert floor["ANQ_ratio_to_me_sampler"]["ratio"] == pytest.approx(420 / 400, abs=1e-3)


def test_portfolio_goal_needs_min_pairs_and_as_many_fooled(bench: Any) -> None:
    few = [row(m, v, 10, True) for m in ("me-sampler", "auto-v1") for v in "ab"]
    (v,) = bench.portfolio_verdicts(groups(few))
    assert v["verdict"] == "too few windows"
    vids = "abcdef"
    rows = [row("me-sampler", v, 100, True) for v in vids] + [row("auto-v1", v, 100, v != "a") for v in vids]
    (v,) = bench.portfolio_verdicts(groups(rows))
    assert v["best_single"] == "me-sampler" and v["fooled"] == 5 and v["verdict"] == "missed"
