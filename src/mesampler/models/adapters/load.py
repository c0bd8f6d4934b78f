"""``load_model``: one entry point from a name, file, URL, module or callable to a black-box model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from mesampler.models.adapters.callable import CallableModel
from mesampler.models.adapters.module import ModuleModel
from mesampler.models.adapters.onnx_model import ONNX_SUFFIXES, ONNXModel
from mesampler.models.adapters.torchscript import TORCHSCRIPT_SUFFIXES, from_torchscript

MODEL_SUFFIXES: tuple[str, ...] = ONNX_SUFFIXES + TORCHSCRIPT_SUFFIXES


def _from_path(p: Path, kw: dict[str, Any]) -> Any:
    suffix = p.suffix.lower()
    if suffix in ONNX_SUFFIXES:
        return ONNXModel(p, **kw)
    if suffix in TORCHSCRIPT_SUFFIXES:
        return from_torchscript(p, **kw)
    raise ValueError(
        f"{str(p)!r}: unsupported model file type {suffix or '(no extension)'!r}; "
        f"expected ONNX ({', '.join(ONNX_SUFFIXES)}) or TorchScript ({', '.join(TORCHSCRIPT_SUFFIXES)})"
    )


def load_model(ref: str | Path | torch.nn.Module | Callable[..., Any], **kwargs: Any) -> Any:
    """Turn ``ref`` into a black-box model ``(N, T, H, W, 3) float32 in [0, 1] -> (N, K)`` scores.

    * a registered model name -> ``mesampler.models.create(name, **kwargs)``;
    * an ``http(s)://`` URL whose path is ``.../v2/models/NAME`` -> :class:`~mesampler.remote.V2Model` (the
      Open Inference Protocol: KServe, Triton, MLServer, ``mesampler serve``); any other ``http(s)://`` URL ->
      :class:`~mesampler.remote.HTTPModel` (the mesampler protocol); ``protocol="v2"`` / ``"mesampler"``
      overrides the choice;
    * a ``.onnx`` file -> :class:`~.onnx_model.ONNXModel` (onnxruntime);
    * a ``.pt`` / ``.pth`` / ``.ts`` / ``.torchscript`` file -> :func:`~.torchscript.from_torchscript`
      (``torch.jit.load`` only; pickles are refused);
    * a ``torch.nn.Module`` -> :class:`~.module.ModuleModel`;
    * an object that already takes torch tensors (``accepts_torch = True``, e.g. a ``VideoModel``) or
      one of these adapters -> returned as it is (``kwargs`` must be empty);
    * any other callable -> :class:`~.callable.CallableModel`.

    Files and modules receive ``(N, T, H, W, 3)`` float32 in [0, 1] unless ``layout=`` / ``mean=`` /
    ``std=`` say otherwise. ``kwargs`` go to the chosen constructor; unknown ones raise ``TypeError``.
    """
    if isinstance(ref, torch.nn.Module):
        return ModuleModel(ref, **kwargs)
    if isinstance(ref, (str, Path)):
        return _from_ref(ref, kwargs)
    from mesampler.remote.transport import RemoteModel

    if isinstance(ref, (CallableModel, ModuleModel, ONNXModel, RemoteModel)) or (
        callable(ref) and getattr(ref, "accepts_torch", False)
    ):
        if kwargs:
            raise TypeError(f"{ref!r} is already a black-box model; options {sorted(kwargs)} cannot apply")
        return ref
    if callable(ref):
        return CallableModel(ref, **kwargs)
    raise TypeError(
        f"cannot make a model from {type(ref).__name__}: expected a registered name, a file path, "
        "a URL, a torch.nn.Module or a callable"
    )


PROTOCOLS = ("v2", "mesampler")
"""HTTP model protocols: the Open Inference Protocol (KServe v2) and mesampler's own."""


def _from_url(url: str, kw: dict[str, Any]) -> Any:
    from mesampler.remote import HTTPModel, V2Model, is_v2_url

    protocol = kw.pop("protocol", None)
    if protocol is None:
        protocol = "v2" if is_v2_url(url) else "mesampler"
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    return V2Model(url, **kw) if protocol == "v2" else HTTPModel(url, **kw)


def _from_ref(ref: str | Path, kw: dict[str, Any]) -> Any:
    from mesampler.models.registry import create, get_entry

    s = str(ref)
    if isinstance(ref, str) and s.split("://")[0].lower() in ("http", "https") and "://" in s:
        return _from_url(s, kw)
    if isinstance(ref, str) and "://" in s:
        raise ValueError(f"unsupported model URL {s!r}: only http:// and https:// are served")
    p = Path(s).expanduser()
    if isinstance(ref, str):
        try:
            get_entry(s)
        except ValueError:
            pass
        else:
            return create(s, **kw)
    if p.is_dir():
        raise ValueError(f"{s!r} is a directory; expected a model file ({', '.join(MODEL_SUFFIXES)})")
    if p.exists():
        return _from_path(p, kw)
    if p.suffix.lower() in MODEL_SUFFIXES or isinstance(ref, Path) or "/" in s or "\\" in s:
        raise FileNotFoundError(f"model file {s!r} does not exist")
    try:
        get_entry(s)
    except ValueError as e:
        raise ValueError(
            f"{e}; and no file {s!r} exists (files: {', '.join(MODEL_SUFFIXES)}; or an http(s) URL)"
        ) from None
    raise AssertionError("unreachable")
