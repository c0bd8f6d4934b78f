"""HTTP adapter and reference server, end to end over loopback (127.0.0.1 only, bounded retries).

Fault injection: server down, intermittent 500s, answers slower than the read timeout, garbage
bodies and wrong tokens. Query counts must agree between the engine, the client and the model.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import mesampler
from mesampler.models.adapters import from_module, load_model
from mesampler.remote import HTTPModel, RemoteModelError, serve_in_thread
from mesampler.remote.protocol import FORMATS, NPY_TYPE, check_video_batch, decode_array, encode_array
from mesampler.remote.transport import _Retryable

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

T, H, W, K = 4, 8, 8, 5
FAST = {"retries": 3, "backoff": 0.01, "connect_timeout": 2.0, "read_timeout": 10.0}


class TinyNet(torch.nn.Module):
    """``(N, T, H, W, 3)`` -> ``(N, K)``; ``count`` = videos seen."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w1 = torch.nn.Parameter(torch.randn(T * H * W * 3, 16, generator=g) * 3 / (T * H * W * 3) ** 0.5)
        self.w2 = torch.nn.Parameter(torch.randn(16, K, generator=g))
        self.count = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.count += x.shape[0]
        return torch.tanh((x.reshape(x.shape[0], -1) - 0.5) @ self.w1) @ self.w2


class Faulty:
    """Numpy model around ``net`` that fails (raises or sleeps) on the calls ``fault(i)`` picks."""

    def __init__(self, net: TinyNet, fault: Callable[[int], str | None]) -> None:
        self.net, self.fault, self.calls = net, fault, 0

    def __call__(self, videos: np.ndarray) -> np.ndarray:
        self.calls += 1
        kind = self.fault(self.calls)
        if kind == "raise":
            raise RuntimeError("injected failure")
        if kind == "slow":
            time.sleep(0.6)
        with torch.no_grad():
            return self.net(torch.from_numpy(videos)).numpy()


