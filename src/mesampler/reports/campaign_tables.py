"""Campaign tables from result rows: the summary, the per-video table and the long results CSV (the paper's
Tables 2-5 are in :mod:`mesampler.reports.campaign_paper`).

Conventions (the paper's): ANQ over all videos counts a failed video with the budget ``Q``; "ANQ (succ.)" is
over successful videos only; SR is the fraction fooled. Whether a query count includes the attack's clean-label
check depends on the setting (:func:`clean_check` says it in each table's note).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Table:
    """A titled table: ``header`` and ``rows`` of cells (str / int / float), written as CSV, Markdown and HTML."""

    name: str
    title: str
    header: list[str]
    rows: list[list[Any]]
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def write_csv(self, path: str | os.PathLike) -> None:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(self.header)
            w.writerows(self.rows)


def fmt(v: Any) -> str:
    """A cell as text: ``-`` for missing, floats with one decimal from 10 up, else three significant digits
    (a whole float keeps one decimal, so that a column of medians reads alike)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) >= 10 or v.is_integer() else f"{v:.3g}"
    return str(v)


def clean_check(rows: Sequence[dict[str, Any]]) -> str:
    """Whether the query counts of ``rows`` include the attack's clean-label check (per setting: a row with
    ``clean_queries`` 0 counted it against its budget)."""
    inside = sorted({r["setting"] for r in rows if r["clean_queries"] == 0})
    if not inside:
        return "query counts exclude the attack's clean-label check."
    if len(inside) == len({r["setting"] for r in rows}):
        return "query counts include the attack's clean-label check (it counts against the budget)."
    return f"query counts include the attack's clean-label check in setting(s) {', '.join(inside)}, else exclude it."


def stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """ANQ (all, failures at Q), ANQ and median over successes, SR (%), failure rate, mean linf."""
    if not rows:
        return {"n": 0}
    q = np.array([r["queries"] if r["success"] else r["max_queries"] for r in rows], float)
    ok = np.array([bool(r["success"]) for r in rows])
    return {
        "n": len(rows),
        "anq": float(q.mean()),
        "anq_success": float(q[ok].mean()) if ok.any() else float("nan"),
        "median_success": float(np.median(q[ok])) if ok.any() else float("nan"),
        "sr": 100.0 * float(ok.mean()),
        "linf": float(np.mean([r["linf"] for r in rows])),
    }


def _group(rows: Sequence[dict[str, Any]], key: Callable[[dict[str, Any]], Any]) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(key(r), []).append(r)
    return out


def summary_table(rows: Sequence[dict[str, Any]]) -> Table:
    """Long format: one line per (setting, dataset, model, method) with every statistic."""
    header = ["setting", "dataset", "model", "method", "attack", "loss", "motion", "eps", "budget", "videos",
              "SR %", "ANQ", "ANQ (succ.)", "median (succ.)", "mean linf"]  # fmt: skip
    out = []
    for (s, d, m, meth), g in sorted(
        _group(rows, lambda r: (r["setting"], r["dataset"], r["model"], r["method"])).items()
    ):
        st, r0 = stats(g), g[0]
        out.append([s, d, m, meth, r0["attack"], r0["loss"], r0["motion"], r0["eps"], r0["max_queries"], st["n"],
                    round(st["sr"], 2), round(st["anq"], 1), round(st["anq_success"], 1),
                    round(st["median_success"], 1), round(st["linf"], 4)])  # fmt: skip
    return Table(
        "summary",
        "All results",
        header,
        out,
        "ANQ counts failures at the budget; " + clean_check(rows),
    )


def _window(r: dict[str, Any]) -> tuple[str, str]:
    """``(clip, window)`` of a row: the file id (before ``@k`` for windowed items) and ``k: frames a-b``."""
    clip, sep, k = r["video_id"].rpartition("@")
    span = f"frames {r['clip_start']}-{r['clip_start'] + r['clip_frames'] - 1}"
    return (clip, f"{k}: {span}") if sep and k.isdigit() else (r["video_id"], span)


def _adv_name(r: dict[str, Any]) -> str:
    name = r.get("adv_label_name")
    return str(name) if name else str(r["adv_label"])


