"""Improved motion maps vs fixed GOPs, measured by the attack: queries saved on the motion test-bed.

Run: ``python benchmarks/bench_improved.py [--videos 30] [--budget 1500] [--eps 0.01]`` (a few minutes on CPU).
Writes benchmarks/results/improved_maps.json and .md.

Each held-out test-bed video is rendered 48 frames long (``TestbedConfig(frames=48)``, same classes and motion
ranges); the model sees the middle 16 frames, the window a 16-frame test-bed clip covers. The ME-Sampler attacks that
window with maps made from the whole 48-frame video, once from fixed GOPs of 12 (4 maps) and once from improved
intervals (:mod:`mesampler.motion.improved`), with the same seed per video, so the comparison is paired. A third
arm uses the window's own maps (the default ``motion=None``) for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import mesampler
from mesampler import models, testbed
from mesampler.motion import coverage, motion_maps

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
LONG = testbed.TestbedConfig(frames=48)
WINDOW = slice(16, 32)


def videos(model: models.VideoModel, n: int) -> list[tuple[np.ndarray, int]]:
    """``n`` long held-out clips whose middle window the model classifies correctly: ``(video48, label)``."""
    out = []
    for i, child in enumerate(np.random.SeedSequence(testbed.TEST_SEED).spawn(4 * n)):
        label = i % len(testbed.CLASSES)
        video, _ = testbed.make_clip(label, child, cfg=LONG)
        if int(np.asarray(model(video[None, WINDOW].astype(np.float32) / 255)).argmax()) == label:
            out.append((video, label))
        if len(out) == n:
            break
    return out


def summary(queries: np.ndarray, success: np.ndarray) -> dict:
    return {
        "success_rate": round(float(success.mean()), 4),
        "anq_all": round(float(queries.mean()), 1),
        "anq_success": round(float(queries[success].mean()), 1) if success.any() else None,
        "median_all": float(np.median(queries)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=30)
    ap.add_argument("--budget", type=int, default=1500)
    ap.add_argument("--eps", type=float, default=0.01)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = models.create("testbed-motion")
    data = videos(model, args.videos)
    clips = [v[WINDOW] for v, _ in data]
    labels = [y for _, y in data]
    fixed = [motion_maps(v, kind="mv", cache=False) for v, _ in data]
    improved = [motion_maps(v, kind="mv", improved=True, cache=False) for v, _ in data]
    arms = {"fixed GOPs (48 frames)": fixed, "improved intervals (48 frames)": improved, "window's own MV": None}
    rows: dict[str, dict] = {}
    t0 = time.perf_counter()
    for name, motions in arms.items():
        rs = mesampler.attack_batch(
            model, clips, labels=labels, motions=motions, eps=args.eps, max_queries=args.budget, seed=0
        )
        q = np.array([r.queries if r.success else args.budget for r in rs], float)
        ok = np.array([r.success for r in rs])
        rows[name] = {**summary(q, ok), "queries": q.astype(int).tolist()}
        print(name, {k: v for k, v in rows[name].items() if k != "queries"}, flush=True)
    qf = np.array(rows["fixed GOPs (48 frames)"]["queries"], float)
    qi = np.array(rows["improved intervals (48 frames)"]["queries"], float)
    ratio = qi / qf
    rng = np.random.default_rng(0)
    boot = [np.mean(qi[s]) / np.mean(qf[s]) for s in rng.integers(0, len(qf), (2000, len(qf)))]
    result = {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__},
        "setting": {
            "videos": len(data),
            "budget": args.budget,
            "eps": args.eps,
            "method": "me-sampler",
            "video_frames": LONG.frames,
            "window": [WINDOW.start, WINDOW.stop],
        },  # fmt: skip
        "map_coverage_mean": {
            "fixed": round(float(np.mean([coverage(m) for m in fixed])), 4),
            "improved": round(float(np.mean([coverage(m) for m in improved])), 4),
        },
        "maps_per_video_mean": {
            "fixed": float(np.mean([len(m) for m in fixed])),
            "improved": float(np.mean([len(m) for m in improved])),
        },
        "arms": rows,
        "improved_over_fixed": {
            "anq_ratio": round(float(qi.mean() / qf.mean()), 4),
            "anq_ratio_95ci": [round(float(x), 4) for x in np.percentile(boot, [2.5, 97.5])],
            "paired_ratio_median": round(float(np.median(ratio)), 4),
            "videos_fewer_queries": int((qi < qf).sum()),
            "videos_more_queries": int((qi > qf).sum()),
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "improved_maps.json").write_text(json.dumps(result, indent=2) + "\n")
    c = result["improved_over_fixed"]
    lines = [
        "# Improved motion maps vs fixed GOPs: queries saved (motion test-bed)",
        "",
        f"{len(data)} held-out videos rendered 48 frames long, middle 16 frames attacked; ME-Sampler, eps {args.eps}, "
        f"budget {args.budget}, same seed per video in every arm. CPU ({os.cpu_count()} cores).",
        "",
        "| maps | SR | ANQ (failures at budget) | ANQ successes | median |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {k} | {r['success_rate']} | {r['anq_all']} | {r['anq_success']} | {r['median_all']} |"
              for k, r in rows.items()]  # fmt: skip
    lines += [
        "",
        f"Improved / fixed ANQ ratio {c['anq_ratio']} (95 % bootstrap CI {c['anq_ratio_95ci']}); median paired ratio "
        f"{c['paired_ratio_median']}; fewer queries on {c['videos_fewer_queries']} videos, more on "
        f"{c['videos_more_queries']}. Map coverage: fixed {result['map_coverage_mean']['fixed']}, improved "
        f"{result['map_coverage_mean']['improved']}; maps per video {result['maps_per_video_mean']}.",
        "",
    ]
    (OUT / "improved_maps.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
