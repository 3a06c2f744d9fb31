"""spectral-theory: the statistical-physics theory of generative diffusion models, as software.

The numeric layer.  Everything here is float64 numpy/numba; sympy (``derivations``) and the Monte Carlo
layer (``validation``) are never imported from this package.
"""
__version__ = "0.1.0"

from ._checks import ConvergenceError, SpectralTheoryError

# noise schedules: the one place alpha(t), sigma(t), tau(t) = sigma^2/alpha^2 are computed
from . import schedules
from .schedules import EDM, OU, VE, VP, DiscreteVP, Schedule, edm_sigmas

# data models with exact denoisers, scores and score Jacobians
from . import models
from .models import Empirical, Gaussian, GaussianMixture, LinearManifold, MoLRG, SpikedCovariance

# random-matrix spectra, score-Jacobian spectra, gaps and phases
from . import rmt
from .spectra import AtomicSpectrum, covariance_spectrum, jacobian_spectra, jacobian_spectrum
from .gaps import (DimensionEstimate, GapProfiles, SpectralGap, estimate_dimension, gap_peak, gap_profile,
                   gap_profiles, gap_window, manifold_gap, manifold_gap_profile, manifold_gap_window,
                   predicted_drop, spectral_gaps)
from .collapse import collapse_time, collapse_tau, speciation_tau, speciation_time
from .phase_diagram import Phases, phases

# linear diffusion and power iteration (spiked covariance)
from . import linear_denoisers, spiked

# hidden Gaussian structure
from . import datasets, metrics
from .distill import distill_linear, wiener_filter

# mixtures of low-rank Gaussians
from . import molrg

# one name per quantity: the declared parameters (name, symbol, domain)
from . import parameters

__all__ = [name for name in dir() if not name.startswith("_")]
