"""A user's ``torch.nn.Module`` behind the black-box contract (eval mode, batching, no autocast)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from mesampler.models.adapters._arrays import (
    check_layout,
    check_mean_std,
    check_videos,
    normalise_torch,
    scores_to_torch,
)
from mesampler.models.base import ModelSpec, VideoModel


class ModuleModel(VideoModel):
    """Any ``nn.Module`` as a black-box model; callable like :class:`~mesampler.models.VideoModel`.

    Input ``(N, T, H, W, 3)`` float32 in [0, 1] (numpy or torch). By default the module receives the
    batch exactly so, on ``device``. ``mean``/``std`` (3 values, on [0, 1] RGB) and ``layout``
    (``"NTHWC"``, ``"NCTHW"`` or ``"NTCHW"``) adapt it to modules that expect otherwise; a
    ``preprocess`` callable replaces both (it receives the ``(N, T, H, W, 3)`` tensor on ``device``
    and returns what the module takes). The module must return ``(N, K)`` scores.

    The module is put in eval mode (with a warning if it was training) and runs under
    ``torch.no_grad``. Mixed precision is off, even inside a caller's autocast region, unless
    ``autocast=True`` (then ``autocast_dtype``, default bfloat16 on CPU and float16 elsewhere).
    No resizing: videos reach the module at the size they are given.
    """

    def __init__(
        self,
        module: torch.nn.Module,
        *,
        device: str | torch.device = "cpu",
        batch_size: int = 16,
        layout: str = "NTHWC",
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
        autocast: bool = False,
        autocast_dtype: torch.dtype | None = None,
        num_classes: int | None = None,
        classes: Sequence[str] | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
        check_layout(layout)
        mean_a, std_a = check_mean_std(mean, std)
        if preprocess is not None and (layout != "NTHWC" or mean_a is not None or std_a is not None):
            raise ValueError("give either preprocess or layout/mean/std, not both (preprocess replaces them)")
        if preprocess is not None and not callable(preprocess):
            raise TypeError(f"preprocess must be callable, got {type(preprocess).__name__}")
        if classes is not None and num_classes is None:
            num_classes = len(classes)
        spec = ModelSpec(
            name=name or type(module).__name__,
            num_classes=num_classes or 0,
            frames=0,
            size=0,
            mean=tuple(mean_a.tolist()) if mean_a is not None else (0.0, 0.0, 0.0),
            std=tuple(std_a.tolist()) if std_a is not None else (1.0, 1.0, 1.0),
            layout=layout,  # type: ignore[arg-type]
            description="user module (mesampler.models.adapters.from_module)",
        )
        super().__init__(module, spec, classes=classes, device=device, batch_size=batch_size, resize=False)
        self._norm_mean = torch.from_numpy(mean_a).to(self.device) if mean_a is not None else None
        self._norm_std = torch.from_numpy(std_a).to(self.device) if std_a is not None else None
        self._user_preprocess = preprocess
        self.autocast = bool(autocast)
        self.autocast_dtype = autocast_dtype
        self._k = num_classes

    @property
    def num_classes(self) -> int | None:  # type: ignore[override]
        """K if given (or seen on a previous call), else ``None``."""
        return self._k

    def __repr__(self) -> str:
        amp = ", autocast" if self.autocast else ""
        return f"ModuleModel({self.spec.name!r}, device={self.device}, batch_size={self.batch_size}{amp})"

    def preprocess(self, videos: torch.Tensor) -> torch.Tensor:
        """``(N, T, H, W, 3)`` in [0, 1] on ``device`` -> the module's input."""
        if self._user_preprocess is not None:
            return self._user_preprocess(videos)
        return normalise_torch(videos, self.spec.layout, self._norm_mean, self._norm_std)

    def _amp(self) -> contextlib.AbstractContextManager:
        if self.autocast:
            return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)
        return torch.autocast(device_type=self.device.type, enabled=False)

    @torch.no_grad()
    def forward_torch(self, videos: torch.Tensor) -> torch.Tensor:
        """``(N, T, H, W, 3)`` float32 in [0, 1] on any device -> ``(N, K)`` float32 scores on ``device``."""
        check_videos(videos)
        videos = videos.to(self.device, torch.float32)
        out = []
        with self._amp():
            for i in range(0, videos.shape[0], self.batch_size):
                chunk = videos[i : i + self.batch_size]
                out.append(scores_to_torch(self.net(self.preprocess(chunk)), chunk.shape[0], repr(self), self.device))
        scores = torch.cat(out)
        self._k = scores.shape[1]
        return scores

    def __call__(self, videos: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        if isinstance(videos, torch.Tensor):
            return self.forward_torch(videos)
        check_videos(videos)
        return self.forward_torch(torch.from_numpy(np.asarray(videos, dtype=np.float32))).cpu().numpy()


def from_module(module: torch.nn.Module, **options: Any) -> ModuleModel:
    """Wrap ``module`` as a black-box model: ``ModuleModel(module, **options)`` (see :class:`ModuleModel`)."""
    return ModuleModel(module, **options)
