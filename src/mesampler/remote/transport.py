"""HTTP exchanges for the remote-model clients (on ``httpx``): retries, deadlines, a secret token, counts.

* Separate connect and read timeouts, and an overall ``deadline`` per attempt that also stops a server that
  trickles its answer (a per-read timeout alone never fires then).
* Bounded retries with exponential backoff on 5xx, 429, connection errors and timeouts; other answers
  (4xx) raise at once with the server's message.
* A bearer token from an environment variable, never logged and scrubbed from every message.
* ``attempts`` and ``videos_sent`` count every try; the clients count ``queries`` only for checked answers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.parse
from typing import Any

import httpx

from mesampler.remote.v2 import error_message

log = logging.getLogger(__name__)

DEFAULT_TOKEN_ENV = "MESAMPLER_TOKEN"
Answer = tuple[int, dict[str, str], bytes]
"""(status, headers with lower-case names, body)."""


class RemoteModelError(RuntimeError):
    """The remote model could not answer: unreachable, refused the request, or sent a malformed answer.

    ``status`` is the last HTTP status (``None`` when no answer came back).
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


_TOKEN_CHARS = frozenset(map(chr, range(0x20, 0x7F)))
_HTTP_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy",
                 "httpcore.socks", __name__)  # fmt: skip


def read_token(env: str) -> str:
    """The bearer token in ``$env`` without surrounding whitespace (a token pasted from a file keeps its
    newline), ``""`` when unset; ``ValueError`` (naming the variable, never the value) for characters an HTTP
    header cannot carry: httpx would otherwise put the whole header, token included, in its error."""
    token = os.environ.get(env, "").strip()
    if not set(token) <= _TOKEN_CHARS:
        raise ValueError(f"${env} holds characters a bearer token cannot have (control or non-ASCII ones)")
    if token:
        _SCRUBBER.tokens.add(token)
    return token


def scrub_token(text: str, token: str) -> str:
    """``text`` with ``token`` (also as ``repr`` escapes it) replaced by ``***``."""
    if not token:
        return text
    for form in (token, repr(token)[1:-1], str(token.encode())[2:-1]):
        text = text.replace(form, "***")
    return text


class _Scrubber(logging.Filter):
    """Takes every known token out of the records of httpx and httpcore (whose DEBUG records hold the
    response headers, which a careless or hostile server may echo the token in) and of this module."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.tokens:
            msg = record.getMessage()
            clean = msg
            for token in self.tokens:
                clean = scrub_token(clean, token)
            if clean != msg:
                record.msg, record.args = clean, None
        return True


_SCRUBBER = _Scrubber()
for _name in _HTTP_LOGGERS:
    logging.getLogger(_name).addFilter(_SCRUBBER)


class _Retryable(Exception):
    """An attempt failed in a way worth retrying (message in ``args[0]``)."""


def split_url(url: str) -> urllib.parse.SplitResult:
    """Check an ``http(s)://host[:port]/path`` URL; ``ValueError`` naming what is wrong."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"model URL must look like http://host:port, got {url!r}")
    if parts.username or parts.password:
        raise ValueError("put no credentials in the model URL; give the token through an environment variable")
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as e:
        raise ValueError(f"model URL {url!r} has a bad port: {e}") from None
    return parts


