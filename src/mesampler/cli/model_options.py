"""Command-line options that say how to reach a model: shared by ``attack``, ``evaluate`` and ``serve``."""

from __future__ import annotations

import argparse
from typing import Any

from mesampler.models.adapters._arrays import LAYOUTS
from mesampler.models.adapters.load import PROTOCOLS

_URL_ONLY = ("protocol", "output", "token_env", "tensor_format")
_FILE_OR_URL = ("layout", "mean", "std")


def add_model_arguments(p: argparse.ArgumentParser, *, remote: bool = True) -> None:
    """``--layout/--mean/--std`` (model files and v2 URLs) and, with ``remote``, the URL options."""
    g = p.add_argument_group("model input (files and URLs)")
    g.add_argument("--layout", choices=LAYOUTS, help="input layout of a model file or v2 endpoint (default NTHWC; "
                   "for an endpoint: from its metadata)")  # fmt: skip
    g.add_argument("--mean", type=float, nargs=3, metavar=("R", "G", "B"), help="per-channel mean subtracted first")
    g.add_argument("--std", type=float, nargs=3, metavar=("R", "G", "B"), help="per-channel std divided by next")
    if not remote:
        return
    g = p.add_argument_group("HTTP models")
    g.add_argument("--protocol", choices=PROTOCOLS, help="v2: Open Inference Protocol (KServe, Triton; chosen by a "
                   ".../v2/models/NAME URL), mesampler: the older own protocol (other URLs)")  # fmt: skip
    g.add_argument("--output", metavar="NAME", help="the v2 output holding the scores (when the model has several)")
    g.add_argument("--tensor-format", choices=("binary", "json"), help="how v2 tensors travel: the binary tensor "
                   "extension (default) or JSON lists")  # fmt: skip
    g.add_argument("--token-env", metavar="VAR", help="environment variable holding the bearer token "
                   "(default MESAMPLER_TOKEN; never printed)")  # fmt: skip


def model_kwargs(args: argparse.Namespace, ref: str) -> dict[str, Any]:
    """The options given on the command line, for :func:`~mesampler.models.adapters.load_model` of ``ref``;
    ``ValueError`` for an option that cannot apply to that kind of model."""
    url = "://" in ref
    given = {k: getattr(args, k) for k in _URL_ONLY + _FILE_OR_URL if getattr(args, k, None) is not None}
    wrong = [k for k in given if k in _URL_ONLY and not url]
    if wrong:
        flags = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise ValueError(f"{flags}: only for a model URL, not {ref!r}")
    from mesampler.remote import is_v2_url

    if url and given.get("protocol", "v2" if is_v2_url(ref) else "mesampler") == "mesampler":
        bad = [k for k in given if k in _FILE_OR_URL or k in ("output", "tensor_format")]
        if bad:
            flags = ", ".join("--" + k.replace("_", "-") for k in bad)
            raise ValueError(f"{flags}: not for the mesampler protocol, which takes [0, 1] NTHWC videos as they are")
    if "tensor_format" in given:
        given["binary"] = given.pop("tensor_format") == "binary"
    return given