def reference(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


@contextmanager
def serving(model: object, **kw: object) -> Iterator[tuple[object, str]]:
    server, url = serve_in_thread(model, "127.0.0.1", 0, **kw)
    try:
        yield server, url
    finally:
        server.close()


@contextmanager
def raw_server(reply: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """A loopback server whose POST answer is written by ``reply`` (for malformed answers)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            reply(self)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        th.join(5)
        srv.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def batch() -> np.ndarray:
    return np.random.default_rng(1).random((7, T, H, W, 3), dtype=np.float32)


@pytest.fixture
def video() -> np.ndarray:
    return np.random.default_rng(2).integers(0, 256, (T, H, W, 3), dtype=np.uint8)


def _attack(model: object, video: np.ndarray) -> mesampler.AttackResult:
    return mesampler.attack(model, video, method="multi-noise", eps=0.05, max_queries=30, seed=0)  # type: ignore[arg-type]


# -- same scores, exact counts ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["npy", "json"])
def test_http_same_scores(fmt: str, batch: np.ndarray) -> None:
    net = TinyNet().eval()
    with serving(from_module(net, num_classes=K), max_batch=3) as (server, url):
        m = load_model(url, format=fmt, **FAST)
        assert isinstance(m, HTTPModel) and m.num_classes == K
        np.testing.assert_allclose(m(batch), reference(net, batch), rtol=1e-5, atol=1e-5)
        out = m(torch.from_numpy(batch[:2]))
        assert isinstance(out, torch.Tensor)
        # 7 videos in chunks of max_batch=3 (from /info), then 2 more; /info is not a query
        assert (m.queries, m.attempts, m.videos_sent) == (9, 4, 9)
        assert server.videos == 9 and server.requests == 4


@pytest.mark.parametrize("fmt", ["npy", "json"])
def test_http_attack_exact_count(fmt: str, video: np.ndarray) -> None:
    net = TinyNet().eval()
    with serving(net) as (server, url):
        m = load_model(url + "/predict", format=fmt, batch_size=16, **FAST)
        r = _attack(m, video)
    assert r.queries == m.queries == net.count == server.videos > 0
    assert m.attempts == server.requests


def test_intermittent_500_retried_with_exact_count(video: np.ndarray) -> None:
    net = TinyNet().eval()
    flaky = Faulty(net, lambda i: "raise" if i % 3 == 1 else None)  # calls 1, 4, 7, ... fail
    with serving(flaky) as (server, url):
        m = HTTPModel(url, batch_size=16, **FAST)
        r = _attack(m, video)
    failed = m.attempts - server.requests
    assert failed >= 1 and m.videos_sent > m.queries
    assert r.queries == m.queries == net.count == server.videos > 0


def test_slow_answer_retried_then_counted_once(batch: np.ndarray) -> None:
    net = TinyNet().eval()
    slow_once = Faulty(net, lambda i: "slow" if i == 1 else None)
    with serving(slow_once) as (server, url):
        m = HTTPModel(url, batch_size=16, retries=2, backoff=0.7, read_timeout=0.3)
        np.testing.assert_allclose(m(batch), reference(net, batch), rtol=1e-5, atol=1e-5)
        assert (m.attempts, m.queries, m.videos_sent) == (2, 7, 14)
        # the late batch was evaluated by the server but its answer was lost: never charged
        assert server.videos == 14


def test_always_slow_gives_clear_error(batch: np.ndarray) -> None:
    slow = Faulty(TinyNet().eval(), lambda i: "slow")
    with serving(slow) as (_, url):
        m = HTTPModel(url, batch_size=16, retries=1, backoff=0.01, read_timeout=0.2)
        t0 = time.monotonic()
        with pytest.raises(RemoteModelError, match=r"no answer after 2 attempts; last: timed out"):
            m(batch[:1])
        assert time.monotonic() - t0 < 3
    assert (m.attempts, m.queries) == (2, 0)


def test_server_down_clear_error_after_bounded_retries(batch: np.ndarray) -> None:
    m = HTTPModel(f"http://127.0.0.1:{free_port()}", batch_size=4, retries=2, backoff=0.01, connect_timeout=1)
    t0 = time.monotonic()
    with pytest.raises(RemoteModelError, match=r"127.0.0.1:\d+/predict: no answer after 3 attempts.*Connection"):
        m(batch)
    assert time.monotonic() - t0 < 5
    assert (m.attempts, m.queries, m.videos_sent) == (3, 0, 12)


def test_model_failure_is_a_500_with_reason(batch: np.ndarray) -> None:
    with serving(Faulty(TinyNet(), lambda i: "raise")) as (server, url):
        m = HTTPModel(url, batch_size=16, retries=1, backoff=0.01)
        with pytest.raises(RemoteModelError, match="HTTP 500: model failed: RuntimeError: injected failure"):
            m(batch)
        assert (m.attempts, m.queries, server.videos) == (2, 0, 0)


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _reply(status: int, body: bytes, ctype: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def reply(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return reply


@pytest.mark.parametrize(
    "body, ctype, fmt, message",
    [
        (b"<html>hello</html>", "text/html", "npy", "unsupported Content-Type 'text/html'"),
        (b"hello", "application/x-npy", "npy", "not a .npy array"),
        (_npy(np.zeros((3, K), np.float32)), "application/x-npy", "npy", r"shape \(3, 5\); expected \(2, K\)"),
        (_npy(np.full((2, K), np.nan, np.float32)), "application/x-npy", "npy", "NaN"),
        (_npy(np.array([["a"] * K] * 2)), "application/x-npy", "npy", "dtype <U1"),
        (b"{not json", "application/json", "json", "not valid JSON"),
        (json.dumps({"oops": 1}).encode(), "application/json", "json", 'key "scores"'),
        (b'{"scores": [[1, NaN, 3, 4, 5], [1, 2, 3, 4, 5]]}', "application/json", "json", "NaN"),
        (json.dumps({"scores": [[1, 2], [3]]}).encode(), "application/json", "json", "not a rectangular array"),
    ],
)
def test_garbage_body_clear_error_not_retried(body: bytes, ctype: str, fmt: str, message: str) -> None:
    with raw_server(_reply(200, body, ctype)) as url:
        m = HTTPModel(url, format=fmt, batch_size=16, **FAST)
        with pytest.raises(RemoteModelError, match=f"malformed answer: .*{message}"):
            m(np.zeros((2, T, H, W, 3), np.float32))
    assert (m.attempts, m.queries) == (1, 0)


def test_wrong_token_clear_error_without_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, batch: np.ndarray
) -> None:
    server_token, wrong = "srv-Secret-0123456789", "cli-Wrong-9876543210"
    monkeypatch.setenv("TEST_SERVER_TOKEN", server_token)
    monkeypatch.setenv("MESAMPLER_TOKEN", wrong)
    caplog.set_level(logging.DEBUG)
    net = TinyNet().eval()
    with serving(net, token_env="TEST_SERVER_TOKEN") as (server, url):
        m = HTTPModel(url, batch_size=16, **FAST)
        with pytest.raises(RemoteModelError, match=r"HTTP 401.*\$MESAMPLER_TOKEN") as exc:
            m(batch)
        assert exc.value.status == 401 and m.attempts == 1 and m.queries == 0
        texts = [str(exc.value), repr(exc.value), repr(m), caplog.text]
        monkeypatch.delenv("MESAMPLER_TOKEN")
        with pytest.raises(RemoteModelError, match="HTTP 401"):
            HTTPModel(url, batch_size=16, **FAST)(batch)
        monkeypatch.setenv("CLIENT_TOKEN", server_token)
        ok = HTTPModel(url, token_env="CLIENT_TOKEN", batch_size=16, **FAST)
        np.testing.assert_allclose(ok(batch), reference(net, batch), rtol=1e-5, atol=1e-5)
        assert ok.num_classes == K  # /info with the token works too
        texts += [repr(ok), caplog.text, repr(server)]
    for text in texts:
        assert server_token not in text and wrong not in text


def test_token_echoed_by_a_server_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "echo-Secret-5555"
    monkeypatch.setenv("MESAMPLER_TOKEN", token)

    def echo(h: BaseHTTPRequestHandler) -> None:
        _reply(403, json.dumps({"error": f"bad header {h.headers['Authorization']}"}).encode(), "application/json")(h)

    with raw_server(echo) as url:
        with pytest.raises(RemoteModelError, match=r"HTTP 403: bad header Bearer \*\*\*") as exc:
            HTTPModel(url, batch_size=4, **FAST)(np.zeros((1, T, H, W, 3), np.float32))
    assert token not in str(exc.value)


def test_server_missing_token_env_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_TOKEN_VAR", raising=False)
    with pytest.raises(ValueError, match="NO_SUCH_TOKEN_VAR is not set"):
        serve_in_thread(TinyNet().eval(), token_env="NO_SUCH_TOKEN_VAR")


# -- the server validates requests -----------------------------------------------------------------


def _post(url: str, body: bytes, ctype: str, path: str = "/predict") -> tuple[int, str]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": ctype})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read()).get("error", "")
    finally:
        conn.close()


def test_server_rejects_bad_requests(batch: np.ndarray) -> None:
    net = TinyNet().eval()
    npy = "application/x-npy"
    with serving(net, max_batch=4, max_bytes=200_000) as (server, url):
        assert _post(url, b"junk", npy) == (400, "body is not a .npy array (starts with b'junk')")
        assert _post(url, _npy(batch[0]), npy) == (400, "expected videos of shape (N, T, H, W, 3), got (4, 8, 8, 3)")
        status, msg = _post(url, _npy(batch * 2), npy)
        assert status == 400 and "must lie in [0, 1]" in msg
        status, msg = _post(url, _npy(np.full_like(batch, np.nan)), npy)
        assert status == 400 and "NaN" in msg
        assert _post(url, _npy(batch), npy)[0] == 413  # 7 videos > max_batch 4
        assert _post(url, b"\0" * 300_000, npy)[0] == 413  # bytes > max_bytes
        assert _post(url, b"{}", "text/plain")[0] == 415
        assert _post(url, json.dumps({"video": []}).encode(), "application/json") == (
            400,
            'JSON body must be an object with key "videos"',
        )
        assert _post(url, b"", npy, path="/elsewhere")[0] == 404
        assert net.count == 0 and server.requests == 0
        m = HTTPModel(url, batch_size=5, **FAST)
        with pytest.raises(RemoteModelError, match="HTTP 413: 5 videos in one request; .* at most 4"):
            m(batch)
        assert m.attempts == 1


def test_client_option_errors() -> None:
    with pytest.raises(ValueError, match="http://host:port"):
        HTTPModel("127.0.0.1:8000")
    with pytest.raises(ValueError, match="no credentials"):
        HTTPModel("http://user:pw@127.0.0.1:8000")
    with pytest.raises(ValueError, match="format must be one of"):
        HTTPModel("http://127.0.0.1:8000", format="xml")
    with pytest.raises(ValueError, match="timeouts > 0"):
        HTTPModel("http://127.0.0.1:8000", read_timeout=0)


# -- the CLI ----------------------------------------------------------------------------------------


def test_cli_serve_bounded(tmp_path: Path, batch: np.ndarray) -> None:
    import argparse

    from mesampler.cli import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)

    net = TinyNet().eval()
    path = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.trace(net, torch.rand(2, T, H, W, 3)), str(path))
    port = free_port()
    rc: list[int] = []
    cli = threading.Thread(
        target=lambda: rc.append(serve.run(parser.parse_args([str(path), "--port", str(port), "--max-requests", "2"]))),
        daemon=True,
    )
    cli.start()
    m = HTTPModel(f"http://127.0.0.1:{port}", batch_size=16, retries=30, backoff=0.05, max_backoff=0.5)
    try:
        np.testing.assert_allclose(m(batch), reference(net, batch), rtol=1e-5, atol=1e-5)  # retried until it listens
        assert m.num_classes == K  # /info: the second request
    finally:
        cli.join(20)
    assert rc == [0] and m.queries == 7


def test_cli_serve_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mesampler.cli.main import main

    assert main(["serve", str(tmp_path / "missing.onnx"), "--port", "0"]) == 2
    assert "missing.onnx" in capsys.readouterr().err


# -- invariants (no network) ------------------------------------------------------------------------

_outcome = st.sampled_from(["ok", "500", "503", "429", "conn", "timeout"])


@settings(max_examples=60, deadline=None)
@given(outcomes=st.lists(_outcome, min_size=1, max_size=6), retries=st.integers(0, 4), n=st.integers(1, 5))
def test_counts_stay_exact_for_any_fault_sequence(outcomes: list[str], retries: int, n: int) -> None:
    """``queries`` grows by n only for an answered batch; ``attempts``/``videos_sent`` count every try."""
    m = HTTPModel("http://127.0.0.1:9", batch_size=16, retries=retries, backoff=0.0)
    calls: list[str] = []

    def fake(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        kind = outcomes[len(calls)] if len(calls) < len(outcomes) else "ok"
        calls.append(kind)
        if kind == "ok":
            return 200, {"content-type": NPY_TYPE}, _npy(np.arange(n * K, dtype=np.float32).reshape(n, K))
        if kind in ("conn", "timeout"):
            raise _Retryable(kind)
        return int(kind), {"content-type": "application/json"}, b'{"error": "x"}'

    m.transport._request = fake  # type: ignore[method-assign]
    first_ok = next((i for i, k in enumerate(outcomes) if k == "ok"), len(outcomes))
    if first_ok <= retries:
        assert m(np.zeros((n, T, H, W, 3), np.float32)).shape == (n, K)
        assert (m.queries, m.attempts) == (n, first_ok + 1)
    else:
        with pytest.raises(RemoteModelError, match=f"no answer after {retries + 1} attempts"):
            m(np.zeros((n, T, H, W, 3), np.float32))
        assert (m.queries, m.attempts) == (0, retries + 1)
    assert m.videos_sent == n * m.attempts


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
    fmt=st.sampled_from(sorted(FORMATS)),
    seed=st.integers(0, 2**16),
)
def test_protocol_round_trip(shape: tuple[int, int, int, int], fmt: str, seed: int) -> None:
    x = np.random.default_rng(seed).random((*shape, 3), dtype=np.float32)
    y = decode_array(encode_array(x, FORMATS[fmt], "videos"), FORMATS[fmt], "videos")
    check_video_batch(y)
    np.testing.assert_array_equal(y, x)  # float32 survives JSON exactly (repr round-trips)


def test_server_answers_a_stalled_client_with_408(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mesampler.remote.server")
    with serving(TinyNet().eval(), request_timeout=0.3) as (server, url):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /predict HTTP/1.0\r\nContent-Type: application/x-npy\r\nContent-Length: 1000\r\n\r\nabc")
            t0 = time.monotonic()
            assert s.recv(1024).startswith(b"HTTP/1.1 408")  # half a request, then silence
            assert time.monotonic() - t0 < 3
        end = time.monotonic() + 3
        while server.answered < 1 and time.monotonic() < end:  # counted just after the answer leaves
            time.sleep(0.01)
        assert "timed out" in caplog.text and server.answered == 1 and server.requests == 0


def test_serve_registered_testbed_by_name(batch: np.ndarray) -> None:
    from mesampler.models.registry import list_models

    if "testbed-motion" not in {e.name for e in list_models()}:
        pytest.skip("testbed-motion is not registered yet")
    from mesampler.models import testbed

    if not (testbed.BUNDLED.is_file() or (testbed.cache_dir() / testbed.WEIGHTS_NAME).is_file()):
        pytest.skip("testbed-motion weights are neither bundled nor cached (training them takes minutes)")
    local = load_model("testbed-motion")
    with serving("testbed-motion") as (_, url):
        remote = HTTPModel(url, **FAST)
        assert remote.num_classes == local.num_classes
        np.testing.assert_allclose(remote(batch), local(batch), rtol=1e-5, atol=1e-5)
        assert remote.queries == len(batch)


# -- hardening: defects found by probing the stack as an attacker and a careless user ---------------


def _raw(port: int, request: bytes, wait: float = 3.0) -> bytes:
    """Send raw bytes; everything the server sends until it closes or is silent for ``wait`` seconds, with
    ``<EOF>`` appended when it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(request)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
            return data + b"<EOF>"
        except (TimeoutError, ConnectionResetError):
            return data


def test_kept_alive_requests_are_not_held_by_nagle() -> None:
    """The listening socket had protocol 0, so asyncio never set TCP_NODELAY: each answer's body waited for
    the client's delayed ACK, ~44 ms per request on a kept-alive connection (60 requests took 2.6 s)."""
    import httpx

    with serving(TinyNet().eval(), max_batch=4) as (server, url):
        with httpx.Client() as c:
            c.get(url + "/v2/health/live")
            t0 = time.monotonic()
            for _ in range(60):
                assert c.get(url + "/v2/health/live").status_code == 200
            elapsed = time.monotonic() - t0
        m = load_model(server.v2_url, **FAST)  # type: ignore[attr-defined]
        x = np.zeros((1, T, H, W, 3), np.float32)
        m(x)
        t0 = time.monotonic()
        for _ in range(30):
            m(x)
        infer = time.monotonic() - t0
    assert elapsed < 1.0 and infer < 1.5, f"60 GETs took {elapsed:.2f} s, 30 infer calls {infer:.2f} s"


def test_server_address_errors_are_clear() -> None:
    f = from_module(TinyNet().eval(), num_classes=K)
    for port in (99999, -1):
        with pytest.raises(ValueError, match="port must be an integer in 0..65535"):
            serve_in_thread(f, "127.0.0.1", port)  # was OverflowError from bind()
    with serving(f) as (_, url):
        with pytest.raises(ValueError, match="Address already in use"):
            serve_in_thread(f, "127.0.0.1", int(url.rsplit(":", 1)[1]))
    if not socket.has_ipv6:
        return
    try:
        server, url6 = serve_in_thread(f, "[::1]", 0)  # as in a URL; was "Name or service not known"
    except ValueError as e:
        pytest.skip(f"no IPv6 loopback here ({e})")
    try:
        assert url6.startswith("http://[::1]:")
        assert HTTPModel(url6, **FAST)(np.zeros((1, T, H, W, 3), np.float32)).shape == (1, K)
    finally:
        server.close()


def test_refused_unread_body_closes_the_connection_only_when_large() -> None:
    """A body refused before it is read used to be drained to its declared end (10**9 bytes here) on a kept-alive
    connection; beyond max_bytes the server now answers and closes. Smaller ones stay drained, so the next
    request on the connection is still read correctly."""
    with serving(TinyNet().eval(), max_bytes=1 << 16, max_json_bytes=1 << 12) as (_, url):
        port = int(url.rsplit(":", 1)[1])
        for path in ("/v2/models/model/infer", "/predict", "/info"):
            head = (
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {10**10}\r\n\r\n"
            )
            t0 = time.monotonic()
            answer = _raw(port, head.encode() + b"x" * 1000)
            assert answer.endswith(b"<EOF>") and b"connection: close" in answer.lower(), answer[:300]
            assert time.monotonic() - t0 < 2.5 and answer.split(b" ")[1] in (b"413", b"405")
        chunked = (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        answer = _raw(port, chunked + b"5\r\nhello\r\n")
        assert answer.startswith(b"HTTP/1.1 411") and answer.endswith(b"<EOF>")
        small = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
        answer = _raw(port, small + b" " * 5000 + b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n", wait=1.0)
        assert answer.startswith(b"HTTP/1.1 413") and b"connection: close" not in answer.lower()
        assert b"HTTP/1.1 200" in answer and answer.rstrip(b"<EOF>").endswith(b'{"live":true}')


def test_refused_unread_body_with_a_wrong_token_closes_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SERVER_TOKEN", "srv-Secret-42")
    with serving(TinyNet().eval(), token_env="TEST_SERVER_TOKEN", max_bytes=1 << 16) as (_, url):
        head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-npy\r\n"
        head += b"Content-Length: 9999999999\r\n\r\n"
        answer = _raw(int(url.rsplit(":", 1)[1]), head + b"\0" * 1000)
        assert answer.startswith(b"HTTP/1.1 401") and answer.endswith(b"<EOF>")


def test_unexpected_server_errors_are_json_and_405_says_allow(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    with serving(TinyNet().eval()) as (server, url):

        def broken() -> dict:
            raise KeyError("boom")

        monkeypatch.setattr(server, "metadata", broken)
        r = httpx.get(server.v2_url)  # type: ignore[attr-defined]
        assert r.status_code == 500 and "KeyError" in r.json()["error"]  # was text/plain "Internal Server Error"
        r = httpx.put(server.v2_url + "/infer")  # type: ignore[attr-defined]
        assert r.status_code == 405 and r.headers["allow"] == "POST" and "PUT" in r.json()["error"]


def test_v2_shapes_and_header_lengths_are_checked_strictly() -> None:
    from mesampler.remote import v2

    def req(shape: list, data: list | None = None, size: int | None = None) -> bytes:
        item: dict = {"name": "x", "datatype": "FP32", "shape": shape}
        if size is None:
            item["data"] = data if data is not None else []
        else:
            item["parameters"] = {"binary_data_size": size}
        return json.dumps({"inputs": [item]}).encode()

    cases = [
        (req([True, 2], [1.0, 2.0]), {}, "integer list 'shape'"),  # was accepted as shape [1, 2]
        (req([10**30, 2], [1.0]), {}, "1 values for shape"),  # was OverflowError (a 500)
        (req([2**62, 4, 1, 1, 1], []), {}, "0 values for shape"),  # int64 product wrapped to 0: ValueError
        (req([2**62, 4], size=0), {v2.HEADER_LENGTH: "x"}, "not a decimal byte count"),
        (req([1], size=4) + b"abcd", {v2.HEADER_LENGTH: "+" + str(len(req([1], size=4)))}, "not a decimal"),
        (req([1], size=4) + b"abcd", {v2.HEADER_LENGTH: "1_0"}, "not a decimal"),
        (req([1], size=4) + b"abcd", {v2.HEADER_LENGTH: "9" * 5000}, "not a decimal"),  # was ValueError (int limit)
        (req([1], size=4) + b"abcd", {v2.HEADER_LENGTH: "0"}, r"must lie in 1\.\.104"),
    ]
    wrapped = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2**62, 4], "parameters": {
        "binary_data_size": 0}}]}).encode()  # fmt: skip
    cases.append((wrapped, {v2.HEADER_LENGTH: str(len(wrapped))}, "binary_data_size 0 does not match"))
    two = {"name": "x", "datatype": "FP32", "shape": [1], "data": [0.5]}
    cases.append((json.dumps({"inputs": [two, two]}).encode(), {}, "two tensors named 'x'"))
    for body, headers, message in cases:
        with pytest.raises(v2.ProtocolError, match=message):
            v2.decode_tensors(body, headers, "inputs", "request")


