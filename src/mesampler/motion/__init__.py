"""Motion maps (the paper's section 3.2): accumulated MPEG-4 motion vectors, TV-L1 flow, improved intervals.

Pure functions live in the submodules (``mv``, ``accumulate``, ``flow``, ``improved``, ``resample``, ``metrics``,
``colour``); :func:`motion_maps` and :func:`maps_for_clip` are the cached entry points.
"""

from mesampler.motion.accumulate import TRACE_MODES, accumulate, dense_field
from mesampler.motion.api import GOP, KINDS, maps_for_clip, motion_maps
from mesampler.motion.cache import cache_dir
from mesampler.motion.colour import flow_to_rgb
from mesampler.motion.flow import FLOW_MODES, flow_map, tvl1_flow
from mesampler.motion.improved import choose_intervals
from mesampler.motion.metrics import consistency, coverage, map_correlation
from mesampler.motion.resample import maps_to_shape, resize_crop_maps, resize_maps

__all__ = [
    "FLOW_MODES",
    "GOP",
    "KINDS",
    "TRACE_MODES",
    "accumulate",
    "cache_dir",
    "choose_intervals",
    "consistency",
    "coverage",
    "dense_field",
    "flow_map",
    "flow_to_rgb",
    "map_correlation",
    "maps_for_clip",
    "maps_to_shape",
    "motion_maps",
    "resize_crop_maps",
    "resize_maps",
    "tvl1_flow",
]
