"""Adapters: callables, nn.Module, TorchScript and ONNX files, and ``load_model``.

Each adapter must give the underlying model's scores on the same input, and an attack through it
must be charged exactly the videos the underlying model saw. HTTP lives in test_http.py.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import mesampler
from mesampler.models.adapters import (
    CallableModel,
    ModuleModel,
    ONNXModel,
    from_module,
    from_onnx,
    from_torchscript,
    load_model,
)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

T, H, W, K = 4, 8, 8, 5
MEAN, STD = (0.45, 0.4, 0.35), (0.25, 0.2, 0.3)


class TinyNet(torch.nn.Module):
    """``(N, T, H, W, 3)`` -> ``(N, K)``: a small nonlinear net; ``count`` = videos seen."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w1 = torch.nn.Parameter(torch.randn(T * H * W * 3, 16, generator=g) * 3 / (T * H * W * 3) ** 0.5)
        self.w2 = torch.nn.Parameter(torch.randn(16, K, generator=g))
        self.count = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.count += x.shape[0]
        return torch.tanh((x.reshape(x.shape[0], -1) - 0.5) @ self.w1) @ self.w2


class ChannelsFirstNet(torch.nn.Module):
    """The same function, but expecting ``(N, 3, T, H, W)`` normalised with MEAN/STD."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("mean", torch.tensor(MEAN))
        self.register_buffer("std", torch.tensor(STD))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.inner(y.permute(0, 2, 3, 4, 1) * self.std + self.mean)


def clean_net(seed: int = 0) -> TinyNet:
    return TinyNet(seed).eval()


def reference(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


@pytest.fixture
def batch() -> np.ndarray:
    return np.random.default_rng(1).random((7, T, H, W, 3), dtype=np.float32)


@pytest.fixture
def video() -> np.ndarray:
    return np.random.default_rng(2).integers(0, 256, (T, H, W, 3), dtype=np.uint8)


def export_onnx(net: torch.nn.Module, path: Path, *, batch: int | None = None) -> Path:
    """Export ``net`` with the TorchScript-based exporter (dynamic batch unless ``batch`` is given)."""
    x = torch.rand(batch or 2, T, H, W, 3)
    dyn = None if batch else {"videos": {0: "n"}, "scores": {0: "n"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net, (x,), str(path), dynamo=False, input_names=["videos"], output_names=["scores"], dynamic_axes=dyn
        )
    return path


class CountingSession:
    """Wraps an onnxruntime session, counting the videos it is run on."""

    def __init__(self, session: object) -> None:
        self.session = session
        self.count = 0

    def run(self, outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.count += next(iter(feeds.values())).shape[0]
        return self.session.run(outputs, feeds)  # type: ignore[attr-defined]


# -- same scores as the underlying model ------------------------------------------------------------


def test_callable_numpy(batch: np.ndarray) -> None:
    net = clean_net()
    m = load_model(lambda v: reference(net, v))
    assert isinstance(m, CallableModel) and not m.accepts_torch
    out = m(batch)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference(net, batch), rtol=1e-5, atol=1e-5)
    out_t = m(torch.from_numpy(batch))
    assert isinstance(out_t, torch.Tensor)
    np.testing.assert_allclose(out_t.numpy(), reference(net, batch), rtol=1e-5, atol=1e-5)
    assert m.num_classes == K


def test_callable_torch(batch: np.ndarray) -> None:
    net = clean_net()
    seen: list[type] = []

    def fn(x: torch.Tensor) -> torch.Tensor:
        seen.append(type(x))
        return net(x)

    m = load_model(fn, accepts_torch=True, device="cpu")
    assert m.accepts_torch and m.device == torch.device("cpu")
    np.testing.assert_allclose(m(batch), reference(net, batch), rtol=1e-5, atol=1e-5)
    out = m(torch.from_numpy(batch))
    assert isinstance(out, torch.Tensor) and not out.requires_grad
    assert seen == [torch.Tensor, torch.Tensor]


def test_module_default_layout_batches_and_eval(batch: np.ndarray) -> None:
    net = TinyNet()
    with pytest.warns(UserWarning, match="training mode"):
        m = load_model(net, batch_size=3)
    assert isinstance(m, ModuleModel) and m.accepts_torch and not net.training
    assert m.num_classes is None
    np.testing.assert_allclose(m(batch), reference(net, batch), rtol=1e-5, atol=1e-5)
    assert net.count == 2 * len(batch) and m.num_classes == K
    out = m(torch.from_numpy(batch))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32


def test_module_layout_mean_std(batch: np.ndarray) -> None:
    inner = clean_net()
    m = from_module(ChannelsFirstNet(inner).eval(), layout="NCTHW", mean=MEAN, std=STD)
    np.testing.assert_allclose(m(batch), reference(inner, batch), rtol=1e-4, atol=1e-5)
    mean, std = torch.tensor(MEAN), torch.tensor(STD)
    pre = from_module(ChannelsFirstNet(inner).eval(), preprocess=lambda x: ((x - mean) / std).permute(0, 4, 1, 2, 3))
    np.testing.assert_allclose(pre(batch), reference(inner, batch), rtol=1e-4, atol=1e-5)


def test_module_no_autocast_unless_asked(batch: np.ndarray) -> None:
    net = clean_net()
    m = from_module(net)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(torch.from_numpy(batch))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), reference(net, batch), rtol=1e-5, atol=1e-5)
    amp = from_module(net, autocast=True)
    low = amp(torch.from_numpy(batch))
    assert low.dtype == torch.float32  # scores always come back as float32
    assert not torch.equal(low, out)  # bfloat16 matmuls really ran
    np.testing.assert_allclose(low.numpy(), out.numpy(), atol=0.2)


def test_torchscript_file(tmp_path: Path, batch: np.ndarray) -> None:
    net = clean_net()
    path = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(net), str(path))
    m = load_model(path, batch_size=4)
    assert isinstance(m, ModuleModel)
    np.testing.assert_allclose(m(batch), reference(net, batch), rtol=1e-5, atol=1e-5)
    cf = tmp_path / "channels_first.torchscript"
    torch.jit.save(torch.jit.trace(ChannelsFirstNet(clean_net()).eval(), torch.rand(2, 3, T, H, W)), str(cf))
    m2 = load_model(str(cf), layout="NCTHW", mean=MEAN, std=STD)
    np.testing.assert_allclose(m2(batch), reference(net, batch), rtol=1e-4, atol=1e-5)


def test_torchscript_refuses_pickles(tmp_path: Path) -> None:
    path = tmp_path / "weights.pth"
    torch.save(clean_net().state_dict(), path)
    with pytest.raises(ValueError, match="weights.pth.*not a TorchScript archive.*torch.jit"):
        from_torchscript(path)


def test_onnx_file(tmp_path: Path, batch: np.ndarray) -> None:
    net = clean_net()
    m = load_model(str(export_onnx(net, tmp_path / "tiny.onnx")), batch_size=3)
    assert isinstance(m, ONNXModel) and not m.accepts_torch
    np.testing.assert_allclose(m(batch), reference(net, batch), rtol=1e-5, atol=1e-6)
    out_t = m(torch.from_numpy(batch))
    assert isinstance(out_t, torch.Tensor)
    cf = tmp_path / "cf.onnx"
    x_cf = torch.rand(2, 3, T, H, W)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            ChannelsFirstNet(clean_net()).eval(), (x_cf,), str(cf), dynamo=False,
            input_names=["v"], output_names=["s"], dynamic_axes={"v": {0: "n"}, "s": {0: "n"}},
        )  # fmt: skip
    m2 = from_onnx(cf, layout="NCTHW", mean=MEAN, std=STD)
    np.testing.assert_allclose(m2(batch), reference(net, batch), rtol=1e-4, atol=1e-5)


def test_onnx_fixed_batch_is_padded(tmp_path: Path, batch: np.ndarray) -> None:
    net = clean_net()
    m = from_onnx(export_onnx(net, tmp_path / "fixed.onnx", batch=2), batch_size=16)
    assert m.batch_size == 2
    np.testing.assert_allclose(m(batch), reference(net, batch), rtol=1e-5, atol=1e-6)  # 7 = 2+2+2+1(+1 pad)


def test_registered_name_goes_to_create() -> None:
    from mesampler.models.registry import list_models

    names = [e.name for e in list_models()]
    if not names:
        pytest.skip("no registered model yet")
    with pytest.raises(TypeError, match="unknown argument"):
        load_model(names[0], no_such_option=1)


# -- errors ----------------------------------------------------------------------------------------


def test_load_model_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        load_model(str(tmp_path / "missing.onnx"))
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_model(tmp_path / "missing.pt")
    bad = tmp_path / "model.h5"
    bad.write_bytes(b"\0")
    with pytest.raises(ValueError, match=r"model.h5.*unsupported model file type '.h5'.*\.onnx"):
        load_model(str(bad))
    with pytest.raises(ValueError, match="is a directory"):
        load_model(str(tmp_path))
    with pytest.raises(ValueError, match="unknown model 'no-such-model'.*no file"):
        load_model("no-such-model")
    with pytest.raises(ValueError, match="only http:// and https://"):
        load_model("ftp://example.invalid/model")
    with pytest.raises(TypeError, match="cannot make a model from int"):
        load_model(3)  # type: ignore[arg-type]
    m = from_module(clean_net())
    assert load_model(m) is m
    with pytest.raises(TypeError, match="already a black-box model"):
        load_model(m, batch_size=2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        load_model(lambda v: v, bogus=1)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="cannot load ONNX model .*broken.onnx"):
        load_model(str(broken))


def test_adapter_option_errors(batch: np.ndarray) -> None:
    net = clean_net()
    with pytest.raises(ValueError, match="layout must be one of"):
        from_module(net, layout="NHWC")
    with pytest.raises(ValueError, match="mean must have 3 values"):
        from_module(net, mean=(0.5,))
    with pytest.raises(ValueError, match="std must be > 0"):
        from_module(net, std=(1, 0, 1))
    with pytest.raises(ValueError, match="preprocess or layout"):
        from_module(net, preprocess=lambda x: x, layout="NCTHW")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        from_module(lambda x: x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="device is only meaningful"):
        load_model(lambda v: v, device="cpu")
    m = from_module(net)
    with pytest.raises(ValueError, match=r"shape \(N, T, H, W, 3\)"):
        m(batch[0])
    wrong = load_model(lambda v: np.zeros((len(v) + 1, K)))
    with pytest.raises(ValueError, match=r"scores of shape \(8, 5\) for 7 videos"):
        wrong(batch)


# -- attacked end to end, with exact query counts ------------------------------------------------------


def _attack(model: object, video: np.ndarray, **kw: object) -> mesampler.AttackResult:
    kw = {"method": "multi-noise", "eps": 0.05, "max_queries": 30, "seed": 0, **kw}
    return mesampler.attack(model, video, **kw)  # type: ignore[arg-type]


def test_attack_callable_numpy_exact_count(video: np.ndarray) -> None:
    net = clean_net()
    r = _attack(load_model(lambda v: reference(net, v)), video)
    assert r.queries == net.count == r.loss_queries + r.check_queries > 0


def test_attack_callable_torch_exact_count(video: np.ndarray) -> None:
    net = clean_net()
    r = _attack(load_model(net.forward, accepts_torch=True), video)
    assert r.queries == net.count > 0


def test_attack_module_me_sampler_exact_count(video: np.ndarray) -> None:
    net = clean_net()
    maps = np.random.default_rng(3).normal(size=(T, H, W, 2)).astype(np.float32)
    r = _attack(from_module(net, batch_size=4), video, method="me-sampler", motion=maps)
    assert r.queries == net.count > 0


def test_attack_torchscript_exact_count(tmp_path: Path, video: np.ndarray) -> None:
    path = tmp_path / "tiny.ts"
    torch.jit.save(torch.jit.script(clean_net()), str(path))
    m = load_model(path)
    r = _attack(m, video)
    assert r.queries == m.net.count > 0  # the counter lives inside the scripted module


def test_attack_onnx_exact_count(tmp_path: Path, video: np.ndarray) -> None:
    m = from_onnx(export_onnx(clean_net(), tmp_path / "tiny.onnx"))
    counting = m.session = CountingSession(m.session)  # type: ignore[assignment]
    r = _attack(m, video)
    assert r.queries == counting.count > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_module_on_cuda_keeps_tensors_there(video: np.ndarray) -> None:
    net = clean_net()
    m = from_module(net, device="cuda")
    x = torch.rand(3, T, H, W, 3, device="cuda")
    out = m(x)
    assert out.device.type == "cuda" and out.dtype == torch.float32
    expected = reference(clean_net(), x.cpu().numpy())  # same seed, same weights, on the CPU
    np.testing.assert_allclose(out.cpu().numpy(), expected, rtol=1e-4, atol=1e-4)
    before = net.count
    r = _attack(m, video)
    assert r.queries == net.count - before > 0