@pytest.mark.parametrize(
    "datatype, data, message",
    [
        ("FP32", ["0.5", "0.5"], "got strings"),  # numpy's cast parsed the strings
        ("FP32", [True, False], "got booleans"),
        ("FP32", [0.5, None], "mixed values or null"),
        ("UINT8", [0.7, 1.0], "got fractions"),  # was truncated to 0 silently
        ("UINT8", [300, 1], r"values in \[1, 300\]; UINT8 holds \[0, 255\]"),
        ("INT8", [-129, 0], "INT8 holds"),
    ],
)
def test_v2_json_data_must_be_numbers_of_the_datatype(datatype: str, data: list, message: str) -> None:
    from mesampler.remote import v2

    body = json.dumps({"inputs": [{"name": "x", "datatype": datatype, "shape": [2], "data": data}]}).encode()
    with pytest.raises(v2.ProtocolError, match=message):
        v2.decode_tensors(body, {}, "inputs", "request")


def test_v2_json_data_nested_flat_and_integral_floats() -> None:
    from mesampler.remote import v2

    for data in ([[1, 2, 3], [4, 5, 255]], [1, 2, 3, 4, 5, 255], [1.0, 2.0, 3, 4, 5, 255.0]):
        body = json.dumps({"inputs": [{"name": "x", "datatype": "UINT8", "shape": [2, 3], "data": data}]}).encode()
        got = v2.decode_tensors(body, {}, "inputs", "request")[0]["x"]
        np.testing.assert_array_equal(got, np.array([[1, 2, 3], [4, 5, 255]], np.uint8))
        assert got.dtype == np.uint8