def _queries_cell(r: dict[str, Any]) -> str:
    """``37``, ``37 (square)`` for a portfolio (the member that broke the video), or ``Q✗`` if not fooled."""
    if not r["success"]:
        return f"{r['max_queries']}✗"
    by = r.get("broken_by")
    return f"{r['queries']} ({by})" if r.get("members") and by else str(r["queries"])


def per_video_table(rows: Sequence[dict[str, Any]], setting: str) -> Table:
    """One line per (dataset, model, video) of ``setting``: clip, window, clean class and probability, then
    each method's queries (``Q✗`` for a video not fooled within the budget ``Q``; a portfolio's breaking member
    in brackets)."""
    g = [r for r in rows if r["setting"] == setting]
    methods = sorted({r["method"] for r in g})
    by: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for r in g:
        by.setdefault((r["dataset"], r["model"], r["video_id"]), {})[r["method"]] = r
    out = []
    for (d, m, _), per in sorted(by.items()):
        r0 = next(iter(per.values()))
        clip, window = _window(r0)
        probs = [float(x["clean_prob"]) for x in per.values() if x.get("clean_prob") is not None]
        cells: list[Any] = [d, m, clip, window, r0["label_name"], round(probs[0], 3) if probs else None]
        for meth in methods:
            cells.append(None if meth not in per else _queries_cell(per[meth]))
        out.append(cells)
    return Table(
        f"videos_{setting}",
        f"Per video: {setting}",
        ["dataset", "model", "clip", "window", "clean class", "clean p", *methods],
        out,
        "Queries to fool each video (auto: the breaking member in brackets); N✗: not fooled within the budget N.",
    )


RESULT_COLUMNS = [
    "setting", "dataset", "model", "video_id", "clip", "window", "clip_start", "clip_frames", "method", "attack",
    "loss", "motion", "targeted", "eps", "max_queries", "success", "broken_by", "queries", "queries_counted",
    "loss_queries", "check_queries", "label", "label_name", "clean_prob", "target", "adv_label", "adv_label_name",
    "adv_prob", "linf",
]  # fmt: skip
"""Columns of ``results.csv``: one row per video x method x setting (``queries_counted``: the budget if not
fooled; probabilities are top-1 softmax probabilities of the clean and the adversarial clip; ``broken_by``: the
portfolio member, or the method, that fooled the video, empty if not fooled)."""


def results_table(rows: Sequence[dict[str, Any]]) -> Table:
    """Every attack as one CSV row (:data:`RESULT_COLUMNS`)."""
    out = []
    for r in sorted(rows, key=lambda r: (r["setting"], r["dataset"], r["model"], r["video_id"], r["method"])):
        clip, window = _window(r)
        vals = {**r, "clip": clip, "window": window, "adv_label_name": _adv_name(r),
                "queries_counted": r["queries"] if r["success"] else r["max_queries"]}  # fmt: skip
        out.append([vals.get(c) for c in RESULT_COLUMNS])
    return Table("results", "All attacks", list(RESULT_COLUMNS), out, "One row per video x method x setting.",
                 extra={"csv_only": True})  # fmt: skip


def campaign_tables(
    rows: Sequence[dict[str, Any]],
    model_refs: dict[str, str] | None = None,
    clean: Sequence[dict[str, Any]] = (),
) -> list[Table]:
    """The robustness summaries (``clean``: the store's clean rows), the summary, Tables 2-5 per setting (with
    the paper's numbers and verdicts), the verdicts, the per-video tables and the long results table."""
    from mesampler.reports.campaign_paper import paper_tables
    from mesampler.reports.robustness import robustness_tables

    paper, verdicts = paper_tables(rows, model_refs)
    videos = [per_video_table(rows, s) for s in sorted({r["setting"] for r in rows})]
    return [*robustness_tables(rows, clean), summary_table(rows), *paper, verdicts, *videos, results_table(rows)]


def sections(tables: Sequence[Table]) -> list[tuple[str, list[Table]]]:
    """Tables grouped by ``extra["section"]`` (default "Tables"), sections in order of first appearance."""
    out: dict[str, list[Table]] = {}
    for t in tables:
        out.setdefault(str(t.extra.get("section", "Tables")), []).append(t)
    return list(out.items())
