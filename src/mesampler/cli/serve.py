"""``mesampler serve MODEL --port P``: the reference HTTP server for any model ``load_model`` accepts."""

from __future__ import annotations

import argparse
import logging
import threading

from mesampler.remote.protocol import INFO_PATH, PREDICT_PATH
from mesampler.remote.server import DEFAULT_MAX_BATCH, DEFAULT_MAX_BYTES

NAME = "serve"
HELP = "serve a model over HTTP (POST /predict, GET /info; see mesampler.remote.protocol)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="registered model name, .onnx / .pt / .ts file, or http(s) URL")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (0: any free port; default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback only)")
    parser.add_argument("--token-env", metavar="VAR", help="require 'Authorization: Bearer <token>' with $VAR's value")
    parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="videos per request (413 beyond)")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="request body bytes (413 beyond)")
    parser.add_argument("--device", help="device for torch models (e.g. cuda:0); default: the model's own")
    parser.add_argument("--layout", choices=("NTHWC", "NCTHW", "NTCHW"), help="input layout of a model file")
    parser.add_argument("--mean", type=float, nargs=3, metavar=("R", "G", "B"), help="mean for a model file")
    parser.add_argument("--std", type=float, nargs=3, metavar=("R", "G", "B"), help="std for a model file")
    parser.add_argument("--max-requests", type=int, metavar="N", help="stop after answering N requests")


def run(args: argparse.Namespace) -> int:
    from mesampler.models.adapters import load_model
    from mesampler.remote import make_server

    if args.max_requests is not None and args.max_requests < 1:
        raise ValueError(f"--max-requests must be >= 1, got {args.max_requests}")
    options = {k: getattr(args, k) for k in ("device", "layout", "mean", "std") if getattr(args, k) is not None}
    model = load_model(args.model, **options)
    server = make_server(
        model,
        args.host,
        args.port,
        token_env=args.token_env,
        max_batch=args.max_batch,
        max_bytes=args.max_bytes,
        max_requests=args.max_requests,
    )
    auth = f", token from ${args.token_env}" if args.token_env else ""
    log.info("serving %r at %s (POST %s, GET %s%s)", args.model, server.url, PREDICT_PATH, INFO_PATH, auth)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        while not server.done.wait(0.5):
            if not thread.is_alive():
                break
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
    log.info("answered %d requests (%d videos scored)", server.answered, server.videos)
    return 0
