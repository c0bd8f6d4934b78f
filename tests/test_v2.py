"""Open Inference Protocol (KServe v2): codec invariants, our server's limits, the client's deadline, and end to
end against a real KServe ``ModelServer`` (tests/kserve_server.py) on loopback, counts checked against its log.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import mesampler
from mesampler.models.adapters import load_model
from mesampler.remote import HTTPModel, RemoteModelError, V2Model, serve_in_thread, v2

T, H, W, K = 4, 8, 8, 5
FAST = {"retries": 2, "backoff": 0.01, "connect_timeout": 2.0, "read_timeout": 10.0}
HERE = Path(__file__).resolve().parent


class Linear(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(T * H * W * 3, K, generator=g) / 10)
        self.count = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.count += x.shape[0]
        return (x.reshape(x.shape[0], -1) - 0.5) @ self.w


@contextmanager
def serving(model: object, **kw: object) -> Iterator[object]:
    server, _ = serve_in_thread(model, "127.0.0.1", 0, **kw)
    try:
        yield server
    finally:
        server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_exchange(port: int, request: bytes, wait: float = 5.0) -> tuple[bytes, float]:
    """Send raw bytes, return (the answer, seconds until it was complete)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(request)
        t0 = time.monotonic()
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data, time.monotonic() - t0


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


# -- codec ------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=5),
    datatype=st.sampled_from(["FP32", "FP64", "FP16", "UINT8", "INT32", "INT64"]),
    binary=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_request_round_trip(shape: list[int], datatype: str, binary: bool, seed: int) -> None:
    dtype = v2.dtype_of(datatype)
    a = (np.random.default_rng(seed).random(shape) * 100).astype(dtype)
    body, headers = v2.encode_request("x", a, "y", binary=binary, binary_output=binary)
    tensors, header = v2.decode_tensors(body, {k.lower(): v for k, v in headers.items()}, "inputs", "request")
    np.testing.assert_array_equal(tensors["x"], a)
    assert tensors["x"].dtype == dtype and header["outputs"][0]["name"] == "y"
    assert (v2.HEADER_LENGTH in {k.lower() for k in headers}) == binary


_SHORT = b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "parameters": {"binary_data_size": 4}}]}'


@pytest.mark.parametrize(
    "body, headers, message",
    [
        (b"[" * 100 + b"]" * 100, {}, "nested deeper than 32"),
        (b'{"inputs": []}', {}, "non-empty 'inputs'"),
        (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3]}]}', {}, "3 values"),
        (b'{"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}', {}, "not a numeric"),
        (_SHORT + b"xy", {v2.HEADER_LENGTH: str(len(_SHORT))}, "binary_data_size 4 does not match"),
        (b"{}", {v2.HEADER_LENGTH: "9"}, "the body has 2 bytes"),
        (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}]}', {}, "negative size"),
    ],
)
def test_malformed_messages_are_protocol_errors(body: bytes, headers: dict[str, str], message: str) -> None:
    with pytest.raises(v2.ProtocolError, match=message):
        v2.decode_tensors(body, headers, "inputs", "request")


def test_json_decoding_memory_is_bounded() -> None:
    a = np.random.default_rng(0).random((2, 16, 32, 32, 3), dtype=np.float32)
    body, _ = v2.encode_request("videos", a, None, binary=False, binary_output=False)
    tracemalloc.start()
    try:
        tensors, _ = v2.decode_tensors(body, {}, "inputs", "request")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(tensors["videos"], a)
    assert peak < 6 * len(body), f"decoding {len(body)} bytes of JSON peaked at {peak} bytes"


def test_model_url_forms() -> None:
    m = v2.MODEL_PATH.match("/serving/v2/models/i3d/versions/3/infer")
    assert m and (m["prefix"], m["name"], m["version"]) == ("/serving", "i3d", "3")
    assert isinstance(load_model("http://127.0.0.1:9/v2/models/a"), V2Model)
    assert isinstance(load_model("http://127.0.0.1:9/predict"), HTTPModel)
    assert isinstance(load_model("http://127.0.0.1:9/v2/models/a", protocol="mesampler"), HTTPModel)
    with pytest.raises(ValueError, match="protocol must be one of"):
        load_model("http://127.0.0.1:9/x", protocol="grpc")
    with pytest.raises(ValueError, match="not an Open Inference Protocol model URL"):
        V2Model("http://127.0.0.1:9/models/a")


# -- client against our own server -------------------------------------------------------------------


