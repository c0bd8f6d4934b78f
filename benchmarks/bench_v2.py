"""Queries per second through an Open Inference Protocol endpoint versus the in-process model (issue 13).

    python benchmarks/bench_v2.py [--batches 1,4,16] [--seconds 4] [--threads 1]

The test-bed model (``testbed-motion``: 16 frames, 64², 10 classes) answers ``(N, 16, 64, 64, 3)`` float32
batches (a) in process, (b) through ``mesampler serve``'s server in a thread (v2 binary tensor extension,
v2 JSON, the older npy protocol) and (c) through a real KServe ``ModelServer`` in its own process
(``tests/kserve_server.py``: binary and JSON). Arms are interleaved round by round so that a busy machine
slows them alike; each arm gets ``--seconds`` of calls per batch size. Bytes per query are the request and
answer bodies divided by the videos in them. Writes ``benchmarks/results/v2.json`` and ``v2.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import torch

import mesampler.models as M
from mesampler.models.adapters import load_model
from mesampler.remote import serve_in_thread, v2
from mesampler.reports import environment

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
NORM = {"mean": (0.5,) * 3, "std": (0.25,) * 3}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_kserve(log: Path, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "KS_PORT": str(port),
        "KS_LOG": str(log),
        "KS_NAME": "testbed",
        "OMP_NUM_THREADS": str(threads),
    }
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "kserve_server.py")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    end = time.monotonic() + 90
    while time.monotonic() < end:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                return proc, f"http://127.0.0.1:{port}/v2/models/testbed"
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the KServe server did not start")


def body_bytes(arm: str, x: np.ndarray, k: int) -> tuple[int, int]:
    """(request, answer) body bytes of one call on ``x`` in ``arm``'s format."""
    n = x.shape[0]
    scores = np.zeros((n, k), np.float32)
    if arm.endswith("binary"):
        req, _ = v2.encode_request("clip", x, "logits", binary=True, binary_output=True)
        ans, _ = v2.encode_response("testbed", {"logits": scores}, True)
    elif arm.endswith("json"):
        req, _ = v2.encode_request("clip", x, "logits", binary=False, binary_output=False)
        ans, _ = v2.encode_response("testbed", {"logits": scores}, False)
    elif arm == "mesampler-npy":
        return x.nbytes + 128, scores.nbytes + 128
    else:
        return 0, 0
    return len(req), len(ans)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="1,4,16")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    local = M.create("testbed-motion")
    # 16 clips in JSON are 61 MB, beyond the default JSON cap
    server, base = serve_in_thread(local, name="testbed", max_batch=64, max_json_bytes=256 << 20)
    log = Path(tempfile.mkdtemp()) / "kserve.jsonl"
    proc, ks_url = start_kserve(log, args.threads)
    try:
        arms: dict[str, Callable] = {
            "in-process": local,
            "mesampler-serve v2 binary": load_model(server.v2_url, binary=True),
            "mesampler-serve v2 json": load_model(server.v2_url, binary=False),
            "mesampler-npy": load_model(base, format="npy"),
            "kserve v2 binary": load_model(ks_url, output="logits", binary=True, **NORM),
            "kserve v2 json": load_model(ks_url, output="logits", binary=False, **NORM),
        }
        rows = []
        for b in [int(s) for s in args.batches.split(",")]:
            x = np.random.default_rng(b).random((b, 16, 64, 64, 3), dtype=np.float32)
            for model in arms.values():
                model(x)  # warm up: connections, metadata
            done = dict.fromkeys(arms, 0)
            spent = dict.fromkeys(arms, 0.0)
            rounds = 0
            while rounds < 3 or max(spent.values()) < args.seconds:  # the slowest arm sets the length
                rounds += 1
                for name, model in arms.items():
                    t0 = time.perf_counter()
                    model(x)
                    spent[name] += time.perf_counter() - t0
                    done[name] += b
            in_process = done["in-process"] / spent["in-process"]
            for name in arms:
                req, ans = body_bytes(name.split(" ", 1)[-1] if name.startswith("kserve") else name, x, 10)
                qps = done[name] / spent[name]
                rows.append({"batch": b, "arm": name, "videos": done[name], "seconds": round(spent[name], 3),
                             "queries_per_s": round(qps, 2), "ratio_to_in_process": round(qps / in_process, 3),
                             "request_bytes_per_query": round(req / b),
                             "answer_bytes_per_query": round(ans / b)})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
    finally:
        server.close()
        proc.terminate()
        proc.wait(10)
    result = {"environment": environment(), "threads": args.threads, "seconds_per_arm": args.seconds, "rows": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "v2.json").write_text(json.dumps(result, indent=1))
    lines = [
        "# Queries/s through an Open Inference Protocol endpoint vs in process (test-bed model, 16x64x64)",
        "",
        f"Machine: {result['environment']['processor']}, {result['environment']['cpus']} CPUs, torch threads "
        f"{args.threads}; arms interleaved, {args.seconds:g} s each per batch size; loopback.",
        "",
        "| batch | arm | queries/s | x in-process | request B/query | answer B/query |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['batch']} | {r['arm']} | {r['queries_per_s']} | {r['ratio_to_in_process']} | "
              f"{r['request_bytes_per_query']} | {r['answer_bytes_per_query']} |" for r in rows]  # fmt: skip
    by = {(r["batch"], r["arm"]): r for r in rows}
    for b in sorted({r["batch"] for r in rows}):
        for server in ("mesampler-serve", "kserve"):
            binary, js = by[(b, f"{server} v2 binary")], by[(b, f"{server} v2 json")]
            size = js["request_bytes_per_query"] / binary["request_bytes_per_query"]
            speed = binary["queries_per_s"] / js["queries_per_s"]
            lines.append(
                f"\nBatch {b}, {server}: JSON sends {size:.1f}x the bytes of binary and is {speed:.1f}x slower."
            )
    lines.append(
        "\nChoose the binary tensor extension (the default of `V2Model` and `mesampler attack`); JSON only where a "
        "gateway refuses binary bodies. KServe 0.21's REST path turns binary inputs into Python lists on arrival "
        "(`InferRequest.from_bytes` calls `set_data_from_numpy(..., binary_data=False)`), so its binary arm is "
        "bounded by that conversion, not by the transport."
    )
    (OUT / "v2.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
