"""Campaign throughput: the local batched executor vs one video at a time, on the test-bed (CPU).

Writes benchmarks/results/campaign.json and campaign.md: attacks per hour, queries per second, the model's own
forward time per clip, the engine's overhead per query, and the projected time of the paper's Kinetics-400 I3D
row (400 videos, ANQ ~2,700) from these numbers.

    python benchmarks/bench_campaign.py [--videos-per-class 1] [--max-queries 150]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from mesampler.campaign import ResultStore, read_config, run_campaign
from mesampler.reports.summary import environment

ROOT = Path(__file__).resolve().parents[1]
K400_VIDEOS, K400_ANQ = 400, 2700
GOAL_S = 30 * 60
EPS = 0.005  # small, so that most attacks run to the budget: a throughput workload, not an efficiency one


def _run(batch: int, args: argparse.Namespace, tmp: Path) -> dict:
    cfg = read_config(
        None, models=[{"name": "testbed-motion", "batch_size": 64}], datasets=[{"name": "testbed", "videos": 100}],
        methods=[{"name": "me-sampler", "motion": "testbed"}], max_queries=args.max_queries, eps=EPS,
        videos_per_class=args.videos_per_class, batch_videos=batch, seed=0,
    )  # fmt: skip
    out = tmp / f"b{batch}"
    t0 = time.perf_counter()
    run_campaign(cfg, out, progress=False)
    wall = time.perf_counter() - t0
    rows = ResultStore(out).rows()
    q = sum(r["queries"] + r["clean_queries"] for r in rows)
    attack_s = sum({r["wall_time_s"] for r in rows})  # rows of one chunk share its attack_batch wall time
    return {
        "batch_videos": batch, "attacks": len(rows), "queries": q, "successes": sum(r["success"] for r in rows),
        "wall_s": round(wall, 2), "attack_s": round(attack_s, 2),
        "attacks_per_hour": round(3600 * len(rows) / wall, 1), "queries_per_s": round(q / wall, 1),
        "attack_queries_per_s": round(q / attack_s, 1),
    }  # fmt: skip


def _forward_per_clip(batch: int) -> float:
    from mesampler.models import create
    from mesampler.testbed import TEST_SEED, make_dataset

    model = create("testbed-motion")
    x = make_dataset(batch, TEST_SEED)[0].astype(np.float32) / 255
    model(x)
    t0 = time.perf_counter()
    for _ in range(5):
        model(x)
    return (time.perf_counter() - t0) / (5 * batch)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos-per-class", type=int, default=1)
    p.add_argument("--max-queries", type=int, default=150)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        batched = _run(16, args, Path(d))
        single = _run(1, args, Path(d))
    fwd1, fwd16 = _forward_per_clip(1), _forward_per_clip(16)
    overhead = 1 / batched["attack_queries_per_s"] - fwd16  # engine seconds per query beyond the model's forward
    i3d = json.loads((ROOT / "benchmarks" / "results" / "i3d.json").read_text()) if (
        ROOT / "benchmarks" / "results" / "i3d.json").is_file() else {}  # fmt: skip
    total_q = K400_VIDEOS * K400_ANQ
    res = {
        "machine": {**environment(), "platform": platform.platform(), "load_avg": os.getloadavg()},
        "workload": {
            "model": "testbed-motion (16x64x64, CPU)",
            "dataset": "testbed, 1 video per class",
            "method": "me-sampler (ground-truth motion)",
            "eps": EPS,
            "max_queries": args.max_queries,
        },
        "batched": batched,
        "one_at_a_time": single,
        "speedup_batched": round(batched["queries_per_s"] / single["queries_per_s"], 2),
        "testbed_forward_s_per_clip": {"batch1": round(fwd1, 5), "batch16": round(fwd16, 5)},
        "engine_overhead_s_per_query": round(overhead, 5),
        "projection_k400_i3d": {
            "queries": total_q,
            "note": (
                "No GPU in this session: projection = queries x (I3D forward time per clip + engine overhead per "
                "query). Measured CPU numbers only; the H100 forward time is not measured."
            ),
            "required_s_per_query_for_30min": round(GOAL_S / total_q, 6),
            "cpu_i3d_s_per_clip_from_bench_i3d": _i3d_cpu(i3d),
        },  # fmt: skip
    }
    cpu = res["projection_k400_i3d"]["cpu_i3d_s_per_clip_from_bench_i3d"]
    if cpu:
        res["projection_k400_i3d"]["cpu_hours"] = round(total_q * (cpu + max(overhead, 0)) / 3600, 1)
    out = ROOT / "benchmarks" / "results"
    (out / "campaign.json").write_text(json.dumps(res, indent=2, default=str))
    (out / "campaign.md").write_text(_markdown(res))
    print(_markdown(res))


def _i3d_cpu(i3d: dict) -> float | None:
    """CPU seconds per 64-frame clip at batch 4 from bench_i3d's results, if present."""
    for row in i3d.get("forward", []) if isinstance(i3d, dict) else []:
        if row.get("frames") == 64 and row.get("batch") == 4:
            return float(row.get("wall_s_per_clip") or row.get("cpu_s_per_clip"))
    return None


