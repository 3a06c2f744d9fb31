r"""The purely atomic law :math:`\sum_j w_j \delta_{x_j}` (the exact spectrum of a finite matrix, a
population spectrum).

Its Stieltjes transform is the finite sum :math:`g(z) = \sum_j w_j / (z - x_j)`, exact; the free
convolutions recognise that from the law itself (``SpectralDensity.is_atomic``), not from this class.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..checks import SpectralTheoryError, array, probability_vector
from .density import SpectralDensity, StieltjesResult


class AtomicLaw(SpectralDensity):
    r"""A purely atomic law :math:`\sum_j w_j \delta_{x_j}`; :math:`g(z) = \sum_j w_j / (z - x_j)`.

    Parameters
    ----------
    values : 1-d array of atom locations :math:`x_j` (equal locations are merged).
    weights : probability vector :math:`w_j` of the same length; default uniform ``1/len(values)``.
    """

    def __init__(self, values, weights=None):
        x = array(values, "values", ndim=1)
        w = np.full(x.size, 1.0 / x.size) if weights is None else probability_vector(weights, "weights")
        if w.size != x.size:
            raise SpectralTheoryError(f"`weights` must have the length of `values` ({x.size}); got {w.size}")
        keep = w > 0
        locs, inv = np.unique(x[keep], return_inverse=True)
        mass = np.bincount(inv, weights=w[keep], minlength=locs.size)
        self._bulks = ()
        self._atoms = tuple(zip(locs.tolist(), mass.tolist()))

    def _pdf_inside(self, x):
        return np.zeros_like(x)

    def _stieltjes_result(self, z):
        g = sum(w / (z - x) for x, w in self._atoms) + 0j * z
        zeros = np.zeros(z.shape)
        return StieltjesResult(g, zeros.astype(int), zeros, np.ones(z.shape, dtype=bool))

    def _moment_formula(self, k):
        return float(sum(w * x ** k for x, w in self._atoms))

    def __repr__(self):
        return f"AtomicLaw({len(self._atoms)} atoms)"


class AtomicSpectrum(AtomicLaw):
    """Deprecated spelling of :class:`AtomicLaw` (``AtomicSpectrum(locations, weights)``); it is the same
    law and warns once per construction."""

    def __init__(self, locations, weights=None):
        warnings.warn("spectral_theory.AtomicSpectrum is deprecated; use spectral_theory.rmt.AtomicLaw "
                      "(the same law)", DeprecationWarning, stacklevel=2)
        super().__init__(locations, weights)


__all__ = ["AtomicLaw", "AtomicSpectrum"]
