"""spectral-theory: the statistical-physics theory of generative diffusion models, as software."""
from ._checks import ConvergenceError, SpectralTheoryError
from . import spiked
from . import linear_denoisers
from . import rmt
from .gaps import gap_peak, gap_profile, gap_window
from .gaps import (DimensionEstimate, GapProfiles, SpectralGap, estimate_dimension, gap_profiles,
                   manifold_gap, manifold_gap_profile, manifold_gap_window, predicted_drop, spectral_gaps)

__version__ = "0.1.0"
from . import schedules
from .schedules import EDM, OU, VE, VP, DiscreteVP, Schedule, edm_sigmas
from . import models
from .models import Empirical, Gaussian, GaussianMixture, LinearManifold, MoLRG, SpikedCovariance
from . import metrics, datasets
from .distill import distill_linear, wiener_filter
from .jacobian_spectra import AtomicSpectrum, covariance_spectrum, jacobian_spectra, jacobian_spectrum
from .phases import (Phases, collapse_time, collapse_tau, phases, speciation_tau, speciation_time)
from . import molrg