def test_server_answers_400_for_a_bad_tensor_shape_and_types() -> None:
    import httpx

    with serving(TinyNet().eval()) as (server, url):
        for shape, data in (([True, T, H, W, 3], [0.5] * (T * H * W * 3)), ([10**30, T, H, W, 3], [0.5])):
            body = {"inputs": [{"name": "videos", "datatype": "FP32", "shape": shape, "data": data}]}
            r = httpx.post(server.v2_url + "/infer", json=body)  # type: ignore[attr-defined]
            assert r.status_code == 400, r.text  # both were 500 "Internal Server Error" (text/plain)
        body = {"inputs": [{"name": "videos", "datatype": "UINT8", "shape": [1, T, H, W, 3],
                            "data": [0.7] * (T * H * W * 3)}]}  # fmt: skip
        r = httpx.post(server.v2_url + "/infer", json=body)  # type: ignore[attr-defined]
        assert r.status_code == 400 and "fractions" in r.json()["error"]
        assert server.requests == 0  # type: ignore[attr-defined]


def test_token_with_a_newline_is_stripped_and_a_bad_one_never_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    """``MESAMPLER_TOKEN=$(cat file)`` strips the newline, other ways of setting it keep it: httpx then refused
    the header with an error quoting it, token included, and the client retried that error."""
    token = "nl-Secret-0987"
    monkeypatch.setenv("TEST_SERVER_TOKEN", token + "\n")
    monkeypatch.setenv("MESAMPLER_TOKEN", token + "\r\n")
    net = TinyNet().eval()
    x = np.zeros((1, T, H, W, 3), np.float32)
    with serving(net, token_env="TEST_SERVER_TOKEN") as (server, url):
        np.testing.assert_allclose(HTTPModel(url, **FAST)(x), reference(net, x), rtol=1e-5, atol=1e-5)
        assert load_model(server.v2_url, **FAST)(x).shape == (1, K)  # type: ignore[attr-defined]
    for bad in (token + "\nX-Injected: 1", token + "\u00e9"):
        monkeypatch.setenv("MESAMPLER_TOKEN", bad)
        with pytest.raises(ValueError, match=r"\$MESAMPLER_TOKEN holds characters") as exc:
            HTTPModel("http://127.0.0.1:9", **FAST)
        assert token not in str(exc.value)
    from mesampler.remote.transport import scrub_token

    assert scrub_token(f"b'Bearer {token}' and {token!r}", token) == "b'Bearer ***' and '***'"


