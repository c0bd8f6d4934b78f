"""Gradient estimators (pluggable into the shared sign-PGD loop)."""

from mesampler.estimators.antithetic import AntitheticPriorEstimator
from mesampler.estimators.base import GradientEstimator, LossQuery

__all__ = ["AntitheticPriorEstimator", "GradientEstimator", "LossQuery"]
