"""Data models with exact posterior-mean denoisers, scores and score Jacobians."""
from ._base import DataModel
from .empirical import Empirical
from .gaussian import Gaussian, LinearManifold, SpikedCovariance
from .mixture import GaussianMixture, MoLRG

__all__ = ["DataModel", "Empirical", "Gaussian", "GaussianMixture", "LinearManifold", "MoLRG", "SpikedCovariance"]
