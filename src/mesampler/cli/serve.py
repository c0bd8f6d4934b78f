"""``mesampler serve MODEL``: any model ``load_model`` accepts, behind the Open Inference Protocol (KServe v2)
and the older mesampler protocol, on uvicorn (:mod:`mesampler.remote.server`)."""

from __future__ import annotations

import argparse
import logging
import re
import time
from pathlib import Path

from mesampler.cli.model_options import add_model_arguments, model_kwargs
from mesampler.remote.server import DEFAULT_MAX_BATCH, DEFAULT_MAX_BYTES, DEFAULT_MAX_JSON_BYTES

NAME = "serve"
HELP = "serve a model over HTTP: Open Inference Protocol (POST /v2/models/NAME/infer) and POST /predict"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="registered model name, .onnx / .pt / .ts file, or http(s) URL")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (0: any free port; default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback only)")
    parser.add_argument("--name", help="model name in /v2/models/NAME (default: from MODEL)")
    parser.add_argument("--token-env", metavar="VAR", help="require 'Authorization: Bearer <token>' with $VAR's value")
    parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="videos per request (413 beyond)")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="binary body bytes (413 beyond)")
    parser.add_argument(
        "--max-json-bytes", type=int, default=DEFAULT_MAX_JSON_BYTES, help="JSON body bytes (413 beyond)"
    )
    parser.add_argument("--request-timeout", type=float, default=60.0, help="seconds to receive a body (408 beyond)")
    parser.add_argument("--device", help="device for torch models (e.g. cuda:0); default: the model's own")
    add_model_arguments(parser, remote=False)
    parser.add_argument("--max-requests", type=int, metavar="N", help="stop after answering N requests")


def default_name(ref: str) -> str:
    """A v2 model name from a model reference: a registered name as it is, a file's stem, else ``model``."""
    stem = ref if "://" not in ref and "/" not in ref and "\\" not in ref else Path(ref).stem
    stem = Path(stem).stem if Path(stem).suffix in (".onnx", ".pt", ".pth", ".ts", ".torchscript") else stem
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", stem).strip("-.")[:64]
    return name if name and name[0].isalnum() else "model"


def run(args: argparse.Namespace) -> int:
    from mesampler.models.adapters import load_model
    from mesampler.remote import make_server

    if args.max_requests is not None and args.max_requests < 1:
        raise ValueError(f"--max-requests must be >= 1, got {args.max_requests}")
    options = model_kwargs(args, args.model)
    if args.device is not None:
        options["device"] = args.device
    model = load_model(args.model, **options)
    server = make_server(
        model,
        args.host,
        args.port,
        name=args.name or default_name(args.model),
        token_env=args.token_env,
        max_batch=args.max_batch,
        max_bytes=args.max_bytes,
        max_json_bytes=args.max_json_bytes,
        request_timeout=args.request_timeout,
        max_requests=args.max_requests,
    )
    auth = f", token from ${args.token_env}" if args.token_env else ""
    log.info("serving %r at %s (Open Inference Protocol; also POST /predict%s)", args.model, server.v2_url, auth)
    server.start()
    try:
        while not server.done.wait(0.2):
            if not server.serving:
                break
        time.sleep(0.05)  # let the last answer leave before the socket closes
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.close()
    log.info("answered %d requests (%d videos scored)", server.answered, server.videos)
    return 0
