"""Input validation at the public boundary, and the package's exceptions.

Every public function converts and checks its inputs with these helpers, so that bad input fails
early with a message naming the offending parameter (never a NaN or a silent wrong answer).  They are
public: ``validation`` and ``derivations`` (and code built on the package) check their inputs the same
way.

Exceptions: one hierarchy under :class:`SpectralTheoryException`, so ``except SpectralTheoryException``
catches everything the packages raise on purpose, while each subclass stays the builtin type a caller
expects (``SpectralTheoryError`` is a ``ValueError``, ``ConvergenceError`` a ``RuntimeError``;
``validation.store.SweepError`` derives from it too).
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["SpectralTheoryException", "SpectralTheoryError", "ConvergenceError", "as_generator", "scalar",
           "integer", "array", "probability_vector", "unwrap"]


class SpectralTheoryException(Exception):
    """Base of every exception the spectral-theory packages raise on purpose."""


class SpectralTheoryError(SpectralTheoryException, ValueError):
    """Invalid input or an unsupported regime (a ``ValueError``)."""


class ConvergenceError(SpectralTheoryException, RuntimeError):
    """An iterative solver did not converge; the message carries residual and iteration count."""


def as_generator(rng) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from a Generator, a seed, a SeedSequence or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise SpectralTheoryError(
        f"`rng` must be a numpy.random.Generator, an integer seed, a SeedSequence or None; got {type(rng).__name__}"
    )


def scalar(value, name: str, *, positive=False, nonnegative=False, lo=None, hi=None,
           lo_open=False, hi_open=False) -> float:
    """Convert ``value`` to a finite float64 scalar and check its range; errors name ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError) as e:
        raise SpectralTheoryError(f"`{name}` must be a real number; got {value!r}") from e
    if not np.isfinite(v):
        raise SpectralTheoryError(f"`{name}` must be finite; got {v}")
    if positive and not v > 0:
        raise SpectralTheoryError(f"`{name}` must be > 0; got {v}")
    if nonnegative and not v >= 0:
        raise SpectralTheoryError(f"`{name}` must be >= 0; got {v}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise SpectralTheoryError(f"`{name}` must be {'>' if lo_open else '>='} {lo}; got {v}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise SpectralTheoryError(f"`{name}` must be {'<' if hi_open else '<='} {hi}; got {v}")
    return v


def integer(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Convert ``value`` to an int (rejecting non-integral floats) and check its range."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise SpectralTheoryError(f"`{name}` must be an integer; got {value!r}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise SpectralTheoryError(f"`{name}` must be >= {minimum}; got {v}")
    if maximum is not None and v > maximum:
        raise SpectralTheoryError(f"`{name}` must be <= {maximum}; got {v}")
    return v


def array(value, name: str, *, ndim=None, shape=None, positive=False, nonnegative=False,
          allow_empty=False) -> np.ndarray:
    """Convert to a finite float64 array and check dimensions, shape (``None`` = any) and sign."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise SpectralTheoryError(f"`{name}` must be a real array; got {type(value).__name__}") from e
    if ndim is not None:
        ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in ndims:
            raise SpectralTheoryError(f"`{name}` must have {' or '.join(map(str, ndims))} dimension(s); got shape {a.shape}")
    if shape is not None:
        if a.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, a.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise SpectralTheoryError(f"`{name}` must have shape {want}; got {a.shape}")
    if not allow_empty and a.size == 0:
        raise SpectralTheoryError(f"`{name}` must not be empty")
    if not np.all(np.isfinite(a)):
        raise SpectralTheoryError(f"`{name}` contains NaN or inf")
    if positive and np.any(a <= 0):
        raise SpectralTheoryError(f"`{name}` must be > 0 everywhere; smallest value {float(a.min())}")
    if nonnegative and np.any(a < 0):
        raise SpectralTheoryError(f"`{name}` must be >= 0 everywhere; smallest value {float(a.min())}")
    return a


def probability_vector(value, name: str, size: int | None = None, atol: float = 1e-10) -> np.ndarray:
    """A nonnegative vector summing to 1 (within ``atol``), renormalised exactly."""
    w = array(value, name, ndim=1, nonnegative=True)
    if size is not None and w.size != size:
        raise SpectralTheoryError(f"`{name}` must have {size} entries; got {w.size}")
    if abs(w.sum() - 1.0) > atol:
        raise SpectralTheoryError(f"`{name}` must sum to 1; sums to {float(w.sum())!r}")
    return w / w.sum()


def unwrap(x):
    """A 0-d array as its scalar, anything else unchanged: results keep the shape of the input."""
    return x[()] if np.ndim(x) == 0 else x
