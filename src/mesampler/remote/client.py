"""A model behind an HTTP endpoint (the protocol in :mod:`mesampler.remote.protocol`).

Standard library only (``http.client``): separate connect and read timeouts, bounded retries with
exponential backoff on 5xx / 429 / connection errors / timeouts, a bearer token read from an
environment variable (never logged, never in a repr or an exception), and exact query counts.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mesampler.models.adapters._arrays import like_input, to_numpy_videos
from mesampler.remote.protocol import (
    DEFAULT_TOKEN_ENV,
    FORMATS,
    INFO_PATH,
    JSON_TYPE,
    PREDICT_PATH,
    ProtocolError,
    check_score_batch,
    decode_array,
    encode_array,
    error_message,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteSpec:
    """What a server's ``/info`` says its model expects."""

    frames: int | None
    size: int | None
    num_classes: int | None


class RemoteModelError(RuntimeError):
    """The remote model could not answer: unreachable, refused the request, or sent a malformed answer.

    ``status`` is the last HTTP status (``None`` when no answer came back).
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Retryable(Exception):
    """An attempt failed in a way worth retrying (message in ``args[0]``)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class HTTPModel:
    """Scores from a remote model: ``(N, T, H, W, 3)`` float32 in [0, 1] -> ``(N, K)`` float32.

    Counters (thread-safe, never reset by the model itself):

    * ``queries``: videos whose scores came back and passed the checks; what an attack is charged.
    * ``attempts``: HTTP requests to ``/predict``, retries included.
    * ``videos_sent``: videos sent over all attempts (``>= queries`` when retries happened).

    Args:
        url: base URL (``http://host:port``); a trailing ``/predict`` is accepted.
        format: ``"npy"`` (binary, default) or ``"json"`` request and response bodies.
        token_env: environment variable holding the bearer token; unset or empty means no
            ``Authorization`` header. ``None`` never sends one.
        connect_timeout, read_timeout: seconds, for the TCP connect and for each socket read/write.
        retries: extra attempts after a retryable failure (5xx, 429, connection error, timeout).
        backoff: seconds before the first retry, doubled each retry, at most ``max_backoff``.
        batch_size: videos per request; ``None`` uses the server's ``max_batch`` from ``/info``.
        max_response_bytes: larger answers are refused.
    """

    accepts_torch = False

    def __init__(
        self,
        url: str,
        *,
        format: str = "npy",
        token_env: str | None = DEFAULT_TOKEN_ENV,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        batch_size: int | None = None,
        max_response_bytes: int = 64 << 20,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"model URL must look like http://host:port, got {url!r}")
        if parts.username or parts.password:
            raise ValueError("put no credentials in the model URL; give the token through an environment variable")
        if format not in FORMATS:
            raise ValueError(f"format must be one of {sorted(FORMATS)}, got {format!r}")
        if retries < 0 or backoff < 0 or connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("retries and backoff must be >= 0 and timeouts > 0")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        try:
            self._port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise ValueError(f"model URL {url!r} has a bad port: {e}") from None
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        prefix = parts.path.rstrip("/")
        if prefix.endswith(PREDICT_PATH):
            prefix = prefix[: -len(PREDICT_PATH)]
        self._prefix = prefix
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, prefix, "", ""))
        self.format = format
        self.content_type = FORMATS[format]
        self.token_env = token_env
        self._token = os.environ.get(token_env, "") if token_env else ""
        if token_env and not self._token:
            log.debug("%s is not set; sending no Authorization header", token_env)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.batch_size = batch_size
        self.max_response_bytes = max_response_bytes
        self.queries = 0
        self.attempts = 0
        self.videos_sent = 0
        self._lock = threading.Lock()
        self._info: dict[str, Any] | None = None

    def __repr__(self) -> str:
        auth = f", token from ${self.token_env}" if self._token else ""
        return f"HTTPModel({self.url!r}, format={self.format!r}{auth})"

    # -- transport ---------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _request(self, method: str, path: str, body: bytes | None, accept: str) -> tuple[int, str, bytes]:
        """One HTTP exchange -> (status, content type, body). Raises ``_Retryable`` on transport failures."""
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self.connect_timeout)
        headers = {"Accept": accept, "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = self.content_type
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            conn.connect()
            conn.sock.settimeout(self.read_timeout)
            conn.request(method, self._prefix + path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read(self.max_response_bytes + 1)
            ctype = resp.getheader("Content-Type", "")
            status = resp.status
        except ssl.SSLError as e:
            raise RemoteModelError(f"{self.url}: TLS error: {self._scrub(str(e))}") from None
        except TimeoutError:
            raise _Retryable(f"timed out (connect {self.connect_timeout:g}s, read {self.read_timeout:g}s)") from None
        except (OSError, http.client.HTTPException) as e:
            raise _Retryable(f"{type(e).__name__}: {self._scrub(str(e)) or 'connection failed'}") from None
        finally:
            conn.close()
        if len(data) > self.max_response_bytes:
            raise RemoteModelError(
                f"{self.url}{path}: answer larger than {self.max_response_bytes} bytes", status=status
            )
        return status, ctype, data

    def _exchange(self, method: str, path: str, body: bytes | None, accept: str, n: int) -> tuple[str, bytes]:
        """``_request`` with retries; returns (content type, body) of a 2xx answer."""
        last = ""
        status = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
            if n:
                with self._lock:
                    self.attempts += 1
                    self.videos_sent += n
            try:
                status, ctype, data = self._request(method, path, body, accept)
            except _Retryable as e:
                last, status = str(e), None
                log.debug("%s%s attempt %d failed: %s", self.url, path, attempt + 1, last)
                continue
            if 200 <= status < 300:
                return ctype, data
            msg = self._scrub(error_message(data))
            if status >= 500 or status == 429:
                last = f"HTTP {status}: {msg}"
                log.debug("%s%s attempt %d failed: %s", self.url, path, attempt + 1, last)
                continue
            hint = ""
            if status == 401:
                src = f"${self.token_env}" if self.token_env else "no token (token_env=None)"
                hint = f" (the token came from {src}; is it set and the one the server expects?)"
            raise RemoteModelError(f"{self.url}{path} refused the request: HTTP {status}: {msg}{hint}", status=status)
        raise RemoteModelError(
            f"{self.url}{path}: no answer after {self.retries + 1} attempts; last: {last}", status=status
        )

    # -- API ---------------------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """The server's ``GET /info`` (cached after the first success)."""
        if self._info is None:
            ctype, data = self._exchange("GET", INFO_PATH, None, JSON_TYPE, 0)
            try:
                obj = json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError):
                obj = None
            if not isinstance(obj, dict):
                raise RemoteModelError(f"{self.url}{INFO_PATH}: answer is not a JSON object: {data[:80]!r}")
            self._info = obj
        return self._info

    @property
    def num_classes(self) -> int | None:
        k = self.info().get("num_classes")
        return int(k) if isinstance(k, int) else None

    @property
    def classes(self) -> list[str] | None:
        c = self.info().get("classes")
        return list(c) if isinstance(c, list) else None

    @property
    def spec(self) -> RemoteSpec:
        """Frames, size and classes the server advertises in ``/info`` (``None`` where it says nothing)."""
        info = self.info()
        frames, size = info.get("frames"), info.get("size")
        return RemoteSpec(
            frames=frames if isinstance(frames, int) and frames > 0 else None,
            size=size if isinstance(size, int) and size > 0 else None,
            num_classes=self.num_classes,
        )

    def _batch_size(self) -> int | None:
        if self.batch_size is not None:
            return self.batch_size
        b = self.info().get("max_batch")
        return int(b) if isinstance(b, int) and b > 0 else None

    def _predict(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        ctype, data = self._exchange(
            "POST", PREDICT_PATH, encode_array(x, self.content_type, "videos"), self.content_type, n
        )
        try:
            scores = decode_array(data, ctype, "scores")
            check_score_batch(scores, n)
        except ProtocolError as e:
            raise RemoteModelError(f"{self.url}{PREDICT_PATH} sent a malformed answer: {self._scrub(str(e))}") from None
        with self._lock:
            self.queries += n
        return scores

    def __call__(self, videos: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """``(N, T, H, W, 3)`` float32 in [0, 1] -> ``(N, K)`` float32 (numpy or torch, like the input)."""
        x = to_numpy_videos(videos)
        bs = self._batch_size() or x.shape[0]
        scores = np.concatenate([self._predict(x[i : i + bs]) for i in range(0, x.shape[0], bs)])
        return like_input(scores, videos)
