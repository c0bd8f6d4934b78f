"""The motion test-bed classifier: a tiny 3D CNN trained on :mod:`mesampler.testbed` clips.

Weights ship with the package (``mesampler/testbed/testbed.safetensors``, its training record in
``testbed.json``). If they are missing (e.g. a source tree without the binary) they are trained once
with ``mesampler.testbed.train`` into the cache directory (``$MESAMPLER_CACHE``, else
``$XDG_CACHE_HOME/mesampler``, else ``~/.cache/mesampler``), which takes a few minutes on a CPU.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open

from mesampler.models.base import ModelSpec, VideoModel
from mesampler.models.registry import register_model
from mesampler.paths import cache_dir
from mesampler.testbed.config import CLASSES, TestbedConfig
from mesampler.testbed.net import MEAN, STD, MotionNet, fuse_for_inference

log = logging.getLogger(__name__)

WEIGHTS_NAME = "testbed.safetensors"
BUNDLED = Path(__file__).resolve().parents[1] / "testbed" / WEIGHTS_NAME

_CFG = TestbedConfig()
SPEC = ModelSpec(
    name="testbed-motion",
    num_classes=len(CLASSES),
    frames=_CFG.frames,
    size=_CFG.size,
    mean=MEAN,
    std=STD,
    layout="NCTHW",
    classes_source="mesampler.testbed.CLASSES",
    weights_source=f"bundled checkpoint mesampler/testbed/{WEIGHTS_NAME} (python -m mesampler.testbed.train)",
    description="tiny 3D CNN (~75k params) classifying procedurally generated object motion, 10 classes",
)


def weights_path() -> Path:
    """The bundled checkpoint, else the cached one, training it first if needed."""
    if BUNDLED.is_file():
        return BUNDLED
    cached = cache_dir() / WEIGHTS_NAME
    if not cached.is_file():
        from mesampler.testbed.train import save, train

        log.warning("testbed-motion: no bundled weights at %s; training them into %s (a few minutes)", BUNDLED, cached)
        net, record = train()
        save(net, record, cached)
    return cached


def load_net(path: str | Path | None = None) -> MotionNet:
    """A :class:`MotionNet` in eval mode with weights from ``path`` (default :func:`weights_path`)."""
    path = Path(path) if path is not None else weights_path()
    try:
        with safe_open(str(path), framework="pt") as f:
            width = int((f.metadata() or {}).get("width", 8))
        state = load_file(str(path))
    except (OSError, SafetensorError, ValueError) as e:
        raise ValueError(f"{path}: not a readable testbed-motion checkpoint ({e})") from e
    net = MotionNet(len(CLASSES), width=width)
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        raise ValueError(f"{path}: weights do not fit MotionNet(width={width}): {e}") from e
    return net.eval()


@register_model(SPEC)
def create_testbed(*, device: str | torch.device = "cpu", batch_size: int = 64) -> VideoModel:
    """The test-bed classifier: ``(N, T, H, W, 3)`` float32 in [0, 1] -> ``(N, 10)`` logits.

    Clips of any size are resized (short side) and centre-cropped to 64x64; all frames are used.
    BatchNorm and the frame differences are folded into the convolutions (same logits to ~1e-6).
    """
    net = fuse_for_inference(load_net()).to(memory_format=torch.channels_last_3d)  # type: ignore[call-overload]
    return VideoModel(net, SPEC, classes=CLASSES, device=device, batch_size=batch_size, resize=True, frames=None)
