"""``auto`` versus each of its members alone and random noise, paired, on the test-bed model (issue 12).

Run: ``python benchmarks/bench_auto.py [--videos 16] [--budget 1000] [--eps 0.03] [--threads 1]`` (resumable:
every finished attack is appended to benchmarks/results/auto.jsonl with its parameters and skipped on a rerun; a
rerun whose arm's parameters changed since, a default for instance, is refused; ``auto.json`` / ``auto.md`` are
rebuilt after every model and by ``--summary-only``).

Videos: the first ``--videos`` held-out test-bed clips (``testbed.TEST_SEED``) with their true labels and
ground-truth motion maps; a clip the model misclassifies is reported as such and counts in no SR. Every arm
attacks the same clips with the same seed per clip (paired). Models:

* ``fp32``: the test-bed 3D CNN as it is;
* ``api``: ``APIOutput(top_k=5, decimals=2)`` of it (rounded probabilities, classes outside the top 5 unknown);
* ``quantised``: its logits rounded to a grid of 2.0 (an int8 output layer's behaviour).

Arms: ``auto``, each of its members alone (``random-noise``, ``me-sampler``, ``square``) at the same budget, and
the candidate portfolios of :data:`CANDIDATES` (``auto`` with other members, shares or start points); ``--arms``
runs a subset (comma-separated), ``--seed`` offsets every clip's seed (clip ``i`` uses ``seed + i``).
Reported per model and arm: SR over correctly classified clips, ANQ over all of them (failures count the budget),
mean and median queries over successes, and the paired bootstrap 95 % CI of each arm's ANQ over ``auto``'s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import mesampler
import mesampler.models
import mesampler.testbed
from mesampler.attacks import attack_params
from mesampler.models.adapters import APIOutput
from mesampler.reports import environment
from mesampler.reports.campaign_paper import bootstrap_ratio

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
CAMPAIGN = ROOT / "examples" / "k400_i3d_cpu.toml"
"""The real-model campaign: its ``auto`` arms are candidates here too (one definition of each)."""
REFERENCE = "auto"
OPTIONS = {"videos": 16, "budget": 1000, "eps": 0.03, "threads": 1, "name": "auto", "arms": "", "seed": 0}
"""Command-line options and their defaults (``arms`` empty: all of :func:`arms`)."""
EARLY = ("random-noise", "square", "me-sampler", "square")
CANDIDATES: dict[str, dict[str, Any]] = {
    "auto-early-square": {
        "members": EARLY,
        "shares": (0.02, 0.005, 0.60, 0.375),
        "schedule": "share",
        "streams": "video",
    },
    "auto-early-square-me-clean": {
        "members": EARLY,
        "shares": (0.02, 0.005, 0.60, 0.375),
        "starts": ("best", "best", "clean", "best"),
        "schedule": "share",
        "streams": "video",
    },
    "auto-me-clean": {"starts": ("best", "clean", "best"), "schedule": "share", "streams": "video"},
    "auto-sq1st-clean": {  # the last square from the clean video, with a fresh stripe start
        "members": ("square", "random-noise", "me-sampler", "square"),
        "shares": (0.005, 0.02, 0.60, 0.375),
        "starts": ("best", "best", "best", "clean"),
        "schedule": "share",
        "streams": "video",
    },
}
"""Candidate portfolios: ``auto`` with these parameters replaced (plus :func:`campaign_candidates`); those
measured before ``schedule`` and ``streams`` existed keep the rules they ran under (``"share"``, ``"video"``)."""
PORTFOLIO_KEYS = ("members", "shares", "starts", "schedule", "streams")


def campaign_candidates(path: Path = CAMPAIGN) -> dict[str, dict[str, Any]]:
    """The ``auto`` arms of the real-model campaign file (name -> members / shares / starts / rules), the one that
    equals today's default included (its rows then stay its own when the default changes)."""
    with path.open("rb") as f:
        methods = tomllib.load(f).get("methods", [])

    def portfolio(record: dict[str, Any]) -> dict[str, Any]:  # TOML lists as tuples, as attack_params has them
        return {k: v if isinstance(v, str) else tuple(v) for k, v in record.items() if k in PORTFOLIO_KEYS}

    return {m["name"]: portfolio(m) for m in methods if m.get("method") == "auto"}


CANDIDATES.update(campaign_candidates())


def load_rows(path: Path) -> list[dict]:
    """The finished attacks of ``path`` (JSON lines; none when it does not exist)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


MODELS = ("fp32", "api", "quantised")


class OutputGrid:
    """``model``'s logits rounded to multiples of ``step``: ``(N, T, H, W, 3)`` -> ``(N, K)`` float32."""

    def __init__(self, model: Any, step: float) -> None:
        self.model, self.step, self.spec = model, step, model.spec

    def __call__(self, videos: Any) -> np.ndarray:
        out = self.model(videos)
        logits = out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out)
        return (np.round(logits / self.step) * self.step).astype(np.float32)


