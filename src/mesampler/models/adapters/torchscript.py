"""TorchScript archives (``torch.jit.save``) behind the black-box contract.

Only ``torch.jit.load`` is used: a pickled ``torch.save`` file is refused, never unpickled,
because unpickling can run arbitrary code.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from mesampler.models.adapters.module import ModuleModel

TORCHSCRIPT_SUFFIXES: tuple[str, ...] = (".pt", ".pth", ".ts", ".torchscript")


def from_torchscript(path: str | Path, *, device: str | torch.device = "cpu", **options: Any) -> ModuleModel:
    """Load a TorchScript file as a :class:`ModuleModel`.

    The scripted module receives ``(N, T, H, W, 3)`` float32 in [0, 1] by default; ``layout``
    (``"NCTHW"``, ``"NTCHW"``) and ``mean``/``std`` (3 values on [0, 1] RGB) adapt the batch to
    modules that expect otherwise. It must return ``(N, K)`` scores. ``options`` are :class:`ModuleModel`'s.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"TorchScript file {str(p)!r} does not exist")
    try:
        with warnings.catch_warnings():  # torch marks jit.load deprecated; the user chose this format
            warnings.filterwarnings("ignore", message=".*torch.jit.load.*", category=DeprecationWarning)
            module = torch.jit.load(str(p), map_location=torch.device(device))
    except (RuntimeError, ValueError) as e:
        raise ValueError(
            f"{str(p)!r} is not a TorchScript archive ({type(e).__name__}: {str(e).splitlines()[0][:200]}). "
            "mesampler never unpickles torch.save files; export the model with "
            "torch.jit.script(model) or torch.jit.trace(model, example) and torch.jit.save"
        ) from None
    return ModuleModel(module, device=device, **{"name": p.name, **options})
