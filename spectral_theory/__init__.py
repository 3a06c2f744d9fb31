"""spectral-theory: the statistical-physics theory of generative diffusion models, as software."""
from ._checks import ConvergenceError, SpectralTheoryError
from . import spiked
from .gaps import gap_peak, gap_profile, gap_window

__version__ = "0.1.0"
from . import schedules
from .schedules import EDM, OU, VE, VP, DiscreteVP, Schedule, edm_sigmas
from . import models
from .models import Empirical, Gaussian, GaussianMixture, LinearManifold, MoLRG, SpikedCovariance