def build(name: str, base: Any) -> Any:
    if name == "fp32":
        return base
    if name == "api":
        return APIOutput(base, top_k=5, decimals=2)
    return OutputGrid(base, 2.0)


SINGLE_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {"square-frame": ("square", {"stripes": "frame"})}
"""Single methods with other parameters: ``square`` with fresh stripes in every frame."""


def arms() -> list[str]:
    members = list(attack_params(REFERENCE)["members"])
    return list(dict.fromkeys([REFERENCE, *CANDIDATES, *members, "random-noise", *SINGLE_VARIANTS]))


def method_of(arm: str) -> tuple[str, dict[str, Any]]:
    """The registered method and parameters an arm runs."""
    if arm in CANDIDATES:
        return REFERENCE, CANDIDATES[arm]
    return SINGLE_VARIANTS.get(arm, (arm, {}))


def arm_params(arm: str) -> dict[str, Any]:
    """Every parameter an arm's attack runs with (its method's defaults with the arm's replaced), as JSON has
    them; recorded in each row so that a run resumed after a default changed is refused, not mixed."""
    name, params = method_of(arm)
    return {"method": name, **json.loads(json.dumps({**attack_params(name), **params}))}


def run_params(rows: list[dict], arm: str) -> dict[str, Any]:
    """The parameters the rows of ``arm`` ran with (rows from before they were recorded: today's)."""
    recorded = [r["params"] for r in rows if r["method"] == arm and "params" in r]
    return recorded[0] if recorded else arm_params(arm)


def summarise(rows: list[dict], opts: dict) -> dict:
    table = []
    for model in MODELS:
        by_arm = {a: {r["video"]: r for r in rows if r["model"] == model and r["method"] == a} for a in arms()}
        by_arm = {a: got for a, got in by_arm.items() if got}
        ref = by_arm.get(REFERENCE, {})
        for arm, got in by_arm.items():
            attacked = [r for r in got.values() if r["status"] != "misclassified"]
            if not attacked:
                continue
            ok = [r["queries"] for r in attacked if r["success"]]
            entry: dict[str, Any] = {
                "model": model, "method": arm, "videos": len(attacked), "fooled": len(ok),
                "SR": round(len(ok) / len(attacked), 3),
                "ANQ_all": round(float(np.mean([r["queries"] for r in attacked])), 1),
                "mean_successes": round(float(np.mean(ok)), 1) if ok else None,
                "median_successes": float(np.median(ok)) if ok else None,
            }  # fmt: skip
            if arm == REFERENCE or arm in CANDIDATES:
                counts: dict[str, int] = {}
                for r in attacked:
                    if r["broken_by"]:
                        counts[r["broken_by"]] = counts.get(r["broken_by"], 0) + 1
                entry["broken_by"] = counts
            if arm != REFERENCE:
                paired = sorted(v for v in got if v in ref and ref[v]["status"] != "misclassified")
                if paired:
                    a = np.array([got[v]["queries"] for v in paired], float)
                    b = np.array([ref[v]["queries"] for v in paired], float)
                    ratio, lo, hi = bootstrap_ratio(a, b)
                    entry["ANQ_ratio_to_auto"] = {"paired": len(paired), "ratio": round(ratio, 3),
                                                  "ci95": [round(lo, 3), round(hi, 3)]}  # fmt: skip
            table.append(entry)
    return {
        "machine": {**environment(), "threads": opts["threads"]},
        "setting": {
            "eps": opts["eps"],
            "budget": opts["budget"],
            "videos": opts["videos"],
            "untargeted": True,
            "seed": opts["seed"],
            "auto": run_params(rows, REFERENCE),
            "candidates": CANDIDATES,
        },
        "models": {
            "fp32": "testbed-motion (16 x 64 x 64)",
            "api": "APIOutput(top_k=5, decimals=2)",
            "quantised": "logits rounded to a grid of 2.0",
        },
        "attacks": len(rows),
        "table": table,
    }


