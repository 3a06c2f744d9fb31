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

import functools
import numbers
import os

import numpy as np

try:
    import resource                                     # POSIX only: the address-space limit (ulimit -v)
except ImportError:
    resource = None

__all__ = ["SpectralTheoryException", "SpectralTheoryError", "ConvergenceError", "as_generator", "scalar",
           "integer", "allocation", "sample_count", "array", "complex_array", "probability_vector", "unwrap"]


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
    if rng is None or isinstance(rng, np.random.SeedSequence) or (
            isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_))):
        return np.random.default_rng(rng)
    raise SpectralTheoryError(
        f"`rng` must be a numpy.random.Generator, an integer seed, a SeedSequence or None; got {type(rng).__name__}"
    )


#: largest integer a float can carry exactly: beyond it an integral float is not a count
_MAX_EXACT_INT = 2**53

_KIND_NAMES = {"b": "bool", "c": "complex", "O": "object", "S": "bytes", "U": "str", "V": "void",
               "M": "datetime", "m": "timedelta"}


def _numeric_array(value, name: str, *, complex_ok: bool = False) -> np.ndarray:
    """``value`` as an array of a real (or, with ``complex_ok``, complex) numeric dtype.

    bool, str, object, datetime and (unless ``complex_ok``) complex values are errors naming ``name``:
    converting them would silently change the number (``True`` is not 1.0; ``1+5j`` is not 1)."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise SpectralTheoryError(f"`{name}` must be {'a number' if complex_ok else 'real'}; got "
                                  f"{type(value).__name__} {value!r}")
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as e:                 # ragged nested sequences
        raise SpectralTheoryError(f"`{name}` must be a numeric array; got {type(value).__name__}") from e
    kind = a.dtype.kind
    if kind in "iuf" or (complex_ok and kind == "c"):
        return a
    what = _KIND_NAMES.get(kind, str(a.dtype))
    if kind == "c":
        raise SpectralTheoryError(f"`{name}` must be real; got complex value(s) (a complex input is not cut "
                                  "to its real part)")
    shown = type(value).__name__ if a.ndim == 0 and kind == "O" else f"{what} array" if a.ndim else what
    raise SpectralTheoryError(f"`{name}` must be {'numeric' if complex_ok else 'real'}; got {shown}")


def scalar(value, name: str, *, positive=False, nonnegative=False, lo=None, hi=None,
           lo_open=False, hi_open=False) -> float:
    """Convert ``value`` to a finite float64 scalar and check its range; errors name ``name``.

    bool, complex, str and objects are errors (never silently converted)."""
    a = _numeric_array(value, name)
    if a.ndim != 0:
        raise SpectralTheoryError(f"`{name}` must be a real number (a scalar); got an array of shape {a.shape}")
    v = float(a)
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
    """Convert ``value`` to an int (rejecting bool, non-integral floats and floats beyond 2**53, where
    a float no longer carries an exact integer) and check its range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer() \
                and abs(float(value)) <= _MAX_EXACT_INT:
            value = int(value)
        else:
            raise SpectralTheoryError(f"`{name}` must be an integer; got {value!r}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise SpectralTheoryError(f"`{name}` must be >= {minimum}; got {v}")
    if maximum is not None and v > maximum:
        raise SpectralTheoryError(f"`{name}` must be <= {maximum}; got {v}")
    return v


@functools.lru_cache(maxsize=1)
def _machine_memory() -> int:
    """Physical memory, lowered by a cgroup (container) limit where that is smaller (fixed for the process)."""
    try:
        limit = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):      # not POSIX: no bound
        limit = 2**63
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():                              # "max": no limit
            limit = min(limit, int(text))
    return limit


def _memory_limit() -> int:
    """Bytes this process can use: :func:`_machine_memory`, lowered by an address-space limit (``ulimit -v``,
    read on every call: a process may set it)."""
    limit = _machine_memory()
    try:
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (AttributeError, ValueError, OSError):       # resource is None (not POSIX), or no RLIMIT_AS
        return limit
    return limit if soft == resource.RLIM_INFINITY else min(limit, soft)


def allocation(nbytes: int, name: str, value, what: str) -> None:
    """Check, before allocating, that the arrays a call will hold at its peak (``nbytes``: the shapes the
    size argument ``name`` = ``value`` implies, temporaries included) fit in half the memory this process
    can use (:func:`_memory_limit`).  A larger request is a :class:`SpectralTheoryError` naming ``name``
    and the GiB needed and available, not an allocation the operating system overcommits and then kills
    the process for (Linux's OOM killer), nor a ``MemoryError`` half-way through.  ``what`` says what the
    bytes are, e.g. "the (D, k) directions and their QR"."""
    need, have = int(nbytes), _memory_limit()
    if need > have // 2:
        raise SpectralTheoryError(f"`{name}` = {value}: {what} would take {need / 2**30:.3g} GiB, more than half "
                                  f"of the {have / 2**30:.3g} GiB this process may use")


def sample_count(value, name: str, row_size: int, *, minimum: int = 1) -> int:
    """A number of samples n >= ``minimum`` (:func:`integer`) whose arrays, ``row_size`` float64 per sample
    at the call's peak (output and temporaries), pass :func:`allocation`."""
    n = integer(value, name, minimum=minimum)
    row = max(int(row_size), 1)
    allocation(8 * n * row, name, n, f"{n} samples of {row} float64")
    return n


def array(value, name: str, *, ndim=None, shape=None, positive=False, nonnegative=False,
          allow_empty=False, finite=True) -> np.ndarray:
    """Convert to a finite float64 array and check dimensions, shape (``None`` = any) and sign.

    bool, complex, str and object arrays are errors (never silently converted).  ``finite=False``
    admits +-inf (NaN never): for points where a law's pdf/cdf has a limit."""
    a = _numeric_array(value, name).astype(np.float64, copy=False)
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
    if np.any(np.isnan(a)) or (finite and not np.all(np.isfinite(a))):
        raise SpectralTheoryError(f"`{name}` contains NaN{'' if not finite else ' or inf'}")
    if positive and np.any(a <= 0):
        raise SpectralTheoryError(f"`{name}` must be > 0 everywhere; smallest value {float(a.min())}")
    if nonnegative and np.any(a < 0):
        raise SpectralTheoryError(f"`{name}` must be >= 0 everywhere; smallest value {float(a.min())}")
    return a


def complex_array(value, name: str) -> np.ndarray:
    """A finite complex128 array (real input allowed): the argument of a Stieltjes transform, the one
    place where a complex number is the API.  bool, str and objects are errors naming ``name``."""
    a = _numeric_array(value, name, complex_ok=True).astype(np.complex128, copy=False)
    if not np.all(np.isfinite(a)):
        raise SpectralTheoryError(f"`{name}` must be finite")
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
