"""spectral-theory: the statistical-physics theory of generative diffusion models, as software."""
from ._checks import ConvergenceError, SpectralTheoryError

__version__ = "0.1.0"
