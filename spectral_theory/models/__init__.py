"""Data models with exact posterior-mean denoisers, scores, score Jacobians and covariance laws.

The protocol: :class:`ScoreModel` (``dim``, ``denoise``, ``score``, ``score_jvp``; a trained network
implements this part alone) and :class:`DataModel` (adds ``mean_vector``, ``covariance``, ``sample``,
``log_density``, ``covariance_law``).  Adding a model is one file defining the class (with a
``_examples(rng)`` classmethod: small instances by name) plus one line in ``MODELS`` below:
``tests/test_models.py`` then checks every hook of it against independent routes.
"""
from ._base import DataModel, PosteriorModel, ScoreModel
from .empirical import Empirical
from .gaussian import Gaussian, LinearManifold, SpikedCovariance
from .mixture import GaussianMixture, MoLRG

#: The registry of model classes (the generic model test suite runs over it).
MODELS = (Gaussian, LinearManifold, SpikedCovariance, GaussianMixture, MoLRG, Empirical)

__all__ = ["DataModel", "Empirical", "Gaussian", "GaussianMixture", "LinearManifold", "MODELS", "MoLRG",
           "PosteriorModel", "ScoreModel", "SpikedCovariance"]