def transport_options(what: str, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` after checking that each key is a :class:`Transport` option (``TypeError`` naming ``what``)."""
    from mesampler.registry import check_keywords, keyword_names

    check_keywords(what, given, sorted((keyword_names(Transport) or set()) - {"base"}), "option")
    return given


class Transport:
    """Requests to one server: ``base`` (``scheme://host:port[/prefix]``) plus a path.

    Args:
        token_env: environment variable holding the bearer token; unset or empty sends none; ``None`` never does.
        connect_timeout, read_timeout: seconds for the TCP connect and for each socket read or write.
        deadline: seconds one attempt may take in all, answer included.
        retries: extra attempts after a retryable failure; backoff: seconds before the first retry, doubled
            each retry, at most ``max_backoff``.
        max_response_bytes: larger answers are refused.
    """

    def __init__(
        self,
        base: str,
        *,
        token_env: str | None = DEFAULT_TOKEN_ENV,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        deadline: float = 300.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_response_bytes: int = 64 << 20,
    ) -> None:
        if retries < 0 or backoff < 0 or min(connect_timeout, read_timeout, deadline) <= 0:
            raise ValueError("retries and backoff must be >= 0 and timeouts > 0")
        self.base = base.rstrip("/")
        self.token_env = token_env
        self._token = read_token(token_env) if token_env else ""
        if token_env and not self._token:
            log.debug("%s is not set; sending no Authorization header", token_env)
        self.connect_timeout, self.read_timeout, self.deadline = connect_timeout, read_timeout, deadline
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self.max_response_bytes = max_response_bytes
        self.attempts = 0
        self.videos_sent = 0
        self.lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._pid = -1

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def scrub(self, text: str) -> str:
        """``text`` without the token."""
        return scrub_token(text, self._token)

    def _http(self) -> httpx.Client:
        if self._client is None or self._pid != os.getpid():  # a fresh pool after a fork
            timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
            # identity: httpx would ask for gzip/deflate, and servers that compress (Triton does) must not
            # make max_response_bytes count compressed bytes; a server that compresses anyway is decoded.
            self._client = httpx.Client(
                timeout=timeout, follow_redirects=False, trust_env=False, headers={"Accept-Encoding": "identity"}
            )
            self._pid = os.getpid()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __getstate__(self) -> dict[str, Any]:  # picklable for process executors; the pool is rebuilt there
        return {**self.__dict__, "_client": None, "lock": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock = threading.Lock()

    def _request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        """One attempt -> (status, headers, body); ``_Retryable`` on transport failures and the deadline."""
        headers = dict(headers)
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        end = time.monotonic() + self.deadline
        try:
            with self._http().stream(method, self.base + path, content=body, headers=headers) as resp:
                chunks, size = [], 0
                for chunk in resp.iter_bytes():  # decoded: the bound holds for what is kept
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise RemoteModelError(
                            f"{self.base}{path}: answer larger than {self.max_response_bytes} bytes",
                            status=resp.status_code,
                        )
                    if time.monotonic() > end:
                        raise _Retryable(f"timed out (no full answer within the {self.deadline:g}s deadline)")
                    chunks.append(chunk)
                return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, b"".join(chunks)
        except httpx.DecodingError as e:
            raise RemoteModelError(f"{self.base}{path}: answer cannot be decoded: {self.scrub(str(e))}") from None
        except httpx.TimeoutException:
            raise _Retryable(f"timed out (connect {self.connect_timeout:g}s, read {self.read_timeout:g}s)") from None
        except httpx.TransportError as e:
            raise _Retryable(f"{type(e).__name__}: {self.scrub(str(e)) or 'connection failed'}") from None

    def exchange(self, method: str, path: str, body: bytes | None, headers: dict[str, str], n: int = 0) -> Answer:
        """``_request`` with retries -> the first 2xx answer; ``RemoteModelError`` otherwise.

        ``n``: videos in the body, added to ``videos_sent`` on every attempt (0 for metadata requests)."""
        last, status = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
            if n:
                with self.lock:
                    self.attempts += 1
                    self.videos_sent += n
            try:
                answer = self._request(method, path, body, headers)
            except _Retryable as e:
                last, status = str(e.args[0]), None
                log.debug("%s%s attempt %d failed: %s", self.base, path, attempt + 1, last)
                continue
            status = answer[0]
            if 200 <= status < 300:
                return answer
            if 300 <= status < 400:
                where = self.scrub(answer[1].get("location", "nowhere (no Location header)"))
                raise RemoteModelError(
                    f"{self.base}{path} answered HTTP {status}, a redirect to {where[:300]}; redirects are not "
                    "followed (the token would go along): give the final URL",
                    status=status,
                )
            msg = self.scrub(error_message(answer[2]))
            if status >= 500 or status == 429:
                last = f"HTTP {status}: {msg}"
                log.debug("%s%s attempt %d failed: %s", self.base, path, attempt + 1, last)
                continue
            hint = ""
            if status == 401:
                src = f"${self.token_env}" if self.token_env else "no token (token_env=None)"
                hint = f" (the token came from {src}; is it set and the one the server expects?)"
            raise RemoteModelError(f"{self.base}{path} refused the request: HTTP {status}: {msg}{hint}", status=status)
        raise RemoteModelError(
            f"{self.base}{path}: no answer after {self.retries + 1} attempts; last: {last}", status=status
        )


class RemoteModel:
    """What the HTTP model clients share: the transport, the query counter, and a repr that names where the
    token comes from but never the token. Subclasses call :meth:`_connect` and :meth:`_charge`."""

    accepts_torch = False
    transport: Transport
    queries: int
    batch_size: int | None

    def _connect(self, base: str, token_env: str | None, batch_size: int | None, options: dict[str, Any]) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.transport = Transport(base, token_env=token_env, **transport_options(type(self).__name__, options))
        self.queries = 0

    @property
    def attempts(self) -> int:
        """Requests that carried videos, retries included."""
        return self.transport.attempts

    @property
    def videos_sent(self) -> int:
        """Videos sent over all attempts (``>= queries`` when retries happened)."""
        return self.transport.videos_sent

    def _auth(self) -> str:
        return f", token from ${self.transport.token_env}" if self.transport.has_token else ""

    def _charge(self, n: int) -> None:
        """Count ``n`` videos whose checked scores arrived."""
        with self.transport.lock:
            self.queries += n
