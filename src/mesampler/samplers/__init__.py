"""Noise priors behind one interface (:class:`Sampler`)."""

from mesampler.samplers.base import Sampler, VideoBatch
from mesampler.samplers.me_sampler import MESampler, sparked_index, sparked_prior
from mesampler.samplers.multi_noise import MultiNoise
from mesampler.samplers.one_noise import OneNoise
from mesampler.samplers.released import ReleasedSampler
from mesampler.samplers.s_value import SValue
from mesampler.samplers.u_sample import USample

__all__ = [
    "MESampler",
    "MultiNoise",
    "OneNoise",
    "ReleasedSampler",
    "SValue",
    "USample",
    "Sampler",
    "VideoBatch",
    "sparked_index",
    "sparked_prior",
]
