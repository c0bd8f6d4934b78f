"""Video datasets in their standard on-disk layouts, for campaigns.

``load_dataset(kind, root, **options)`` with kind ``testbed`` (generated clips), ``ucf101``, ``hmdb51``,
``kinetics400``, ``sthsth-v2`` or ``manifest`` (a ``file,label`` CSV) returns a :class:`VideoDataset`:
class names and :class:`VideoItem` s, with ``clip(item, frames=, size=)`` (the centre-clip rule of
:mod:`mesampler.datasets.clip`) and ``motion(item, clip, kind=)``. ``map_classes`` maps class names to a
model's classes.
"""

from mesampler.datasets.base import Clip, VideoDataset, VideoItem, Window
from mesampler.datasets.clip import clip_window, sample_clip
from mesampler.datasets.mapping import map_classes, read_mapping
from mesampler.datasets.registry import DATASET_KINDS, load_dataset

__all__ = [
    "DATASET_KINDS",
    "Clip",
    "VideoDataset",
    "VideoItem",
    "Window",
    "clip_window",
    "load_dataset",
    "map_classes",
    "read_mapping",
    "sample_clip",
]
