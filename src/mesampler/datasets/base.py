"""What every dataset loader returns: a list of :class:`VideoItem` and the dataset's class names."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mesampler.datasets.clip import Clip, Window, sample_clip

__all__ = ["Clip", "VideoDataset", "VideoItem", "Window", "clip_motion"]


@dataclass(frozen=True)
class VideoItem:
    """One video of a dataset.

    Attributes:
        id: identifier unique within the dataset (relative path, file stem or generated id).
        label: the dataset's class name.
        path: the video file (``None`` for generated clips).
        index: generator index (test-bed clips only).
        window: which window of the file this item attacks (``None``: the centre clip).
        source: the file's id when several items are windows of one file (else ``id``).
    """

    id: str
    label: str
    path: Path | None = None
    index: int | None = None
    window: Window | None = None
    source: str | None = None


@dataclass
class VideoDataset:
    """A dataset as a class list and items; clips and motion maps are made on demand.

    ``classes`` are the dataset's class names in its own order; ``items`` are sorted by ``id``; ``listed`` holds
    them in the order the loader listed them (a manifest's rows), which an in-order selection follows.
    """

    name: str
    kind: str
    classes: list[str]
    items: list[VideoItem]
    root: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    listed: list[VideoItem] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.listed = list(self.items)
        self.items = sorted(self.items, key=lambda it: it.id)
        ids = [it.id for it in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"dataset {self.name!r}: duplicate video ids")

    def __len__(self) -> int:
        return len(self.items)

    def by_class(self) -> dict[str, list[VideoItem]]:
        """Items per class name, in class order, each list sorted by id."""
        out: dict[str, list[VideoItem]] = {c: [] for c in self.classes}
        for it in self.items:
            out.setdefault(it.label, []).append(it)
        return out

    def clip(self, item: VideoItem, *, frames: int | None, size: int | None, crop: int | None = None) -> Clip:
        """The clip the protocol attacks (:func:`mesampler.datasets.clip.sample_clip`)."""
        if item.path is None:
            raise ValueError(f"{self.name}: item {item.id!r} has no file")
        return sample_clip(item.path, frames=frames, size=size, crop=crop, window=item.window)

    def motion(self, item: VideoItem, clip: Clip, *, kind: str) -> np.ndarray:
        """Motion maps ``(N, H, W, 2) float32`` for ``clip``.

        ``kind``: ``"mv"`` / ``"flow"`` from the source file over the clip's window
        (:func:`mesampler.motion.maps_for_clip`), ``"clip"`` motion vectors of the sampled clip itself.
        """
        if kind == "clip":
            return clip_motion(clip.video)
        if kind not in ("mv", "flow"):
            raise ValueError(
                f"dataset {self.name!r} ({self.kind}): motion {kind!r} is not available; use mv, flow or clip"
            )
        from mesampler.motion import maps_for_clip

        assert item.path is not None
        t, h, w, _ = clip.video.shape
        return maps_for_clip(os.fspath(item.path), height=h, width=w, start=clip.start, frames=t, kind=kind)  # type: ignore[arg-type]


def clip_motion(video: np.ndarray) -> np.ndarray:
    """Accumulated motion vectors of the clip itself (what ``mesampler.attack`` uses for ``motion=None``)."""
    from mesampler.motion import motion_maps

    return motion_maps(video, kind="mv", partial=True)  # type: ignore[return-value]