def _markdown(r: dict) -> str:
    b, s, pj = r["batched"], r["one_at_a_time"], r["projection_k400_i3d"]
    m = r["machine"]
    lines = [
        "# Campaign throughput (local executor, test-bed model, CPU)", "",
        f"Machine: {m['platform']}, {m['cpus']} CPUs, torch {m['torch']} ({m['torch_threads']} threads), "
        f"load average {tuple(round(x, 2) for x in m['load_avg'])} (shared machine: wall times vary).", "",
        f"Workload: {r['workload']['method']} on {r['workload']['model']}, {r['workload']['dataset']}, "
        f"eps {r['workload']['eps']}, budget {r['workload']['max_queries']}.", "",
        "| executor | attacks | queries | wall s | attacks/hour | queries/s | queries/s in attacks |",
        "|---|---|---|---|---|---|---|",
        f"| batched (16 videos per call) | {b['attacks']} | {b['queries']} | {b['wall_s']} | {b['attacks_per_hour']} "
        f"| {b['queries_per_s']} | {b['attack_queries_per_s']} |",
        f"| one video at a time | {s['attacks']} | {s['queries']} | {s['wall_s']} | {s['attacks_per_hour']} "
        f"| {s['queries_per_s']} | {s['attack_queries_per_s']} |", "",
        f"Batched / one-at-a-time throughput: x{r['speedup_batched']}. Test-bed forward per clip: "
        f"{r['testbed_forward_s_per_clip']['batch1']} s (batch 1), {r['testbed_forward_s_per_clip']['batch16']} s "
        f"(batch 16); engine overhead per query beyond the forward: {r['engine_overhead_s_per_query']} s.", "",
        "## Projection: the paper's Kinetics-400 I3D row (400 videos x ANQ 2,700)", "",
        f"{pj['queries']:,} queries. {pj['note']}", "",
        f"- To finish in 30 minutes a query may cost at most {pj['required_s_per_query_for_30min'] * 1000:.2f} ms "
        f"all in ({1 / pj['required_s_per_query_for_30min']:.0f} queries/s): I3D forward (64x224x224, batched) plus "
        "the engine's sampler/estimator work, which the test-bed overhead above (CPU, 16x64x64) does not predict "
        "for a GPU.",
    ]  # fmt: skip
    if pj.get("cpu_hours"):
        lines.append(f"- On this CPU (I3D {pj['cpu_i3d_s_per_clip_from_bench_i3d']} s per clip from bench_i3d): "
                     f"about {pj['cpu_hours']:,} hours.")  # fmt: skip
    lines.append("- On an H100: not measured in this session (no GPU); run this benchmark with `i3d-k400` there.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
