"""Reference HTTP server for any black-box model (protocol: :mod:`mesampler.remote.protocol`).

Standard library only (``http.server.ThreadingHTTPServer``). Model calls are serialised by a lock;
request bodies are validated (400), size-limited (413) and, with a token, authenticated (401).
Meant for loopback and trusted networks: there is no TLS.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from mesampler.models.protocol import Model, model_info
from mesampler.remote.protocol import (
    FORMATS,
    INFO_PATH,
    JSON_TYPE,
    PREDICT_PATH,
    PROTOCOL_VERSION,
    ProtocolError,
    check_score_batch,
    check_video_batch,
    decode_array,
    encode_array,
    error_body,
    media_type,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_BYTES = 256 << 20
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ModelServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` answering the protocol for ``model``.

    Counters: ``requests`` (``/predict`` requests answered 200), ``videos`` (videos scored in them)
    and ``answered`` (every response sent). With ``max_requests``, ``done`` is set once that many
    responses have been sent (the caller then stops the server).
    """

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        model: Model,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token_env: str | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_bytes: int = DEFAULT_MAX_BYTES,
        request_timeout: float = 60.0,
        max_requests: int | None = None,
    ) -> None:
        from mesampler.models.adapters.load import load_model

        if max_batch < 1 or max_bytes < 1:
            raise ValueError(f"max_batch and max_bytes must be >= 1, got {max_batch}, {max_bytes}")
        self.model = load_model(model)
        self.max_batch = max_batch
        self.max_bytes = max_bytes
        self.request_timeout = request_timeout
        self._token = ""
        if token_env:
            self._token = os.environ.get(token_env, "")
            if not self._token:
                raise ValueError(f"environment variable {token_env} is not set (or empty); it must hold the token")
        self.token_env = token_env
        self.model_lock = threading.Lock()
        self.count_lock = threading.Lock()
        self.requests = 0
        self.videos = 0
        self.answered = 0
        self.max_requests = max_requests
        self.done = threading.Event()
        self._thread: threading.Thread | None = None
        if host not in _LOOPBACK:
            log.warning("serving on %s: reachable from other machines, and the protocol has no TLS", host)
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def info(self) -> dict[str, Any]:
        about = model_info(self.model)
        return {
            "protocol": PROTOCOL_VERSION,
            "num_classes": about.num_classes,
            "classes": list(about.classes) if about.classes is not None else None,
            "frames": about.frames,
            "size": about.size,
            "max_batch": self.max_batch,
            "formats": sorted(FORMATS),
        }

    def token_ok(self, header: str | None) -> bool:
        if not self._token:
            return True
        expected = f"Bearer {self._token}".encode()
        return hmac.compare_digest((header or "").encode(), expected)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A request that died (slow or vanished client): log it instead of printing to stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (TimeoutError, ConnectionError)):
            log.debug("request from %s dropped: %s", client_address[0], type(exc).__name__)
        else:
            log.warning("request from %s failed", client_address[0], exc_info=True)

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving (if started by :func:`serve_in_thread`) and release the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout)
            self._thread = None
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer
    protocol_version = "HTTP/1.0"
    server_version = "mesampler"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.request_timeout)

    def log_message(self, format: str, *args: Any) -> None:  # request line and status only, never headers
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str = JSON_TYPE) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        srv = self.server
        with srv.count_lock:
            srv.answered += 1
            if srv.max_requests is not None and srv.answered >= srv.max_requests:
                srv.done.set()

    def _error(self, status: int, message: str) -> None:
        self._send(status, error_body(message))

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                return
            length -= len(chunk)

    def do_GET(self) -> None:
        if not self.server.token_ok(self.headers.get("Authorization")):
            self._error(401, "missing or wrong bearer token")
        elif self.path.split("?")[0] == INFO_PATH:
            self._send(200, json.dumps(self.server.info()).encode())
        else:
            self._error(404, f"no such path {self.path.split('?')[0]!r}; use POST {PREDICT_PATH} or GET {INFO_PATH}")

    def do_POST(self) -> None:
        srv = self.server
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(411, "Content-Length is required")
            return
        if length < 0 or length > srv.max_bytes:
            self._drain(min(length, 4 * srv.max_bytes))
            self._error(413, f"body of {length} bytes; this server takes at most {srv.max_bytes}")
            return
        body = self.rfile.read(length)
        if not srv.token_ok(self.headers.get("Authorization")):
            self._error(401, "missing or wrong bearer token")
            return
        if self.path.split("?")[0] != PREDICT_PATH:
            self._error(404, f"no such path {self.path.split('?')[0]!r}; use POST {PREDICT_PATH}")
            return
        ctype = media_type(self.headers.get("Content-Type"))
        if ctype not in FORMATS.values():
            self._error(415, f"unsupported Content-Type {ctype!r}; use one of {sorted(FORMATS.values())}")
            return
        if len(body) != length:
            self._error(400, f"body ended after {len(body)} of {length} bytes")
            return
        try:
            videos = decode_array(body, ctype, "videos")
            check_video_batch(videos)
        except ProtocolError as e:
            self._error(400, str(e))
            return
        if videos.shape[0] > srv.max_batch:
            self._error(413, f"{videos.shape[0]} videos in one request; this server takes at most {srv.max_batch}")
            return
        try:
            with srv.model_lock:
                scores = np.asarray(srv.model(videos), dtype=np.float32)
                check_score_batch(scores, videos.shape[0])
                srv.requests += 1
                srv.videos += videos.shape[0]
        except Exception as e:  # any model failure becomes a 500 for the client, with the reason
            log.exception("model failed on a batch of shape %s", videos.shape)
            self._error(500, f"model failed: {type(e).__name__}: {e}")
            return
        self._send(200, encode_array(scores, ctype, "scores"), ctype)


def make_server(model: Model, host: str = "127.0.0.1", port: int = 0, **options: Any) -> ModelServer:
    """A bound, not yet serving :class:`ModelServer` (``port=0`` picks a free port; see ``.url``); ``options``
    are :class:`ModelServer`'s (``token_env``, ``max_batch``, ``max_bytes``, ``request_timeout``, ...)."""
    try:
        return ModelServer(model, host, port, **options)
    except OSError as e:
        raise ValueError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def serve_in_thread(
    model: Model,
    host: str = "127.0.0.1",
    port: int = 0,
    **kwargs: Any,
) -> tuple[ModelServer, str]:
    """Start serving ``model`` in a daemon thread -> ``(server, base_url)``; stop with ``server.close()``.

    ``model`` is anything :func:`~mesampler.models.adapters.load_model` accepts; ``kwargs`` go to
    :func:`make_server`.
    """
    server = make_server(model, host, port, **kwargs)
    server._thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="mesampler-serve", daemon=True
    )
    server._thread.start()
    return server, server.url
