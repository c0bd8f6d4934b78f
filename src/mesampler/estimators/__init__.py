"""Gradient estimators (pluggable into the shared sign-PGD loop)."""

from mesampler.estimators.antithetic import AntitheticPriorEstimator
from mesampler.estimators.bandits import BanditsEstimator
from mesampler.estimators.base import GradientEstimator, LossQuery
from mesampler.estimators.nes import NESEstimator
from mesampler.estimators.released import ReleasedEstimator
from mesampler.estimators.vbad import VBADEstimator

__all__ = [
    "AntitheticPriorEstimator",
    "BanditsEstimator",
    "GradientEstimator",
    "LossQuery",
    "NESEstimator",
    "ReleasedEstimator",
    "VBADEstimator",
]
