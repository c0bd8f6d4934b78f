"""A tiny 3D CNN for the motion test-bed: ``(N, 3, T, H, W)`` normalised -> ``(N, K)`` logits."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
"""Per-channel mean the network was trained with, on [0, 1] RGB."""
STD: tuple[float, float, float] = (0.25, 0.25, 0.25)
"""Per-channel std the network was trained with, on [0, 1] RGB."""


def _seq(block: nn.Module) -> nn.Sequential:
    """``block`` as the ``nn.Sequential`` (conv, batch norm, ReLU) that :func:`_block` builds."""
    if not isinstance(block, nn.Sequential):
        raise TypeError(f"expected an nn.Sequential block, got {type(block).__name__}")
    return block


def _block(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> nn.Sequential:
    padding = (kernel[0] // 2, kernel[1] // 2, kernel[2] // 2)
    return nn.Sequential(
        nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm3d(cout),
        nn.ReLU(inplace=True),
    )


class MotionNet(nn.Module):
    """Frames plus frame differences, four Conv3d+BN+ReLU blocks, global max pool, linear.

    The input is augmented with its temporal differences (6 channels), which makes the static,
    class-independent appearance easy to ignore; the first block subsamples space by 2 and keeps time,
    so one-pixel motions are still seen; later blocks halve time and space. Global max pooling keeps
    the evidence of a small moving object from being averaged away. Any ``T >= 2``, ``H, W >= 1``.

    Args:
        num_classes: outputs ``K``.
        width: channels of the first block (doubling up to ``8 * width``).
    """

    def __init__(self, num_classes: int, *, width: int = 8) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _block(6, w, (3, 3, 3), (1, 2, 2)),
            _block(w, 2 * w, (3, 3, 3), (2, 2, 2)),
            _block(2 * w, 4 * w, (3, 3, 3), (2, 2, 2)),
            _block(4 * w, 8 * w, (3, 3, 3), (2, 2, 2)),
        )
        self.head = nn.Linear(8 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` float32, normalised with :data:`MEAN`/:data:`STD` -> ``(N, K)`` logits."""
        diff = x[:, :, 1:] - x[:, :, :-1]
        x = torch.cat([x, torch.cat([diff[:, :, :1], diff], 2)], 1)
        return self.head(self.features(x).amax(dim=(2, 3, 4)))


class _DiffFoldedStem(nn.Module):
    """The first convolution of :class:`MotionNet` applied to frames *and* differences, computed on frames only.

    With ``Wx``, ``Wd`` the kernels acting on frames and on differences (temporal taps ``-1, 0, +1``),
    ``sum_o Wx_o x_{t+o} + Wd_o d_{t+o}`` with ``d_j = x_j - x_{j-1}`` is one 4-tap temporal convolution of
    ``x`` over ``t-2 .. t+1``; the first difference being repeated (``d_0 = d_1``) and the zero padding
    past the end are fixed by three single-frame corrections. Same result, no 6-channel tensor.
    """

    kernel: torch.Tensor
    wd: torch.Tensor
    bias: torch.Tensor

    def __init__(self, conv: nn.Conv3d) -> None:
        super().__init__()
        if isinstance(conv.padding, str):
            raise ValueError(f"the stem convolution needs explicit padding, got {conv.padding!r}")
        w = conv.weight.detach()
        wx, wd = w[:, :3], w[:, 3:]
        zero = torch.zeros_like(wd[:, :, :1])
        k = torch.cat([zero, wx], 2) + torch.cat([-wd[:, :, :1], wd[:, :, :2] - wd[:, :, 1:], wd[:, :, 2:]], 2)
        self.register_buffer("kernel", k.contiguous())  # (C, 3, 4, kh, kw), taps t-2 .. t+1
        self.register_buffer("wd", wd.contiguous())
        self.register_buffer("bias", conv.bias.detach().clone() if conv.bias is not None else torch.zeros(w.shape[0]))
        self.stride: tuple[int, ...] = conv.stride
        self.padding: tuple[int, ...] = conv.padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[2]
        sh, sw = self.stride[1:]
        ph, pw = self.padding[1:]
        y = F.conv3d(x, self.kernel, self.bias, stride=(1, sh, sw), padding=(2, ph, pw))[:, :, :t]

        def frame_conv(frame: torch.Tensor, tap: int) -> torch.Tensor:
            return F.conv2d(frame, self.wd[:, :, tap], stride=(sh, sw), padding=(ph, pw))

        start = x[:, :, 1] - 2 * x[:, :, 0]  # d_0 = x_1 - x_0 replaces the 4-tap term x_0 - 0
        y[:, :, 0] += frame_conv(start, 1)
        y[:, :, 1] += frame_conv(start, 0)
        y[:, :, t - 1] += frame_conv(x[:, :, t - 1], 2)  # d_t is zero padding, not 0 - x_{t-1}
        return y


class _InferenceNet(nn.Module):
    def __init__(self, net: MotionNet) -> None:
        super().__init__()
        self.features = net.features
        conv = _seq(net.features[0])[0]
        if not isinstance(conv, nn.Conv3d):
            raise TypeError(f"expected the first layer to be an nn.Conv3d, got {type(conv).__name__}")
        self.stem = _DiffFoldedStem(conv)
        self.head = net.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _seq(self.features[0])[2](self.stem(x))
        return self.head(self.features[1:](x).amax(dim=(2, 3, 4)))


def fuse_for_inference(net: MotionNet) -> nn.Module:
    """An inference copy of ``net``: BatchNorm folded into the convolutions, the frame differences folded
    into the first convolution. Same logits as ``net.eval()`` up to float rounding; not trainable."""
    fused = copy.deepcopy(net).eval()
    for block in map(_seq, fused.features):
        conv, bn = block[0], block[1]
        if not isinstance(conv, nn.Conv3d) or not isinstance(bn, nn.BatchNorm3d):
            raise TypeError(f"expected Conv3d + BatchNorm3d blocks, got {type(conv).__name__} + {type(bn).__name__}")
        block[0] = fuse_conv_bn_eval(conv, bn)
        block[1] = nn.Identity()
    return _InferenceNet(fused).eval()
