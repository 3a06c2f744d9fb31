"""Exact random points for the random-point checks of matrix-valued steps.

Rational entries keep a substituted claim exact, so its residual is evaluated to the full
:data:`derivations.core.CHECK_DIGITS` without rounding noise from the inputs.
"""
from __future__ import annotations

import numpy as np
import sympy as sp


def rational(rng, lo=-1.0, hi=1.0, denominator=1000):
    """A random rational in [lo, hi] with the given denominator."""
    return sp.Rational(int(round((lo + (hi - lo) * rng.random()) * denominator)), denominator)


def rational_matrix(rng, rows, cols, lo=-1.0, hi=1.0):
    """A rows x cols sympy matrix of independent random rationals in [lo, hi] (:func:`rational`)."""
    return sp.Matrix(rows, cols, lambda i, j: rational(rng, lo, hi))


def symmetric_matrix(rng, n):
    """A random symmetric n x n rational matrix (M + M^T)/2, exact, for symbolic-vs-numeric checks."""
    m = rational_matrix(rng, n, n)
    return (m + m.T) / 2


def orthonormal_columns(rng, n, d):
    """An n x d matrix with *exactly* orthonormal rational columns: the first d columns of the Cayley
    transform (I - A)(I + A)^{-1} of a random rational skew-symmetric A (always invertible)."""
    m = rational_matrix(rng, n, n)
    skew = (m - m.T) / 2
    q = (sp.eye(n) - skew) * (sp.eye(n) + skew).inv()
    return q[:, :d]


def numpy_orthonormal(rng, n, d):
    """Float orthonormal columns (QR of a Gaussian matrix), for numeric twins."""
    return np.linalg.qr(rng.standard_normal((n, d)))[0]
