"""Random-matrix spectral laws: one `SpectralDensity` type (continuous part + atoms) for all of them.

Sign convention: ``g(z) = int dmu(l) / (z - l) = (1/D) tr (z - C)^{-1}`` (``~ 1/z`` at infinity,
``Im g < 0`` for ``Im z > 0``; density ``-Im g(x + i0) / pi``).
"""
from .density import (MAX_MOMENT_ORDER, TW1_MEAN, TW1_STD, Gap, JacobianMap, MonotoneMap, PushforwardDensity,
                      SpectralDensity, StieltjesResult)
from .marchenko_pastur import MarchenkoPastur
from .silverstein import CompanionEquation, GeneralizedMarchenkoPastur, Silverstein
from .atomic import AtomicLaw
from .semicircle import Semicircle
from .free import FreeConvolution, free_additive_convolution, free_multiplicative_convolution

__all__ = ["SpectralDensity", "StieltjesResult", "Gap", "MonotoneMap", "JacobianMap",
           "PushforwardDensity", "MarchenkoPastur", "Silverstein", "GeneralizedMarchenkoPastur",
           "CompanionEquation"]
__all__ += ["free_additive_convolution", "free_multiplicative_convolution", "FreeConvolution",
            "Semicircle", "AtomicLaw"]
__all__ += ["TW1_MEAN", "TW1_STD", "MAX_MOMENT_ORDER"]