@pytest.mark.parametrize("binary", [True, False])
def test_same_scores_and_exact_counts(binary: bool) -> None:
    net = Linear().eval()
    x = np.random.default_rng(1).random((5, T, H, W, 3), dtype=np.float32)
    with serving(net, max_batch=2, name="lin") as server:
        m = load_model(server.v2_url, binary=binary, **FAST)
        with torch.no_grad():
            expected = net(torch.from_numpy(x)).numpy()
        net.count = 0
        np.testing.assert_allclose(m(x), expected, rtol=1e-5, atol=1e-5)
        assert m.spec.max_batch == 2 and m.spec.layout == "NTHWC"
        assert (m.queries, m.attempts, server.videos, server.requests) == (5, 3, 5, 3)
        video = np.random.default_rng(2).integers(0, 256, (T, H, W, 3), dtype=np.uint8)
        r = mesampler.attack(m, video, method="multi-noise", eps=0.05, max_queries=30, seed=0)
        assert r.queries + 5 == m.queries == net.count == server.videos


def test_uint8_and_normalised_inputs_are_sent_as_advertised(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that takes UINT8 NCTHW (from its metadata) gets round(255 x), channels first."""
    meta = {"name": "q", "inputs": [{"name": "in", "datatype": "UINT8", "shape": [-1, 3, T, H, W]}],
            "outputs": [{"name": "out", "datatype": "FP32", "shape": [-1, K]}]}  # fmt: skip
    sent: list[dict[str, np.ndarray]] = []

    def fake(method: str, path: str, body: bytes | None, headers: dict[str, str], n: int = 0) -> tuple:
        if method == "GET":
            return 200, {}, json.dumps(meta).encode()
        assert body is not None
        tensors, _ = v2.decode_tensors(body, {k.lower(): v for k, v in headers.items()}, "inputs", "req")
        sent.append(tensors)
        out, h = v2.encode_response("q", {"out": np.zeros((n, K), np.float32)}, True)
        return 200, {k.lower(): v for k, v in h.items()}, out

    m = V2Model("http://127.0.0.1:9/v2/models/q")
    monkeypatch.setattr(m.transport, "exchange", fake)
    x = np.random.default_rng(3).random((2, T, H, W, 3), dtype=np.float32)
    assert m(x).shape == (2, K) and m.queries == 2
    got = sent[0]["in"]
    assert got.dtype == np.uint8 and got.shape == (2, 3, T, H, W)
    np.testing.assert_array_equal(got, np.rint(x.transpose(0, 4, 1, 2, 3) * 255).astype(np.uint8))
    with pytest.raises(ValueError, match="takes videos of 4 frames, got 5"):
        m(np.zeros((1, 5, H, W, 3), np.float32))
    normalised = V2Model("http://127.0.0.1:9/v2/models/q", mean=(0.5,) * 3, std=(0.2,) * 3)
    with pytest.raises(ValueError, match="mean/std apply to float inputs"):
        normalised._choose(v2.parse_metadata(json.dumps(meta).encode()))


def test_metadata_problems_are_clear_errors_before_any_query(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [
        ({"inputs": [{"name": "a", "datatype": "FP32", "shape": [-1, 3, 3, 3, 3]}], "outputs": [
            {"name": "s", "datatype": "FP32", "shape": [-1, K]}]}, "fits layouts"),
        ({"inputs": [{"name": "a", "datatype": "BYTES", "shape": [-1]}], "outputs": []}, "not a numeric"),
        ({"inputs": [{"name": "a", "datatype": "FP32", "shape": [-1, 8]}], "outputs": []}, "expected 5-d video"),
        ({"inputs": [], "outputs": []}, "0 inputs"),
        ({"inputs": "x"}, "'inputs' and 'outputs' lists"),
    ]  # fmt: skip
    for meta, message in cases:
        m = V2Model("http://127.0.0.1:9/v2/models/q")
        monkeypatch.setattr(m.transport, "exchange", lambda *a, _m=meta, **k: (200, {}, json.dumps(_m).encode()))
        with pytest.raises((ValueError, RemoteModelError), match=message):
            m(np.zeros((1, T, H, W, 3), np.float32))
        assert m.attempts == 0 and m.queries == 0


# -- our server's limits (reliability issue item 14) --------------------------------------------------


def _post_head(path: str, length: int, extra: str = "", ctype: str = "application/json") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


def test_token_and_size_are_checked_before_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2_TEST_TOKEN", "s3cret-v2-token")
    with serving(
        Linear().eval(), name="lin", token_env="V2_TEST_TOKEN", max_bytes=1 << 20, max_json_bytes=1 << 16
    ) as srv:
        port = int(srv.url.rsplit(":", 1)[1])
        path = "/v2/models/lin/infer"
        answer, dt = raw_exchange(port, _post_head(path, 10**9, "Authorization: Bearer wrong\r\n"))
        assert answer.startswith(b"HTTP/1.1 401") and dt < 2
        auth = "Authorization: Bearer s3cret-v2-token\r\n"
        answer, dt = raw_exchange(port, _post_head(path, 10**12, auth))  # no body follows: answered at once
        assert answer.startswith(b"HTTP/1.1 413") and b"at most 65536 bytes of JSON" in answer and dt < 2
        answer, _ = raw_exchange(port, _post_head(path, 2 << 20, auth + f"{v2.HEADER_LENGTH}: 10\r\n", v2.BINARY_TYPE))
        assert answer.startswith(b"HTTP/1.1 413") and b"1048576 bytes of binary" in answer
        answer, _ = raw_exchange(port, _post_head("/predict", 10**12, auth, "application/x-npy"))
        assert answer.startswith(b"HTTP/1.1 413")
        assert srv.requests == 0


def test_deeply_nested_json_gets_a_400_at_once() -> None:
    with serving(Linear().eval(), name="lin") as srv:
        port = int(srv.url.rsplit(":", 1)[1])
        body = b"[" * 200_000 + b"]" * 200_000
        for path in ("/v2/models/lin/infer", "/predict"):
            answer, dt = raw_exchange(port, _post_head(path, len(body)) + body)
            assert answer.startswith(b"HTTP/1.1 400") and b"nested deeper" in answer and dt < 3


def test_server_errors_are_json_with_a_reason() -> None:
    x = np.random.default_rng(0).random((1, T, H, W, 3), dtype=np.float32)
    with serving(Linear().eval(), name="lin") as srv:
        m = V2Model(srv.url + "/v2/models/other", **FAST)
        with pytest.raises(RemoteModelError, match="HTTP 404: no model 'other'; this server has 'lin'"):
            m(x)
        bad, h = v2.encode_request("videos", x * 3, None, binary=True, binary_output=True)
        import httpx

        r = httpx.post(srv.v2_url + "/infer", content=bad, headers=h)
        assert r.status_code == 400 and "must lie in [0, 1]" in r.json()["error"]
        wrong, h = v2.encode_request("frames", x, None, binary=False, binary_output=False)
        r = httpx.post(srv.v2_url + "/infer", content=wrong, headers=h)
        assert r.status_code == 400 and "expected one input 'videos'" in r.json()["error"]
        r = httpx.get(srv.url + "/nowhere")
        assert r.status_code == 404 and "/v2/models/{name}" in r.json()["error"]
        assert httpx.get(srv.url + "/v2/health/ready").json() == {"ready": True}
        assert srv.requests == 0


# -- client deadline (reliability issue item 15) -------------------------------------------------------


def test_client_deadline_stops_a_trickling_server() -> None:
    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass

        def do_GET(self) -> None:
            meta = {"name": "t", "inputs": [{"name": "v", "datatype": "FP32", "shape": [-1, T, H, W, 3]}],
                    "outputs": [{"name": "s", "datatype": "FP32", "shape": [-1, K]}]}  # fmt: skip
            body = json.dumps(meta).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    th.start()
    try:
        m = V2Model(f"http://127.0.0.1:{srv.server_address[1]}/v2/models/t", retries=1, backoff=0.01,
                    read_timeout=1.0, deadline=0.8)  # fmt: skip
        t0 = time.monotonic()
        with pytest.raises(RemoteModelError, match="no answer after 2 attempts; last: timed out .*0.8s deadline"):
            m(np.zeros((1, T, H, W, 3), np.float32))
        assert time.monotonic() - t0 < 4 and (m.attempts, m.queries) == (2, 0)
    finally:
        srv.shutdown()
        th.join(5)
        srv.server_close()


# -- a real KServe ModelServer ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kserve_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    try:
        import kserve  # noqa: F401
    except ImportError as e:
        pytest.skip(f"kserve cannot be imported ({e}); install the test extra: pip install -e '.[test]'")
    from mesampler.models import testbed

    if not testbed.BUNDLED.is_file():
        pytest.skip("the test-bed weights are not bundled")
    log = tmp_path_factory.mktemp("kserve") / "requests.jsonl"
    port = free_port()
    env = {**os.environ, "KS_PORT": str(port), "KS_LOG": str(log), "KS_NAME": "testbed", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(HERE / "kserve_server.py")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip
    try:
        import httpx

        end = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"the KServe server exited with {proc.returncode}:\n{out[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > end:
                pytest.fail("the KServe server did not become ready within 60 s")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v2/models/testbed", log
    finally:
        proc.terminate()  # our own child, by its pid
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _served(log: Path) -> list[int]:
    return [json.loads(line)["n"] for line in log.read_text().splitlines()] if log.is_file() else []


def test_kserve_binds_loopback_only(kserve_endpoint: tuple[str, Path]) -> None:
    url, _ = kserve_endpoint
    port = int(url.split(":")[2].split("/")[0])
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:] if Path("/proc/net/tcp").is_file() else []
    listening = [ln.split()[1] for ln in lines if ln.split()[3] == "0A"]  # state 0A: LISTEN
    mine = [a for a in listening if int(a.split(":")[1], 16) == port]
    if not lines:
        pytest.skip("/proc/net/tcp is not readable here")
    assert mine == ["0100007F:" + f"{port:04X}"], f"port {port} listens on {mine}, not 127.0.0.1 only"


@pytest.mark.parametrize("binary", [True, False])
def test_attack_a_real_kserve_endpoint_with_exact_counts(kserve_endpoint: tuple[str, Path], binary: bool) -> None:
    url, log = kserve_endpoint
    local = mesampler.models.create("testbed-motion")
    m = load_model(url, output="logits", mean=(0.5,) * 3, std=(0.25,) * 3, binary=binary, **FAST)
    assert m.spec.frames == 16 and m.spec.size == 64 and m.spec.layout == "NCTHW" and m.num_classes == 10
    x = np.random.default_rng(4).random((3, 16, 64, 64, 3), dtype=np.float32)
    before = _served(log)
    np.testing.assert_allclose(m(x), np.asarray(local(x)), rtol=1e-4, atol=1e-4)
    video = np.random.default_rng(5).integers(0, 256, (16, 64, 64, 3), dtype=np.uint8)
    r = mesampler.attack(
        m, video, method="me-sampler", eps=0.05, max_queries=20, seed=0, motion=np.zeros((16, 64, 64, 2), np.float32)
    )
    served = _served(log)[len(before) :]
    assert r.queries + 3 == m.queries == sum(served) and len(served) == m.attempts


def test_cli_attack_against_kserve(kserve_endpoint: tuple[str, Path], tmp_path: Path) -> None:
    from mesampler.cli.main import main
    from videogen import moving_square, write_clip

    url, log = kserve_endpoint
    clip = write_clip(tmp_path / "clip.mp4", moving_square(frames=16, height=64, width=64, size=24).frames)
    before = len(_served(log))
    args = ["attack", str(clip), "--model", url, "--output", "logits", "--mean", "0.5", "0.5", "0.5", "--std", "0.25",
            "0.25", "0.25", "--out", str(tmp_path / "out"), "--max-queries", "12", "--method", "multi-noise",
            "--no-progress", "--tensor-format", "json"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    verification = 3  # the CLI re-queries the adversarial clip as float32, 8-bit and H.264, outside the budget
    assert summary["queries"] + verification == sum(_served(log)[before:])
    assert main(["attack", str(clip), "--model", url, "--out", str(tmp_path / "o2"), "--max-queries", "5"]) == 2


def test_cli_model_options_refuse_what_cannot_apply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mesampler.cli.main import main

    clip = tmp_path / "missing-is-fine.mp4"
    out = str(tmp_path / "o")
    assert main(["attack", str(clip), "--model", "testbed-motion", "--output", "x", "--out", out]) == 2
    assert "--output: only for a model URL" in capsys.readouterr().err
    args = ["attack", str(clip), "--model", "http://127.0.0.1:9/predict", "--mean", "0", "0", "0", "--out", out]
    assert main(args) == 2
    assert "not for the mesampler protocol" in capsys.readouterr().err


@pytest.mark.parametrize("binary", [True, False])
def test_kserve_client_talks_to_mesampler_serve(binary: bool) -> None:
    """Interoperability the other way: KServe's own REST client against our server (JSON and binary)."""
    import asyncio

    kserve = pytest.importorskip("kserve", reason="kserve is in the test extra: pip install -e '.[test]'")
    from kserve.protocol.infer_type import InferInput, InferRequest, RequestedOutput

    net = Linear().eval()
    x = np.random.default_rng(6).random((3, T, H, W, 3), dtype=np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()

    async def ask(url: str) -> np.ndarray:
        client = kserve.InferenceRESTClient(kserve.RESTConfig(protocol="v2", timeout=10))
        try:
            inp = InferInput("videos", list(x.shape), "FP32")
            inp.set_data_from_numpy(x, binary_data=binary)
            out = RequestedOutput("scores", parameters={"binary_data": binary})
            req = InferRequest(model_name="lin", infer_inputs=[inp], request_outputs=[out], request_id="r1")
            res = await client.infer(url, req, model_name="lin")
            return res.outputs[0].as_numpy()
        finally:
            await client.close()

    with serving(net, name="lin") as srv:
        got = asyncio.run(ask(srv.url))
        assert srv.videos == 3 and srv.requests == 1
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