def write_md(s: dict) -> str:
    m = s["machine"]
    lines = [
        "# `auto` versus its members on the test-bed model (paired, same clips and seeds)",
        "",
        f"Machine: {m['processor']}, {m['cpus']} CPUs, torch {m['torch']}, {m['threads']} thread(s), shared with a "
        f"concurrent benchmark. Untargeted, eps {s['setting']['eps']}, budget {s['setting']['budget']}, "
        f"{s['setting']['videos']} held-out test-bed clips (misclassified ones excluded). auto = "
        f"{s['setting']['auto']['members']} with shares {s['setting']['auto']['shares']}; clip i's seed "
        f"{s['setting'].get('seed', 0)} + i. Candidates (auto with these parameters): "
        + "; ".join(f"`{k}` {v}" for k, v in s["setting"].get("candidates", {}).items())
        + ".",
        "ANQ all: failures count the budget. Ratio: the arm's ANQ all / auto's on the same clips, paired bootstrap "
        "95 % CI (above 1: auto is cheaper).",
        "",
        "| model | method | clips | fooled | SR | ANQ all | mean succ. | median succ. | ratio to auto [95 % CI] "
        "| broken by |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in s["table"]:
        r = e.get("ANQ_ratio_to_auto")
        ratio = f"{r['ratio']} [{r['ci95'][0]}, {r['ci95'][1]}]" if r else "-"
        broken = ", ".join(f"{k} {v}" for k, v in e["broken_by"].items()) if "broken_by" in e else "-"
        lines.append(
            f"| {e['model']} | {e['method']} | {e['videos']} | {e['fooled']} | {e['SR']} | {e['ANQ_all']} | "
            f"{e['mean_successes']} | {e['median_successes']} | {ratio} | {broken} |"
        )
    return "\n".join(lines) + "\n"


def write_summary(rows: list[dict], opts: dict) -> None:
    s = summarise(rows, opts)
    name = opts["name"]
    (OUT / f"{name}.json").write_text(json.dumps(s, indent=2) + "\n")
    (OUT / f"{name}.md").write_text(write_md(s))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for k, v in OPTIONS.items():
        ap.add_argument(f"--{k}", type=type(v), default=v)
    ap.add_argument("--summary-only", action="store_true")
    ap.add_argument("--pool", default="", help="summarise these runs (comma-separated names) as one, into --name")
    opts = vars(ap.parse_args(argv))
    torch.set_num_threads(opts["threads"])
    if opts["pool"]:  # clips of different runs are different pairs: their keys carry the run's name
        names = [n for n in opts["pool"].split(",") if n]
        pooled = [{**r, "video": f"{n}:{r['video']}"} for n in names for r in load_rows(OUT / f"{n}.jsonl")]
        videos = f"{opts['videos']} x {len(names)} runs ({', '.join(names)})"
        write_summary(pooled, {**opts, "videos": videos, "seed": "its run's --seed"})
        return 0
    jsonl = OUT / f"{opts['name']}.jsonl"
    rows = load_rows(jsonl)
    if opts["summary_only"]:
        write_summary(rows, opts)
        return 0
    done = {(r["model"], r["method"], r["video"]) for r in rows}
    stale = sorted({r["method"] for r in rows if "params" in r and r["params"] != arm_params(r["method"])})
    base = mesampler.models.create("testbed-motion")
    videos, labels, motions = mesampler.testbed.make_dataset(opts["videos"], mesampler.testbed.TEST_SEED)
    chosen = [a for a in opts["arms"].split(",") if a] or arms()
    unknown = sorted(set(chosen) - set(arms()))
    if unknown:
        ap.error(f"unknown arm(s) {unknown}; choose from {arms()}")
    if set(stale) & set(chosen):
        ap.error(f"{jsonl} holds {sorted(set(stale) & set(chosen))} run with other parameters than today's; "
                 "resuming would mix them: choose a new --name")  # fmt: skip
    for model_name in MODELS:
        model = build(model_name, base)
        for method in chosen:
            todo = [i for i in range(opts["videos"]) if (model_name, method, i) not in done]
            if not todo:
                continue
            start = time.perf_counter()
            name, params = method_of(method)
            results = mesampler.attack_batch(
                model, [videos[i] for i in todo], labels=[int(labels[i]) for i in todo],
                motions=[motions[i] for i in todo], method=name, eps=opts["eps"], max_queries=opts["budget"],
                seeds=[opts["seed"] + i for i in todo], **params,
            )  # fmt: skip
            seconds = time.perf_counter() - start
            with jsonl.open("a") as f:
                for i, r in zip(todo, results, strict=True):
                    row = {"model": model_name, "method": method, "video": i, "status": r.status,
                           "success": r.success, "queries": r.queries, "broken_by": r.broken_by,
                           "members": r.members, "seconds": round(seconds / len(todo), 3),
                           "params": arm_params(method)}  # fmt: skip
                    rows.append(row)
                    f.write(json.dumps(row) + "\n")
            print(
                f"{model_name} {method}: {sum(r.success for r in results)}/{len(todo)} in {seconds:.0f} s", flush=True
            )
        write_summary(rows, opts)
    write_summary(rows, opts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
