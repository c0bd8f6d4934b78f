"""Serve any black-box model over HTTP: the Open Inference Protocol (:mod:`.v2`) and, for compatibility, the
mesampler protocol (:mod:`.protocol`), on Starlette and uvicorn.

Before a request body is read: the bearer token (401), ``Content-Length`` (411 when absent, 413 beyond
``max_bytes``, or ``max_json_bytes`` for JSON, whose parse costs a few times its size in memory). Bodies are
read within ``request_timeout`` seconds (408), JSON nesting is bounded (400), values are checked (400),
model failures are 500 with the reason. Model calls are serialised by a lock. Loopback by default; no TLS.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mesampler.models.protocol import Model, model_info
from mesampler.remote import protocol as legacy
from mesampler.remote import v2
from mesampler.remote.transport import read_token

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_BYTES = 256 << 20
DEFAULT_MAX_JSON_BYTES = 32 << 20
INPUT, OUTPUT = "videos", "scores"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``[::1]`` or ``::1`` for IPv6); ``ValueError`` saying why not.

    The socket is made with ``IPPROTO_TCP`` so that asyncio sets ``TCP_NODELAY`` on each connection (with
    protocol 0 it does not, and Nagle's algorithm then holds every answer's body until the client's delayed
    ACK: about 40 ms per request on a kept-alive connection)."""
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer in 0..65535 (0: any free port), got {port!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except OSError as e:
        raise ValueError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    family, _, proto, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> Response:
    return Response(v2.error_body(message), status, media_type=v2.JSON_TYPE)


class ModelServer:
    """``model`` behind HTTP on ``host:port`` (``port=0``: a free one; see ``.url``), bound at construction.

    Endpoints: ``GET /v2``, ``/v2/health/live``, ``/v2/health/ready``, ``/v2/models/NAME[/ready]``, ``POST
    /v2/models/NAME/infer`` (input ``videos``: ``(N, T, H, W, 3)`` FP32 in [0, 1], or UINT8 pixels; output
    ``scores``: ``(N, K)`` FP32), and the mesampler protocol's ``POST /predict``, ``GET /info``.

    Counters: ``requests`` (inference requests answered 200), ``videos`` (videos scored in them),
    ``answered`` (every response sent). With ``max_requests``, ``done`` is set once that many responses
    have been sent (the caller then stops the server).
    """

    def __init__(
        self,
        model: Model,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "model",
        token_env: str | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_json_bytes: int = DEFAULT_MAX_JSON_BYTES,
        request_timeout: float = 60.0,
        max_requests: int | None = None,
    ) -> None:
        from mesampler.models.adapters.load import load_model

        if min(max_batch, max_bytes, max_json_bytes) < 1 or request_timeout <= 0:
            raise ValueError("max_batch, max_bytes and max_json_bytes must be >= 1 and request_timeout > 0")
        if not _NAME.match(name):
            raise ValueError(f"model name {name!r}: use letters, digits, '_', '.', '-' (at most 64)")
        self.model = load_model(model)
        self.name = name
        self.max_batch, self.max_bytes, self.max_json_bytes = max_batch, max_bytes, max_json_bytes
        self.request_timeout = request_timeout
        self._token = ""
        if token_env:
            self._token = read_token(token_env)
            if not self._token:
                raise ValueError(f"environment variable {token_env} is not set (or empty); it must hold the token")
        self.token_env = token_env
        about = model_info(self.model)
        self.frames, self.size = about.frames, about.size
        self.model_lock = threading.Lock()
        self.count_lock = threading.Lock()
        self.requests = self.videos = self.answered = 0
        self.max_requests = max_requests
        self.done = threading.Event()
        self.socket = _listen(host, port)
        if not _is_loopback(self.socket.getsockname()[0]):
            log.warning("serving on %s: reachable from other machines, and there is no TLS", host)
        config = uvicorn.Config(
            self._asgi, interface="asgi3", log_config=None, access_log=False, lifespan="off", loop="asyncio",
            http="h11", timeout_keep_alive=5, h11_max_incomplete_event_size=16 << 10,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/v2", self._server_meta),
                Route("/v2/health/live", self._health),
                Route("/v2/health/ready", self._health),
                Route("/v2/models/{model}", self._metadata),
                Route("/v2/models/{model}/versions/{version}", self._metadata),
                Route("/v2/models/{model}/ready", self._ready),
                Route("/v2/models/{model}/infer", self._infer, methods=["POST"]),
                Route("/v2/models/{model}/versions/{version}/infer", self._infer, methods=["POST"]),
                Route(legacy.INFO_PATH, self._info),
                Route(legacy.PREDICT_PATH, self._predict, methods=["POST"]),
            ],
            exception_handlers={HTTPException: self._http_error, Exception: self._crash},  # type: ignore[dict-item]
        )

    @property
    def num_classes(self) -> int | None:
        """Classes of the model's output, once known (some adapters learn it from their first call)."""
        return model_info(self.model).num_classes

    @property
    def classes(self) -> list[str] | None:
        c = model_info(self.model).classes
        return list(c) if c is not None else None

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    @property
    def v2_url(self) -> str:
        """The model's Open Inference Protocol URL, for :class:`~mesampler.remote.v2_client.V2Model`."""
        return f"{self.url}/v2/models/{self.name}"

    # -- ASGI: token and counts around the routes ---------------------------------------------------

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        # A body not read (refused before it, or sent to a route that takes none) is drained to its declared
        # end before the connection carries the next request: fine up to max_bytes (the client then gets its
        # answer whatever it does), but a larger or unknown length closes the connection after the answer.
        length = headers.get("content-length", "0")
        unread = [not length.isdigit() or int(length) > self.max_bytes or "transfer-encoding" in headers]

        async def tracked() -> Any:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                unread[0] = False
            return message

        async def counted(message: Any) -> None:
            if message["type"] == "http.response.start" and unread[0]:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                with self.count_lock:
                    self.answered += 1
                    if self.max_requests is not None and self.answered >= self.max_requests:
                        self.done.set()

        if not self._token_ok(headers.get("authorization")):
            await _error(401, "missing or wrong bearer token")(scope, tracked, counted)
            return
        await self.app(scope, tracked, counted)

    def _token_ok(self, header: str | None) -> bool:
        if not self._token:
            return True
        return hmac.compare_digest((header or "").encode(), f"Bearer {self._token}".encode())

    async def _http_error(self, request: Request, exc: HTTPException) -> Response:
        hint = "; endpoints: /v2/models/{name}[/infer], /v2/health/ready, POST /predict, GET /info"
        response = _error(exc.status_code, f"{exc.detail}: {request.method} {request.url.path}{hint}")
        response.headers.update(exc.headers or {})  # 405 carries Allow
        return response

    async def _crash(self, request: Request, exc: Exception) -> Response:
        """Any error a route did not expect: still a JSON 500 (Starlette would send plain text)."""
        return _error(500, f"internal error on {request.method} {request.url.path}: {type(exc).__name__}")

    # -- bodies -------------------------------------------------------------------------------------

    async def _body(self, request: Request, binary: bool) -> bytes:
        """The request body, after the size checks, within ``request_timeout``; ``_Refused`` otherwise."""
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            raise _Refused(411, "Content-Length is required")
        limit = self.max_bytes if binary else self.max_json_bytes
        if int(length) > limit:
            kind = "binary" if binary else "JSON"
            raise _Refused(413, f"body of {length} bytes; this server takes at most {limit} bytes of {kind}")
        try:
            body = await asyncio.wait_for(request.body(), self.request_timeout)
        except asyncio.TimeoutError:
            log.info("request from %s timed out while sending its body", request.client and request.client.host)
            raise _Refused(408, f"body not received within {self.request_timeout:g}s") from None
        if len(body) != int(length):
            raise _Refused(400, f"body ended after {len(body)} of {length} bytes")
        return body

    def _check_videos(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x / 255.0 if x.dtype == np.uint8 else x, dtype=np.float32)
        try:
            legacy.check_video_batch(x)
        except v2.ProtocolError as e:
            raise _Refused(400, str(e)) from None
        if x.shape[0] > self.max_batch:
            raise _Refused(413, f"{x.shape[0]} videos in one request; this server takes at most {self.max_batch}")
        return x

    async def _score(self, x: np.ndarray) -> np.ndarray:
        def call() -> np.ndarray:
            with self.model_lock:
                scores = np.asarray(self.model(x.copy()), dtype=np.float32)
                legacy.check_score_batch(scores, x.shape[0])
                with self.count_lock:
                    self.requests += 1
                    self.videos += x.shape[0]
                return scores

        try:
            return await run_in_threadpool(call)
        except Exception as e:  # any model failure becomes a 500 for the client, with the reason
            log.exception("model failed on a batch of shape %s", x.shape)
            raise _Refused(500, f"model failed: {type(e).__name__}: {e}") from None

    # -- Open Inference Protocol --------------------------------------------------------------------

    def _model_or_404(self, request: Request) -> None:
        if request.path_params["model"] != self.name:
            raise _Refused(404, f"no model {request.path_params['model']!r}; this server has {self.name!r}")

    def metadata(self) -> dict[str, Any]:
        """The v2 model metadata this server answers."""
        s = self.size or -1
        params: dict[str, Any] = {"layout": "NTHWC", "value_range": [0.0, 1.0], "max_batch": self.max_batch}
        classes = self.classes
        if classes is not None:
            params["classes"] = classes
        return {
            "name": self.name,
            "versions": ["1"],
            "platform": "mesampler",
            "inputs": [{"name": INPUT, "datatype": "FP32", "shape": [-1, self.frames or -1, s, s, 3]}],
            "outputs": [{"name": OUTPUT, "datatype": "FP32", "shape": [-1, self.num_classes or -1]}],
            "parameters": params,
        }

    async def _server_meta(self, request: Request) -> Response:
        from mesampler import __version__

        return JSONResponse({"name": "mesampler", "version": __version__, "extensions": ["binary_tensor_data"]})

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"live": True} if request.url.path.endswith("live") else {"ready": True})

    async def _metadata(self, request: Request) -> Response:
        try:
            self._model_or_404(request)
        except _Refused as e:
            return _error(e.status, str(e))
        return JSONResponse(self.metadata())

    async def _ready(self, request: Request) -> Response:
        try:
            self._model_or_404(request)
        except _Refused as e:
            return _error(e.status, str(e))
        return JSONResponse({"name": self.name, "ready": True})

    async def _infer(self, request: Request) -> Response:
        try:
            self._model_or_404(request)
            binary = v2.HEADER_LENGTH in request.headers
            if not binary and legacy.media_type(request.headers.get("content-type")) != v2.JSON_TYPE:
                raise _Refused(415, f"send {v2.JSON_TYPE}, or the binary extension with {v2.HEADER_LENGTH}")
            body = await self._body(request, binary)
            headers = {k.lower(): v for k, v in request.headers.items()}
            tensors, header = v2.decode_tensors(body, headers, "inputs", "infer request")
            if list(tensors) != [INPUT]:
                raise _Refused(400, f"expected one input {INPUT!r}, got {sorted(tensors)}")
            dt = tensors[INPUT].dtype
            if not (dt.kind == "f" or dt == np.uint8):
                raise _Refused(400, f"input {INPUT!r} must be FP16, FP32, FP64 or UINT8")
            want_binary = self._binary_output(header)
            x = self._check_videos(tensors[INPUT])
            scores = await self._score(x)
        except _Refused as e:
            return _error(e.status, str(e))
        except v2.ProtocolError as e:
            return _error(400, str(e))
        rid = header.get("id") if isinstance(header.get("id"), str) else None
        out, extra = v2.encode_response(self.name, {OUTPUT: scores}, want_binary, rid)
        return Response(out, 200, headers={k: v for k, v in extra.items() if k != "Content-Type"},
                        media_type=extra["Content-Type"])  # fmt: skip

    @staticmethod
    def _binary_output(header: dict[str, Any]) -> bool:
        outs = header.get("outputs")
        if isinstance(outs, list):
            for o in outs:
                if not isinstance(o, dict) or o.get("name") != OUTPUT:
                    raise _Refused(
                        400, f"unknown output {o.get('name') if isinstance(o, dict) else o!r}; use {OUTPUT!r}"
                    )
                p = o.get("parameters")
                if isinstance(p, dict) and p.get("binary_data"):
                    return True
        p = header.get("parameters")
        return bool(isinstance(p, dict) and p.get("binary_data_output"))

    # -- the mesampler protocol ---------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return {
            "protocol": legacy.PROTOCOL_VERSION,
            "num_classes": self.num_classes,
            "classes": self.classes,
            "frames": self.frames,
            "size": self.size,
            "max_batch": self.max_batch,
            "formats": sorted(legacy.FORMATS),
        }

    async def _info(self, request: Request) -> Response:
        return JSONResponse(self.info())

    async def _predict(self, request: Request) -> Response:
        ctype = legacy.media_type(request.headers.get("content-type"))
        try:
            if ctype not in legacy.FORMATS.values():
                raise _Refused(415, f"unsupported Content-Type {ctype!r}; use one of {sorted(legacy.FORMATS.values())}")
            body = await self._body(request, ctype == legacy.NPY_TYPE)
            x = self._check_videos(legacy.decode_array(body, ctype, "videos"))
            scores = await self._score(x)
        except _Refused as e:
            return _error(e.status, str(e))
        except v2.ProtocolError as e:
            return _error(400, str(e))
        return Response(legacy.encode_array(scores, ctype, "scores"), 200, media_type=ctype)

    # -- running --------------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`shutdown`."""
        self._server.run(sockets=[self.socket])

    def start(self, timeout: float = 10.0) -> None:
        """Serve in a daemon thread; returns once it accepts connections."""
        self._thread = threading.Thread(target=self.serve_forever, name="mesampler-serve", daemon=True)
        self._thread.start()
        end = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > end:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.01)

    @property
    def serving(self) -> bool:
        """Whether the server thread started by :meth:`start` is running."""
        return self._thread is not None and self._thread.is_alive()

    def shutdown(self) -> None:
        self._server.should_exit = True

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving and release the socket."""
        self.shutdown()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.socket.close()


def make_server(model: Model, host: str = "127.0.0.1", port: int = 0, **options: Any) -> ModelServer:
    """A bound, not yet serving :class:`ModelServer`; ``options`` are its keyword arguments."""
    return ModelServer(model, host, port, **options)


def serve_in_thread(model: Model, host: str = "127.0.0.1", port: int = 0, **options: Any) -> tuple[ModelServer, str]:
    """Start serving ``model`` (anything :func:`~mesampler.models.adapters.load_model` accepts) in a daemon
    thread -> ``(server, base_url)``; stop with ``server.close()``."""
    server = make_server(model, host, port, **options)
    server.start()
    return server, server.url
