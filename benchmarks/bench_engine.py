"""Engine benchmarks (issue 2): prior ablation on the test-bed, attack overhead, batched throughput.

    python benchmarks/bench_engine.py [--videos 50] [--budget 2000] [--eps 0.03,0.01]
        [--parts priors,overhead,throughput]

Writes ``benchmarks/results/engine.json`` and ``engine.md``. Numbers are for the machine it runs on
(recorded in the file); compare ratios taken in one run rather than absolute times across runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import mesampler
from mesampler import models, testbed
from mesampler.reports import environment

RESULTS = Path(__file__).resolve().parent / "results"


class Recorder:
    """Wraps a model and records the batch size of every call."""

    accepts_torch = True

    def __init__(self, model: models.VideoModel) -> None:
        self.model, self.device, self.sizes = model, model.device, []

    def __call__(self, videos):  # noqa: ANN001, ANN204
        self.sizes.append(len(videos))
        return self.model(videos)


def heldout(model: models.VideoModel, n: int) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """The first ``n`` held-out test-bed clips that the model classifies correctly."""
    videos, labels, motions = testbed.make_dataset(int(n * 1.5) + 10, testbed.TEST_SEED)
    pred = np.asarray(model(videos.astype(np.float32) / 255)).argmax(1)
    keep = np.nonzero(pred == labels)[0][:n]
    return [videos[i] for i in keep], [motions[i] for i in keep], [int(labels[i]) for i in keep]


def anq_table(results: dict[str, list], budget: int) -> dict[str, dict]:
    rows = {}
    for name, rs in results.items():
        q = np.array([r.queries if r.success else budget for r in rs])
        ok = np.array([r.success for r in rs])
        rows[name] = {
            "videos": len(rs),
            "success_rate": float(ok.mean()),
            "anq_all": float(q.mean()),
            "anq_success": float(q[ok].mean()) if ok.any() else None,
            "median_success": float(np.median(q[ok])) if ok.any() else None,
            "queries": [int(x) for x in q],
        }
    ref = np.array(rows["me-sampler"]["queries"], float)
    for row in rows.values():
        ratio = np.array(row["queries"], float) / ref
        row["paired_ratio_to_me_sampler_median"] = float(np.median(ratio))
        row["videos_fewer_queries_than_me_sampler"] = int((np.array(row["queries"]) < ref).sum())
    return rows


def bench_priors(model: models.VideoModel, n: int, budget: int, eps: float) -> dict:
    videos, motions, labels = heldout(model, n)
    runs = {
        "me-sampler": dict(method="me-sampler", motions=motions),
        "me-sampler (MV from frames)": dict(method="me-sampler", motions=None),
        "me-sampler (paper-literal probes)": dict(method="me-sampler", motions=motions, probe_norm="none"),
        "one-noise": dict(method="one-noise"),
        "multi-noise": dict(method="multi-noise"),
    }
    results, times = {}, {}
    for name, kw in runs.items():
        t0 = time.perf_counter()
        results[name] = mesampler.attack_batch(model, videos, labels=labels, max_queries=budget, eps=eps, **kw)
        times[name] = time.perf_counter() - t0
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    table = anq_table(results, budget)
    for name in table:
        table[name]["wall_s"] = times[name]
    return {"videos": len(videos), "budget": budget, "eps": eps, "methods": table}


def bench_overhead(model: models.VideoModel, iterations: int, n_videos: int) -> dict:
    """Attack wall time / wall time of replaying the same model calls (same batch sizes, random videos)."""
    videos, motions, labels = heldout(model, n_videos)
    rec = Recorder(model)
    budget = 3 * iterations + 1
    t0 = time.perf_counter()
    mesampler.attack_batch(rec, videos, labels=labels, motions=motions, eps=1e-3, max_queries=budget)
    attack_s = time.perf_counter() - t0
    shape = videos[0].shape
    replay = [torch.rand((b, *shape), device=model.device) for b in sorted(set(rec.sizes))]
    by_size = {len(v): v for v in replay}
    t0 = time.perf_counter()
    for b in rec.sizes:
        model(by_size[b])
    replay_s = time.perf_counter() - t0
    return {
        "model_calls": len(rec.sizes),
        "videos": len(videos),
        "iterations": iterations,
        "attack_s": attack_s,
        "model_only_s": replay_s,
        "overhead_ratio": attack_s / replay_s,
    }


def bench_throughput(model: models.VideoModel, iterations: int, n_videos: int) -> dict:
    """Queries/s: 32 videos in one batched attack vs one video at a time with batch-1 calls (released-code pattern)."""
    videos, motions, labels = heldout(model, n_videos)
    budget = 3 * iterations + 1
    t0 = time.perf_counter()
    rs = mesampler.attack_batch(model, videos, labels=labels, motions=motions, eps=1e-3, max_queries=budget)
    batched_s = time.perf_counter() - t0
    batched_q = sum(r.queries for r in rs)
    t0 = time.perf_counter()
    single_q = 0
    for v, m, y in zip(videos, motions, labels):
        single_q += mesampler.attack(model, v, label=y, motion=m, eps=1e-3, max_queries=budget, batch_size=1).queries
    single_s = time.perf_counter() - t0
    return {
        "videos": len(videos),
        "iterations": iterations,
        "batched_queries_per_s": batched_q / batched_s,
        "sequential_queries_per_s": single_q / single_s,
        "speedup": (batched_q / batched_s) / (single_q / single_s),
    }


def write_markdown(out: dict, path: Path) -> None:
    lines = [f"# Engine benchmark\n\nMachine: {out['environment']}\n"]
    for p in out.get("priors", []):
        lines += [
            f"## Priors on the test-bed ({p['videos']} held-out videos, eps {p['eps']}, budget {p['budget']})\n",
            "| method | SR | ANQ (all, failures at budget) | ANQ (successes) "
            "| median paired ratio to ME-Sampler | wall s |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in p["methods"].items():
            anq_s = f"{r['anq_success']:.0f}" if r["anq_success"] is not None else "-"
            lines.append(
                f"| {name} | {100 * r['success_rate']:.1f} % | {r['anq_all']:.0f} | {anq_s} | "
                f"{r['paired_ratio_to_me_sampler_median']:.2f} | {r['wall_s']:.1f} |"
            )
    if "overhead" in out:
        o = out["overhead"]
        lines.append(
            f"\n## Overhead\n\n{o['videos']} videos, {o['iterations']} iterations, {o['model_calls']} model calls: "
            f"attack {o['attack_s']:.2f} s / model calls alone {o['model_only_s']:.2f} s "
            f"= **{o['overhead_ratio']:.3f}**"
        )
    if "throughput" in out:
        t = out["throughput"]
        lines.append(
            f"\n## Throughput\n\n{t['videos']} videos x {t['iterations']} iterations: batched "
            f"{t['batched_queries_per_s']:.0f} q/s vs one at a time (batch-1 calls) "
            f"{t['sequential_queries_per_s']:.0f} q/s "
            f"= **{t['speedup']:.1f}x**"
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--videos", type=int, default=50)
    ap.add_argument("--budget", type=int, default=2_000)
    ap.add_argument("--eps", default="0.03,0.01", help="comma-separated epsilons for the prior comparison")
    ap.add_argument("--parts", default="priors,overhead,throughput")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="engine")
    args = ap.parse_args()
    model = models.create("testbed-motion", device=args.device)
    out: dict = {"environment": environment(), "model": "testbed-motion"}
    parts = args.parts.split(",")
    if "priors" in parts:
        out["priors"] = [bench_priors(model, args.videos, args.budget, float(e)) for e in args.eps.split(",")]
    if "overhead" in parts:
        out["overhead"] = bench_overhead(model, iterations=200, n_videos=32)
    if "throughput" in parts:
        out["throughput"] = bench_throughput(model, iterations=50, n_videos=32)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(out, indent=2))
    write_markdown(out, RESULTS / f"{args.out}.md")
    print((RESULTS / f"{args.out}.md").read_text())


if __name__ == "__main__":
    main()
