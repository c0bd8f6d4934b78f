"""A tiny 3D CNN for the motion test-bed: ``(N, 3, T, H, W)`` normalised -> ``(N, K)`` logits."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
"""Per-channel mean the network was trained with, on [0, 1] RGB."""
STD: tuple[float, float, float] = (0.25, 0.25, 0.25)
"""Per-channel std the network was trained with, on [0, 1] RGB."""


def _block(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> nn.Sequential:
    padding = tuple(k // 2 for k in kernel)
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


def fuse_batchnorm(net: MotionNet) -> MotionNet:
    """An inference copy of ``net`` (eval mode) with each BatchNorm folded into its convolution."""
    fused = copy.deepcopy(net).eval()
    for block in fused.features:
        block[0] = fuse_conv_bn_eval(block[0], block[1])
        block[1] = nn.Identity()
    return fused
