"""The model side of the black-box contract.

A *black-box model* is any callable mapping a batch of videos
``(N, T, H, W, 3) float32 in [0, 1]`` to scores ``(N, K)`` (logits or probabilities).
Plain Python functions receive numpy arrays; objects that set ``accepts_torch = True``
(every :class:`VideoModel`) receive torch tensors on their ``device``, so an attack on a GPU
model never copies videos through the host.

:class:`VideoModel` wraps a ``torch.nn.Module`` that expects its own preprocessed layout and
carries everything the attack must not know about: value bounds, spatial resize/crop,
mean/std normalisation, channel layout, device, batch size and class names. Perturbations are
therefore always made on ``[0, 1]`` pixels, before normalisation, as the paper requires.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

Layout = Literal["NCTHW", "NTCHW", "NTHWC"]


@dataclass(frozen=True)
class ModelSpec:
    """What a registered model expects and where its weights come from.

    ``frames``/``size`` describe the clip the model was trained on; ``mean``/``std`` act on
    ``[0, 1]`` RGB (``scale`` and ``shift`` are applied first: ``x * scale + shift``).
    """

    name: str
    num_classes: int
    frames: int
    size: int
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    scale: float = 1.0
    shift: float = 0.0
    layout: Layout = "NCTHW"
    classes_source: str = ""
    weights_source: str = ""
    description: str = ""


class VideoModel:
    """A torch classifier behind the black-box contract.

    Call with ``(N, T, H, W, 3)`` float32 in [0, 1] (numpy or torch); returns ``(N, K)``
    scores as the same kind of array (numpy in, numpy out; torch in, torch out).

    Args:
        net: module taking the preprocessed batch in ``spec.layout`` and returning ``(N, K)``.
        spec: input specification (normalisation, layout, classes).
        classes: class names in output order (``len == spec.num_classes``), or ``None``.
        device: where ``net`` runs; inputs are moved there.
        batch_size: largest batch sent to ``net`` at once (larger calls are split).
        resize: if true, frames whose size differs from ``spec.size`` are resized (short side)
            and centre-cropped inside the model; otherwise they are passed as they are.
        clips: test-time clips averaged per video (temporal windows of ``spec.frames``
            frames, evenly spaced); 1 uses one centred window (or the whole clip when
            ``frames=None``).
        frames: frames per clip fed to ``net``; ``None`` feeds whatever the caller sends.
        tf32: allow TensorFloat-32 convolutions and matmuls on CUDA (faster; off by default, see
            :func:`full_fp32`).
    """

    accepts_torch = True

    def __init__(
        self,
        net: torch.nn.Module,
        spec: ModelSpec,
        *,
        classes: Sequence[str] | None = None,
        device: str | torch.device = "cpu",
        batch_size: int = 16,
        resize: bool = True,
        clips: int = 1,
        frames: int | None = None,
        tf32: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if clips < 1:
            raise ValueError(f"clips must be >= 1, got {clips}")
        if classes is not None and len(classes) != spec.num_classes:
            raise ValueError(f"{spec.name}: {len(classes)} class names for {spec.num_classes} outputs")
        self.spec = spec
        self.device = torch.device(device)
        self.net = net.to(self.device)
        if self.net.training:
            warnings.warn(f"{spec.name}: module was in training mode; switching to eval()", stacklevel=2)
        self.net.eval()
        self.classes = list(classes) if classes is not None else None
        self.batch_size = batch_size
        self.resize = resize
        self.clips = clips
        self.frames = frames
        self.tf32 = tf32
        # (x * scale + shift - mean) / std as one multiply-add: x * a + b
        std = torch.tensor(spec.std, dtype=torch.float32, device=self.device)
        mean = torch.tensor(spec.mean, dtype=torch.float32, device=self.device)
        self._a = spec.scale / std
        self._b = (spec.shift - mean) / std

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    def __repr__(self) -> str:
        return (
            f"VideoModel({self.spec.name!r}, classes={self.spec.num_classes}, device={self.device}, "
            f"clips={self.clips}, frames={self.frames})"
        )

    def preprocess(self, videos: torch.Tensor) -> torch.Tensor:
        """``(N, T, H, W, 3)`` in [0, 1] -> ``(N, ...)`` in ``spec.layout``, normalised."""
        x = videos
        n, t, h, w, _ = x.shape
        if self.resize and (h, w) != (self.spec.size, self.spec.size):
            x = resize_short_side_crop(x, self.spec.size)
        x = torch.addcmul(self._b, x, self._a)
        if self.spec.layout == "NCTHW":
            return x.permute(0, 4, 1, 2, 3)
        if self.spec.layout == "NTCHW":
            return x.permute(0, 1, 4, 2, 3)
        return x

    def _windows(self, t: int) -> list[slice]:
        if self.frames is None or t <= self.frames:
            return [slice(0, t)]
        if self.clips == 1:
            start = (t - self.frames) // 2
            return [slice(start, start + self.frames)]
        starts = np.linspace(0, t - self.frames, self.clips).round().astype(int)
        return [slice(int(s), int(s) + self.frames) for s in starts]

    @torch.no_grad()
    def forward_torch(self, videos: torch.Tensor) -> torch.Tensor:
        """Scores for ``(N, T, H, W, 3)`` float32 in [0, 1] on any device -> ``(N, K)`` float32."""
        videos = videos.to(self.device, torch.float32)
        out = []
        with contextlib.nullcontext() if self.tf32 else full_fp32(self.device):
            for i in range(0, videos.shape[0], self.batch_size):
                chunk = videos[i : i + self.batch_size]
                scores = [self.net(self.preprocess(chunk[:, w])).float() for w in self._windows(chunk.shape[1])]
                out.append(torch.stack(scores).mean(0))
        return torch.cat(out)

    def __call__(self, videos: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        if isinstance(videos, torch.Tensor):
            return self.forward_torch(videos)
        return self.forward_torch(torch.from_numpy(np.asarray(videos, dtype=np.float32))).cpu().numpy()


@contextlib.contextmanager
def full_fp32(device: torch.device) -> Iterator[None]:
    """While a model runs on a CUDA ``device``: TensorFloat-32 off for cuDNN convolutions (PyTorch allows it by
    default) and CUDA matmuls, restored afterwards. TF32 keeps 10 mantissa bits (relative error ~1e-3), the
    size of the finite-difference signals the attacks measure; a faithful fp32 target keeps them."""
    if device.type != "cuda":
        yield
        return
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def resize_short_side_crop(videos: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(N, T, H, W, C)`` so the short side is ``size`` (bilinear), then centre-crop ``size``².

    The same spatial transform as ``mesampler.video.read_video(..., size=size)``.
    """
    n, t, h, w, c = videos.shape
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = videos.reshape(n * t, h, w, c).permute(0, 3, 1, 2)
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=scale < 1)
    top, left = (nh - size) // 2, (nw - size) // 2
    x = x[:, :, top : top + size, left : left + size]
    return x.permute(0, 2, 3, 1).reshape(n, t, size, size, c)


ScoreFn = Callable[[np.ndarray], Any]
