"""Speed of the motion test-bed: clip generation, ``testbed-motion`` forward (batch 64), optional training.

    python benchmarks/train_testbed.py [--threads 2] [--train]

Writes benchmarks/results/train_testbed.json with machine info. ``--train`` retrains from scratch
(minutes) into a temporary file and reports its held-out accuracy and time; the committed checkpoint
is not touched.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mesampler.models import create
from mesampler.testbed import TEST_SEED, make_dataset


def _times(fn, repeats: int) -> list[float]:
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--train", action="store_true", help="also retrain from scratch (minutes)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    t = time.perf_counter()
    videos, labels, _ = make_dataset(64, TEST_SEED)
    gen_s = (time.perf_counter() - t) / 64
    model = create("testbed-motion")
    x = videos.astype(np.float32) / 255
    xt = torch.from_numpy(x)
    fwd_np = _times(lambda: model(x), args.repeats)
    fwd_t = _times(lambda: model(xt), args.repeats)
    res = {
        "generate_ms_per_clip": round(gen_s * 1e3, 2),
        "forward_batch64_numpy_s": {"median": statistics.median(fwd_np), "min": min(fwd_np)},
        "forward_batch64_torch_s": {"median": statistics.median(fwd_t), "min": min(fwd_t)},
        "accuracy_on_these_64": float((model(x).argmax(1) == labels).mean()),
    }
    if args.train:
        from mesampler.testbed.train import save, train

        net, record = train()
        with tempfile.TemporaryDirectory() as d:
            save(net, record, Path(d) / "testbed.safetensors")
        res["train"] = record
    res["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_avg_1min": __import__("os").getloadavg()[0],
    }
    out = Path(__file__).resolve().parent / "results" / "train_testbed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
