"""Campaign tables from result rows: Table-2-style ANQ/SR, the ablations (Tables 3-5), the targeted comparison.

Conventions (the paper's): ANQ over all videos counts a failed video with the budget ``Q``; "ANQ (succ.)" is
over successful videos only; SR is the fraction fooled. Queries exclude the clean-label query.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PRIOR_ATTACKS = ("me-sampler", "multi-noise", "one-noise")
MOTION_ATTACKS = ("me-sampler", "u-sample", "s-value")  # Table 4: real motion map vs U-Sample / S-Value


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
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) >= 10 else f"{v:.3g}"
    return str(v)


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


def method_label(r: dict[str, Any]) -> str:
    return r["method"]


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
        "ANQ counts failures at the budget; queries exclude the clean-label query.",
    )


def pivot(rows: Sequence[dict[str, Any]], name: str, title: str, label: Callable[[dict[str, Any]], str],
          note: str = "") -> Table:  # fmt: skip
    """Rows = ``label(row)``; columns = (dataset, model) x (ANQ, ANQ succ., SR)."""
    cols = sorted({(r["dataset"], r["model"]) for r in rows})
    header = ["method"] + [f"{d}/{m} {k}" for d, m in cols for k in ("ANQ", "ANQ (succ.)", "SR %")]
    out = []
    for lab, g in _group(rows, label).items():
        cells: list[Any] = [lab]
        by = _group(g, lambda r: (r["dataset"], r["model"]))
        for c in cols:
            st = stats(by.get(c, []))
            cells += [round(st["anq"], 1), round(st["anq_success"], 1), round(st["sr"], 2)] if st["n"] else ["-"] * 3
        out.append(cells)
    return Table(name, title, header, out, note)


def campaign_tables(rows: Sequence[dict[str, Any]]) -> list[Table]:
    """The summary, per setting a Table-2-style pivot, and the ablations that the campaign's methods allow."""
    tables = [summary_table(rows)]
    for setting, g in sorted(_group(rows, lambda r: r["setting"]).items()):
        kind = "targeted" if g[0]["targeted"] else "untargeted"
        tables.append(
            pivot(
                g,
                f"table2_{setting}",
                f"Table 2 style: {setting} ({kind}), ANQ / SR per method x model",
                method_label,
                f"eps {g[0]['eps']}, budget {g[0]['max_queries']}",
            )
        )
        prior = [r for r in g if r["attack"] in PRIOR_ATTACKS]
        if len({r["attack"] for r in prior}) >= 2:
            tables.append(
                pivot(
                    prior,
                    f"table3_{setting}",
                    f"Table 3 style: noise priors ({setting})",
                    lambda r: f"{r['attack']} ({r['motion']}, {r['loss']})",
                )
            )
        me = [r for r in g if r["attack"] == "me-sampler"]
        if len({r["motion"] for r in me}) >= 2:
            tables.append(
                pivot(
                    me,
                    f"table4_{setting}",
                    f"Table 4 style: motion maps ({setting})",
                    lambda r: f"{r['method']} (motion {r['motion']})",
                )
            )
        for attack, ga in _group(g, lambda r: r["attack"]).items():
            if len({r["loss"] for r in ga}) >= 2:
                tables.append(
                    pivot(
                        ga,
                        f"table5_{setting}_{attack}",
                        f"Table 5 style: losses, {attack} ({setting})",
                        lambda r: f"{r['method']} ({r['loss']})",
                    )
                )
    return tables
