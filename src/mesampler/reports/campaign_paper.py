"""The paper's Tables 2-5 from campaign rows: per method ANQ (failures at Q), ANQ over successes, SR, the
paired bootstrap 95 % CI of its ANQ ratio to ME-Sampler, the paper's numbers where the setting matches, and a
verdict per comparison and per table.

Membership: Table 2 holds ``e-nes``, ``e-bandits``, ``v-bad`` and ME-Sampler with flow (OF); Table 3
``multi-noise``, ``one-noise``; Table 4 ``u-sample``, ``s-value``; Table 5 ME-Sampler with other losses (same
motion as the reference). The reference row of every table is ``me-sampler`` with the logits loss and motion
other than flow (the method named ``me-sampler`` if several). Other methods go to an "other methods" table
with the same columns and no verdict. Each table is per (setting, dataset, model).

Verdict of one comparison, from the CI of ``ANQ(method) / ANQ(reference)`` over the videos both attacked
(resampled in pairs): the paper claims the reference needs fewer queries than every other row, so a CI above
1 is **reproduced**, one below 1 **reversed**, one containing 1 **not separable**; so is any comparison on fewer
than :data:`MIN_PAIRS` paired videos, whose bootstrap has too few distinct resamples to mean anything. A table
is reproduced when all its comparisons are, reversed when any is, else not separable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mesampler.reports.campaign_tables import Table, stats
from mesampler.reports.paper_numbers import PAPER_SETTING, REFERENCE_ROW, paper_cell, paper_number

VERDICTS = ("reproduced", "not separable", "reversed")
BOOTSTRAP = 2000
MIN_PAIRS = 5
"""Fewest paired videos for a verdict other than "not separable" (with 2 pairs the bootstrap has 3 resamples)."""
TABLE_TITLES = {
    2: "Table 2: gradient estimators (untargeted ANQ / SR)",
    3: "Table 3: priors without motion",
    4: "Table 4: hand-made maps in the motion region",
    5: "Table 5: losses",
    0: "Other methods (beyond the paper's tables)",
}
_BASELINES = {"e-nes": "E-NES", "e-bandits": "E-Bandits", "v-bad": "V-BAD"}
_TABLE3 = {"multi-noise": "Multi-noise", "one-noise": "One-noise"}
_TABLE4 = {"u-sample": "U-Sample", "s-value": "S-Value"}
_LOSSES = {"cross-entropy": "Cross-Entropy", "probability": "Probability", "logits": "Logits"}


def counted(r: dict[str, Any], budget: int | None = None) -> int:
    """Queries a result counts for ANQ: its queries if fooled, else the budget ``Q``. With ``budget`` below the
    row's own, the row is read at that budget: fooled only if within it, else ``budget``."""
    q = int(r["max_queries"]) if budget is None else min(int(budget), int(r["max_queries"]))
    return int(r["queries"]) if r["success"] and int(r["queries"]) <= q else q


