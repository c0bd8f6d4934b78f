"""Robustness summary of campaign results: per (setting, dataset, model) and method, robust accuracy, the
queries-to-fool distribution over fooled videos, which portfolio member broke each video, and the random-noise
floor beside.

Robust accuracy: the share of the attacked, correctly classified videos not fooled within the budget. The
campaign protocol attacks only videos its clean query classified correctly; a row whose video the ``clean``
table records as misclassified is left out. Each method's budget is its own column (the floor runs at a smaller one);
the table's note says whether its query counts include the attack's clean-label check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mesampler.reports.campaign_tables import Table, clean_check

FLOOR = "random-noise"
"""The method whose result is the floor: what random corners of the ball achieve at the same budget."""

SECTION = "Robustness summary"

HEADER = ["method", "attack", "role", "budget", "videos", "fooled", "robust accuracy", "median queries", "q25", "q75",
          "max queries", "broken by"]  # fmt: skip


def query_stats(values: Sequence[int]) -> dict[str, Any]:
    """``n``, mean, median, quartiles (numpy's linear quantiles), min and max of ``values`` (None when empty)."""
    if not values:
        return {"n": 0, "mean": None, "median": None, "q25": None, "q75": None, "min": None, "max": None}
    a = np.asarray(values, dtype=float)
    q25, med, q75 = (float(v) for v in np.quantile(a, [0.25, 0.5, 0.75]))
    return {"n": len(a), "mean": float(a.mean()), "median": med, "q25": q25, "q75": q75,
            "min": float(a.min()), "max": float(a.max())}  # fmt: skip


def broken_by_counts(rows: Sequence[dict[str, Any]]) -> dict[str, int] | None:
    """Fooled videos per portfolio member, every member listed in its order (``"unknown"`` for fooled rows
    stored without attribution); ``None`` when no row records members (a single method)."""
    order = next((r["members"] for r in rows if r.get("members")), None)
    if order is None:
        return None
    counts = {m["method"]: 0 for m in order}
    for r in rows:
        if r["success"]:
            name = r.get("broken_by") or "unknown"
            counts[name] = counts.get(name, 0) + 1
    return counts


def summarise(rows: Sequence[dict[str, Any]], clean: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Robustness numbers of one method's ``rows`` (one setting, dataset and model): ``videos`` (attacked and
    correctly classified), ``fooled``, ``robust_accuracy``, ``queries_to_fool`` (:func:`query_stats` over
    the fooled) and ``broken_by`` (:func:`broken_by_counts`)."""
    wrong = {(c["dataset"], c["video_id"], c["model"]) for c in clean if not c["correct"]}
    kept = [r for r in rows if (r["dataset"], r["video_id"], r["model"]) not in wrong]
    fooled = [r for r in kept if r["success"]]
    return {
        "videos": len(kept),
        "fooled": len(fooled),
        "robust_accuracy": (len(kept) - len(fooled)) / len(kept) if kept else None,
        "queries_to_fool": query_stats([int(r["queries"]) for r in fooled]),
        "broken_by": broken_by_counts(kept),
    }


def _accuracy(s: dict[str, Any]) -> str:
    return "-" if s["robust_accuracy"] is None else f"{s['robust_accuracy']:.3f}"


def _budget(rows: Sequence[dict[str, Any]]) -> str:
    budgets = sorted({int(r["max_queries"]) for r in rows})
    return str(budgets[0]) if len(budgets) == 1 else f"{budgets[0]}-{budgets[-1]}"


def _cells(method: str, attack: str, budget: str, s: dict[str, Any]) -> list[Any]:
    q, counts = s["queries_to_fool"], s["broken_by"]
    acc = None if s["robust_accuracy"] is None else round(s["robust_accuracy"], 3)
    return [method, attack, "floor" if attack == FLOOR else "", budget, s["videos"], s["fooled"], acc,
            q["median"], q["q25"], q["q75"], q["max"],
            None if counts is None else ", ".join(f"{k} {v}" for k, v in counts.items())]  # fmt: skip


def robustness_tables(rows: Sequence[dict[str, Any]], clean: Sequence[dict[str, Any]] = ()) -> list[Table]:
    """One table per (setting, dataset, model): a line per method (the random-noise floor last), under the
    report's "Robustness summary" section."""
    groups: dict[tuple[str, str, str], dict[str, list[dict[str, Any]]]] = {}
    for r in rows:
        groups.setdefault((r["setting"], r["dataset"], r["model"]), {}).setdefault(r["method"], []).append(r)
    tables = []
    for (setting, d, m), by in sorted(groups.items()):
        attack = {meth: g[0]["attack"] for meth, g in by.items()}
        order = sorted(by, key=lambda meth: (attack[meth] == FLOOR, meth))
        stats = {meth: summarise(by[meth], clean) for meth in order}
        floors = [
            f"{meth} robust accuracy {_accuracy(stats[meth])} ({stats[meth]['fooled']} of {stats[meth]['videos']} "
            f"fooled within {_budget(by[meth])} queries)"
            for meth in order
            if attack[meth] == FLOOR
        ]
        note = (
            "Robust accuracy: share of the attacked, correctly classified videos not fooled within the method's "
            "budget (column 'budget'); queries to fool over the fooled videos (median, quartiles, max); broken by: "
            "fooled videos per portfolio member; "
            + clean_check([r for g in by.values() for r in g])
            + " "
            + (f"Floor ({FLOOR}): {'; '.join(floors)}." if floors else f"No {FLOOR} run: no floor to compare with.")
        )
        lines = [_cells(meth, attack[meth], _budget(by[meth]), stats[meth]) for meth in order]
        name = f"robustness_{setting}_{d}_{m}".replace("/", "_")
        tables.append(Table(name, f"Robustness: {d} / {m} / {setting}", list(HEADER), lines, note,
                            extra={"section": SECTION}))  # fmt: skip
    return tables
