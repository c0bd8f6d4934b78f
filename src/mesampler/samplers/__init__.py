"""Noise priors behind one interface (:class:`Sampler`); ``create_sampler(name)`` builds one."""

from mesampler.samplers.base import Sampler, create_sampler, register_sampler
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
    "create_sampler",
    "register_sampler",
    "sparked_index",
    "sparked_prior",
]