def paired_counts(rows: Sequence[dict[str, Any]], ref: Sequence[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """The ANQ counts of the videos in both (keyed by dataset and video id), each pair read at the smaller of
    its two budgets (a method capped at 200 queries is compared with the reference's first 200). Exact for
    attacks whose steps do not depend on the budget (the finite-difference ones); a budget-scheduled search
    (``square``'s window size, ``auto``'s shares) would have run differently under the smaller budget."""
    a = {(r["dataset"], r["video_id"]): r for r in rows}
    b = {(r["dataset"], r["video_id"]): r for r in ref}
    keys = sorted(set(a) & set(b))
    common = [min(int(a[k]["max_queries"]), int(b[k]["max_queries"])) for k in keys]
    return [counted(a[k], q) for k, q in zip(keys, common)], [counted(b[k], q) for k, q in zip(keys, common)]


def paired_ratio_ci(
    rows: Sequence[dict[str, Any]], ref: Sequence[dict[str, Any]], *, n_boot: int = BOOTSTRAP, seed: int = 0
) -> tuple[float, float, float, int]:
    """``(ratio, lo, hi, pairs)``: ANQ(rows) / ANQ(ref) over the videos in both at their common budget
    (:func:`paired_counts`) and its percentile bootstrap 95 % CI, videos resampled with replacement in pairs
    (NaN if < 2 pairs)."""
    a, b = paired_counts(rows, ref)
    if len(a) < 2:
        return float("nan"), float("nan"), float("nan"), len(a)
    ratio, lo, hi = bootstrap_ratio(a, b, n_boot=n_boot, seed=seed)
    return ratio, lo, hi, len(a)


def bootstrap_ratio(
    a: Sequence[float], b: Sequence[float], *, n_boot: int = BOOTSTRAP, seed: int = 0
) -> tuple[float, float, float]:
    """``(ratio, lo, hi)``: mean(a) / mean(b) over paired values (``a[i]`` and ``b[i]`` from one video) and its
    percentile bootstrap 95 % CI, pairs resampled with replacement (NaN where a resampled mean(b) is 0)."""
    qa, qb = np.asarray(a, float), np.asarray(b, float)
    ratio = float(qa.mean() / qb.mean()) if qb.mean() > 0 else float("nan")
    idx = np.random.default_rng(seed).integers(0, len(qa), size=(n_boot, len(qa)))
    den = qb[idx].mean(1)
    boots = np.where(den > 0, qa[idx].mean(1) / np.where(den > 0, den, 1), np.nan)
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return ratio, float(lo), float(hi)


def verdict(lo: float, hi: float, pairs: int) -> str:
    """One comparison's verdict from the CI of ANQ(method) / ANQ(ME-Sampler) over ``pairs`` videos (module
    docstring)."""
    if np.isnan(lo) or np.isnan(hi) or pairs < MIN_PAIRS:
        return "not separable"
    if lo > 1:
        return "reproduced"
    if hi < 1:
        return "reversed"
    return "not separable"


def table_verdict(verdicts: Sequence[str]) -> str:
    """A table's verdict from its comparisons' (module docstring); no comparison: not separable."""
    if not verdicts:
        return "not separable"
    if "reversed" in verdicts:
        return "reversed"
    return "reproduced" if all(v == "reproduced" for v in verdicts) else "not separable"


def _reference(rows: Sequence[dict[str, Any]]) -> str | None:
    names = sorted({r["method"] for r in rows if r["attack"] == "me-sampler" and r["loss"] == "logits"
                    and r["motion"] != "flow"})  # fmt: skip
    if not names:
        return None
    return "me-sampler" if "me-sampler" in names else names[0]


def paper_row(r: dict[str, Any], ref_motion: str | None) -> tuple[int, str]:
    """``(table, paper row name)`` of a result row (table 0: not in the paper's tables)."""
    a = r["attack"]
    if a in _BASELINES:
        return 2, _BASELINES[a]
    if a in _TABLE3:
        return 3, _TABLE3[a]
    if a in _TABLE4:
        return 4, _TABLE4[a]
    if a == "me-sampler":
        if r["motion"] == "flow" and r["loss"] == "logits":
            return 2, "ME-Sampler (OF)"
        if r["loss"] != "logits" and r["motion"] == ref_motion:
            return 5, _LOSSES.get(r["loss"], r["loss"])
    return 0, r["method"]


def setting_matches(r: dict[str, Any]) -> bool:
    """Whether a row's threat setting is the paper's (untargeted, eps 0.03): budgets may differ (noted)."""
    return not r["targeted"] and abs(float(r["eps"]) - PAPER_SETTING["eps"]) < 1e-9


def paper_tables(rows: Sequence[dict[str, Any]], model_refs: dict[str, str] | None = None) -> tuple[list[Table], Table]:
    """Tables 2-5 (and other methods) per (setting, dataset, model), and the table of verdicts.

    ``model_refs``: campaign model name -> its reference (registry name or file), to find the paper's cell.
    """
    model_refs = model_refs or {}
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["setting"], r["dataset"], r["model"]), []).append(r)
    tables: list[Table] = []
    verdict_rows: list[list[Any]] = []
    header = ["method", "paper row", "attack", "loss", "motion", "videos", "ANQ", "ANQ (succ.)", "SR %",
              "ANQ / ME-Sampler", "95% CI", "pairs", "verdict", "paper ANQ", "paper SR %", "paper ratio"]  # fmt: skip
    for (s, d, m), g in sorted(groups.items()):
        ref_name = _reference(g)
        by_method: dict[str, list[dict[str, Any]]] = {}
        for r in g:
            by_method.setdefault(r["method"], []).append(r)
        ref_rows = by_method.get(ref_name, []) if ref_name else []
        ref_motion = ref_rows[0]["motion"] if ref_rows else None
        placed: dict[int, list[tuple[str, str]]] = {}
        for meth, mr in sorted(by_method.items()):
            if meth == ref_name:
                continue
            t, row_name = paper_row(mr[0], ref_motion)
            placed.setdefault(t, []).append((meth, row_name))
        cell = paper_cell(model_refs.get(m, m)) if setting_matches(g[0]) else None
        for t in (2, 3, 4, 5, 0):
            members = placed.get(t, [])
            if not members:
                continue
            out: list[list[Any]] = []
            comparisons: list[str] = []
            entries = ([(ref_name, REFERENCE_ROW.get(t, "ME-Sampler"))] if ref_name else []) + members
            paper_ref = paper_number(t, cell, REFERENCE_ROW[t]) if t else None
            for meth, row_name in entries:
                mr = by_method[meth]
                st, r0 = stats(mr), mr[0]
                is_ref = meth == ref_name
                if ref_rows and not is_ref:
                    ratio, lo, hi, pairs = paired_ratio_ci(mr, ref_rows)
                    v = verdict(lo, hi, pairs) if t else "-"
                    if t:
                        comparisons.append(v)
                        verdict_rows.append([t, s, d, m, meth, ref_name, round(ratio, 3), _ci(lo, hi), pairs, v])
                else:
                    ratio, lo, hi, pairs, v = (1.0 if is_ref else float("nan")), float("nan"), float("nan"), 0, "-"
                pn = paper_number(t, cell, row_name) if t else None
                pratio = round(pn[0] / paper_ref[0], 3) if pn and paper_ref else None
                out.append([meth + (" (reference)" if is_ref else ""), row_name if t else "-", r0["attack"],
                            r0["loss"], r0["motion"], st["n"], round(st["anq"], 1), round(st["anq_success"], 1),
                            round(st["sr"], 2), round(ratio, 3), _ci(lo, hi), pairs, v,
                            pn[0] if pn else None, pn[1] if pn else None, pratio])  # fmt: skip
            tv = table_verdict(comparisons) if t else None
            budget = g[0]["max_queries"]
            note = f"eps {g[0]['eps']}, budget {budget}; failures count at the budget in ANQ."
            if not ref_name:
                note += " No ME-Sampler (logits) row in this setting: no ratios."
            if t and tv is not None:
                note += f" Verdict: {tv} ({', '.join(f'{meth}: {c}' for (meth, _), c in zip(members, comparisons))})."
            if cell is not None and t:
                note += (f" Paper: {cell[1]} on {cell[0]}, budget {PAPER_SETTING['max_queries']:,}"
                         f"{' (ours differs)' if budget != PAPER_SETTING['max_queries'] else ''}.")  # fmt: skip
            name = f"table{t}_{s}" if t else f"other_{s}"
            if len({(dd, mm) for (ss, dd, mm) in groups if ss == s}) > 1:
                name += f"_{d}_{m}".replace("/", "_")
            tables.append(Table(name, f"{TABLE_TITLES[t]}: {d} / {m} / {s}", header, out, note,
                                extra={"verdict": tv, "table": t}))  # fmt: skip
    vt = Table(
        "verdicts",
        "Verdicts: ANQ ratio to ME-Sampler with its paired bootstrap 95% CI",
        ["table", "setting", "dataset", "model", "method", "reference", "ANQ ratio", "95% CI", "pairs", "verdict"],
        verdict_rows,
        "ratio > 1: ME-Sampler needs fewer queries, as the paper claims; CI above 1 reproduced, below 1 reversed, "
        f"containing 1 (or on fewer than {MIN_PAIRS} paired videos) not separable.",
    )
    return tables, vt


def _ci(lo: float, hi: float) -> str:
    return "-" if np.isnan(lo) or np.isnan(hi) else f"[{lo:.2f}, {hi:.2f}]"
