"""spectral-theory: the statistical-physics theory of generative diffusion models, as software.

The numeric layer.  Everything here is float64 numpy/numba; sympy (``derivations``) and the Monte Carlo
layer (``validation``) are never imported from this package.

The top level holds the entry points and every type they return (``__all__``, explicit).  The
namespaces ``rmt`` (spectral laws), ``molrg`` (training low-rank denoisers), ``random_features``
(training timescales), ``spiked``, ``linear_denoisers``, ``metrics``, ``datasets``, ``models``,
``schedules`` and ``checks`` (input checks and exceptions) are subpackages with their own ``__all__``; they are attributes of the
package, not names of ``__all__``.
"""
__version__ = "0.1.0"

# the exceptions: one hierarchy under SpectralTheoryException
from . import checks
from .checks import ConvergenceError, SpectralTheoryError, SpectralTheoryException

# noise schedules: the one place alpha(t), sigma(t), tau(t) = sigma^2/alpha^2 are computed
from . import schedules
from .schedules import EDM, OU, VE, VP, DiscreteVP, Schedule, edm_sigmas

# data models with exact denoisers, scores and score Jacobians
from . import models
from .models import DataModel, Empirical, ScoreModel, Gaussian, GaussianMixture, LinearManifold, MoLRG, SpikedCovariance

# random-matrix spectra, score-Jacobian spectra, gaps and phases
from . import rmt
from .rmt import AtomicLaw, Gap, PushforwardDensity, SpectralDensity, StieltjesResult
from .spectra import (AtomicSpectrum, BulkInterpolant, JacobianSpectra, covariance_spectrum,
                      jacobian_spectra, jacobian_spectrum)
from .gaps import (DimensionEstimate, GapProfiles, SpectralGap, estimate_dimension, gap_peak, gap_profile,
                   gap_profiles, gap_window, manifold_gap, manifold_gap_profile, manifold_gap_window,
                   predicted_drop, spectral_gaps)
from .collapse import collapse_time, collapse_tau, speciation_tau, speciation_time
from .phase_diagram import PhaseTimes, Phases, Separation, phases

# linear diffusion and power iteration (spiked covariance)
from . import linear_denoisers, spiked

# hidden Gaussian structure
from . import datasets, metrics
from .distill import LinearFit, distill_linear, wiener_filter

# mixtures of low-rank Gaussians
from . import molrg

# two training timescales of a random-features score model (Bonnaire et al. 2025)
from . import random_features

# one name per quantity: the declared parameters (name, symbol, domain)
from . import parameters

__all__ = [
    # exceptions
    "SpectralTheoryException", "SpectralTheoryError", "ConvergenceError",
    # schedules
    "Schedule", "VE", "VP", "DiscreteVP", "OU", "EDM", "edm_sigmas",
    # data models
    "ScoreModel", "DataModel", "Empirical", "Gaussian", "GaussianMixture", "LinearManifold", "MoLRG",
    "SpikedCovariance",
    # spectral laws returned by the functions below
    "SpectralDensity", "StieltjesResult", "Gap", "PushforwardDensity", "AtomicLaw",
    "AtomicSpectrum",                                  # deprecated spelling of AtomicLaw
    # score-Jacobian spectra
    "covariance_spectrum", "jacobian_spectrum", "jacobian_spectra", "JacobianSpectra", "BulkInterpolant",
    # gaps
    "SpectralGap", "GapProfiles", "DimensionEstimate", "spectral_gaps", "manifold_gap", "gap_profile",
    "gap_profiles", "gap_peak", "gap_window", "manifold_gap_profile", "manifold_gap_window",
    "estimate_dimension", "predicted_drop",
    # phases
    "phases", "Phases", "PhaseTimes", "Separation", "collapse_tau", "collapse_time", "speciation_tau",
    "speciation_time",
    # hidden Gaussian structure
    "distill_linear", "LinearFit", "wiener_filter",
]
