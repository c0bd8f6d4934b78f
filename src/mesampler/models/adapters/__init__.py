"""Adapters: attack the models users already have.

Everything here satisfies the black-box contract ``(N, T, H, W, 3) float32 in [0, 1] -> (N, K)``
scores (numpy or torch in; the same kind out). Start from :func:`load_model`, which accepts a
registered name, an ONNX or TorchScript file, an ``http(s)://`` URL, an ``nn.Module`` or a callable.
Models behind HTTP live in :mod:`mesampler.remote`.
"""

from mesampler.models.adapters.api_output import APIOutput
from mesampler.models.adapters.callable import CallableModel
from mesampler.models.adapters.load import MODEL_SUFFIXES, load_model
from mesampler.models.adapters.module import ModuleModel, from_module
from mesampler.models.adapters.onnx_model import ONNXModel, from_onnx
from mesampler.models.adapters.torchscript import from_torchscript

__all__ = [
    "APIOutput",
    "MODEL_SUFFIXES",
    "CallableModel",
    "ModuleModel",
    "ONNXModel",
    "from_module",
    "from_onnx",
    "from_torchscript",
    "load_model",
]
