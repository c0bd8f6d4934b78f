"""Noise priors behind one interface (:class:`Sampler`); ``create_sampler(name)`` builds one."""

from mesampler.samplers.base import Sampler, create_sampler, register_sampler
from mesampler.samplers.me_sampler import MESampler, sparked_index, sparked_prior
from mesampler.samplers.multi_noise import MultiNoise
from mesampler.samplers.one_noise import OneNoise

__all__ = [
    "MESampler",
    "MultiNoise",
    "OneNoise",
    "Sampler",
    "create_sampler",
    "register_sampler",
    "sparked_index",
    "sparked_prior",
]