def test_http_library_debug_logs_never_hold_the_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """httpcore logs every response's headers at DEBUG; a server that echoes the Authorization header (or
    puts the token in a redirect) put it in the log."""
    token = "log-Secret-31337"
    monkeypatch.setenv("MESAMPLER_TOKEN", token)
    caplog.set_level(logging.DEBUG)

    def echo(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("X-Echo", h.headers["Authorization"])
        h.send_header("Content-Type", NPY_TYPE)
        body = _npy(np.zeros((1, K), np.float32))
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    with raw_server(echo) as url:
        assert HTTPModel(url, batch_size=4, **FAST)(np.zeros((1, T, H, W, 3), np.float32)).shape == (1, K)
    assert "X-Echo" in caplog.text and "Bearer ***" in caplog.text
    assert token not in caplog.text


def test_redirect_is_a_clear_error_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "redir-Secret-777"
    monkeypatch.setenv("MESAMPLER_TOKEN", token)

    def redirect(h: BaseHTTPRequestHandler) -> None:
        h.send_response(307)
        h.send_header("Location", f"http://127.0.0.1:9/predict?t={h.headers['Authorization'].split()[1]}")
        h.send_header("Content-Length", "0")
        h.end_headers()

    with raw_server(redirect) as url:
        m = HTTPModel(url, batch_size=4, **FAST)
        with pytest.raises(RemoteModelError, match=r"HTTP 307, a redirect to http://127.0.0.1:9/predict\?t=\*\*\*; "
                           "redirects are not followed") as exc:  # fmt: skip
            m(np.zeros((1, T, H, W, 3), np.float32))  # was "refused the request: HTTP 307: " (nothing more)
    assert exc.value.status == 307 and m.attempts == 1 and token not in str(exc.value)


def test_compressed_answers_are_decoded_and_bounded() -> None:
    """httpx asked for gzip, and the raw (compressed) bytes were parsed: a server that compresses (Triton does
    when asked) gave "not a .npy array". Now identity is asked for and a compressed answer is decoded, its
    decoded size bounded by max_response_bytes (a gzip bomb)."""
    import gzip

    asked: list[str | None] = []
    scores = np.arange(2 * K, dtype=np.float32).reshape(2, K)

    def gz(payload: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
        def reply(h: BaseHTTPRequestHandler) -> None:
            asked.append(h.headers.get("Accept-Encoding"))
            body = gzip.compress(payload)
            h.send_response(200)
            h.send_header("Content-Type", NPY_TYPE)
            h.send_header("Content-Encoding", "gzip")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)

        return reply

    with raw_server(gz(_npy(scores))) as url:
        np.testing.assert_array_equal(
            HTTPModel(url, batch_size=4, **FAST)(np.zeros((2, T, H, W, 3), np.float32)), scores
        )
    assert asked == ["identity"]
    with raw_server(gz(b"\0" * (50 << 20))) as url:
        m = HTTPModel(url, batch_size=4, max_response_bytes=1 << 20, **FAST)
        with pytest.raises(RemoteModelError, match="answer larger than 1048576 bytes"):
            m(np.zeros((2, T, H, W, 3), np.float32))


def test_v2_metadata_booleans_are_not_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    from mesampler.remote import V2Model, v2

    meta = {"name": "q", "inputs": [{"name": "in", "datatype": "FP32", "shape": [-1, T, H, W, 3]}],
            "outputs": [{"name": "out", "datatype": "FP32", "shape": [-1, K]}],
            "parameters": {"max_batch": True}}  # fmt: skip
    sizes: list[int] = []

    def fake(method: str, path: str, body: bytes | None, headers: dict[str, str], n: int = 0) -> tuple:
        if method == "GET":
            return 200, {}, json.dumps(meta).encode()
        sizes.append(n)
        out, h = v2.encode_response("q", {"out": np.zeros((n, K), np.float32)}, True)
        return 200, {k.lower(): v for k, v in h.items()}, out

    m = V2Model("http://127.0.0.1:9/v2/models/q")
    monkeypatch.setattr(m.transport, "exchange", fake)
    m(np.zeros((3, T, H, W, 3), np.float32))
    assert sizes == [3] and m.spec.max_batch is None  # True was taken for max_batch 1: three requests
    meta["inputs"][0]["shape"] = [True, T, H, W, 3]  # type: ignore[index]
    m = V2Model("http://127.0.0.1:9/v2/models/q")
    monkeypatch.setattr(m.transport, "exchange", fake)
    with pytest.raises(RemoteModelError, match="integer list 'shape'"):  # was a fixed batch of 1
        m(np.zeros((3, T, H, W, 3), np.float32))
