"""Free additive and multiplicative convolution of spectral laws, by subordination.

One concept per module: :mod:`.convolution` (the law ``FreeConvolution`` and its Stieltjes transform by
subordination), :mod:`.edges` (its support edges: exact critical points or a grid scan),
:mod:`._laws` (the input laws as numba kernels), :mod:`._solver` (the numba subordination solver),
:mod:`._real` (the input laws' real inverses, for the exact edges).
"""
from ..atomic import AtomicLaw
from ..semicircle import Semicircle
from .convolution import (FreeConvolution, free_additive_convolution, free_cumulants,
                          free_multiplicative_convolution)

__all__ = ["FreeConvolution", "free_additive_convolution", "free_multiplicative_convolution",
           "free_cumulants", "AtomicLaw", "Semicircle"]
