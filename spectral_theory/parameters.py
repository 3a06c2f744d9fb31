r"""One name per quantity: every public parameter of the theory is declared once, here.

A :class:`Parameter` carries the name used in every signature, result field and command-line key, its
LaTeX symbol, its domain and a description.  :func:`check` converts and checks a value against the
declaration of its name (with :mod:`.checks` underneath), so an error names the parameter and its
meaning ("`aspect` (gamma = D/N) must be > 0; got -1.0").  :func:`table` returns the declarations
(the README's "Names and symbols" section is generated from it and a test keeps the two equal).

The choices, each a quantity that used to have two names or a name that meant two quantities:

* ``tau``: the VE-equivalent noise variance :math:`\tau = \sigma^2/\alpha^2` (was ``noise`` in
  ``spiked``/``linear_denoisers``, ``taus`` for grids); ``Schedule.tau(t)`` computes it.
* ``noise``: only a data model's isotropic noise floor (``SpikedCovariance(noise=)``, ``MoLRG``).
* ``spike``: the spike strength :math:`\ell = \lambda/\tau` in noise units (was ``snr``/``snrs``);
  ``spikes``: the clean-data spike eigenvalues :math:`\lambda_i` in data units (also ``eigenvalue``
  before), the argument of ``SpikedCovariance(dim, spikes)``.  The signal-to-noise ratio
  :math:`\alpha^2/\sigma^2 = 1/\tau` keeps its name only as ``Schedule.snr``.
* ``aspect``: :math:`\gamma = D/N` everywhere, random-matrix laws included (was ``ratio`` there).
* ``fractions``: block fractions :math:`\alpha_k = m_k/D` of a Silverstein law (sum <= 1; was
  ``weights``); ``weights`` is kept for probabilities (sum 1).
* ``b``: the lower edge of the upper part of the spectrum of C, also for the manifold gap (was
  ``gamma``, which is D/N everywhere else).

Renamed keywords keep working for one release through :func:`renamed` (a ``DeprecationWarning``
naming the new spelling).
"""
from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass

import numpy as np

from .checks import SpectralTheoryError, array, integer, probability_vector, scalar


@dataclass(frozen=True)
class Parameter:
    """Declaration of one public parameter: ``name``, LaTeX ``symbol``, ``domain``, ``description``.

    ``domain`` is one of :data:`DOMAINS` (what :func:`check` enforces)."""

    name: str
    symbol: str
    domain: str
    description: str

    @property
    def gloss(self) -> str:
        """The symbol in plain text, for error messages (``\\gamma = D/N`` -> ``gamma = D/N``)."""
        return re.sub(r"\\([A-Za-z]+)", r"\1", self.symbol).replace("{", "").replace("}", "")


#: domain -> keyword arguments of the ``checks`` helper that enforces it
DOMAINS = {
    "> 0": dict(positive=True),
    ">= 0": dict(nonnegative=True),
    "(0, 1)": dict(lo=0.0, hi=1.0, lo_open=True, hi_open=True),
    "integer >= 1": dict(minimum=1),
    "probabilities (>= 0, sum 1)": {},
    "fractions (>= 0, sum <= 1)": {},
}

_DECLARED = (
    Parameter("tau", r"\tau = \sigma^2/\alpha^2", "> 0",
              "VE-equivalent noise variance (`Schedule.tau(t)`; `Schedule.snr(t)` = 1/tau); arrays are grids of it"),
    Parameter("aspect", r"\gamma = D/N", "> 0", "aspect ratio: dimension over number of samples"),
    Parameter("spike", r"\ell = \lambda/\tau", ">= 0",
              "spike strength in units of the noise variance"),
    Parameter("spikes", r"\lambda_i", ">= 0", "spike eigenvalues of the clean data (data units)"),
    Parameter("mu", r"\mu", "> 0", "a top sample eigenvalue in units of the noise variance"),
    Parameter("noise", r"\epsilon", ">= 0", "isotropic noise floor of a data model (not the diffusion's noise)"),
    Parameter("n_samples", r"N", "> 0", "number of samples"),
    Parameter("dim", r"D", "integer >= 1", "ambient dimension"),
    Parameter("scale", r"s", "> 0", "entry variance of a Marchenko-Pastur law"),
    Parameter("fractions", r"\alpha_k = m_k/D", "fractions (>= 0, sum <= 1)",
              "column fractions of the blocks of a Silverstein law (the rest is an atom at 0)"),
    Parameter("variances", r"v_k", ">= 0", "block variances of a Silverstein law"),
    Parameter("weights", r"\pi_k", "probabilities (>= 0, sum 1)", "probabilities (mixing weights, atom masses)"),
    Parameter("population_values", r"t_j", ">= 0", "population covariance eigenvalues"),
    Parameter("population_weights", r"h_j", "probabilities (>= 0, sum 1)",
              "masses of the population eigenvalues"),
    Parameter("a", r"a", "> 0", "upper edge of the lower part of the spectrum of C at a gap"),
    Parameter("b", r"b", "> 0", "lower edge of the upper part of the spectrum of C at a gap"),
    Parameter("threshold", r"\Delta", "(0, 1)", "resolution: the smallest gap of tau J counted as visible"),
)

PARAMETERS: dict[str, Parameter] = {p.name: p for p in _DECLARED}
assert all(p.domain in DOMAINS for p in _DECLARED)


def table() -> tuple[Parameter, ...]:
    """All declared parameters, in the order of the README's "Names and symbols" table."""
    return _DECLARED


def markdown_table() -> str:
    """The declarations as the Markdown table published in the README."""
    rows = ["| name | symbol | domain | meaning |", "|---|---|---|---|"]
    rows += [f"| `{p.name}` | ${p.symbol}$ | {p.domain} | {p.description} |" for p in _DECLARED]
    return "\n".join(rows)


def check(name: str, value, *, scalar_only: bool = False, **shape):
    """Convert and check ``value`` against the declaration of ``name``.

    Returns a float with ``scalar_only``, an int for an integer domain, else a float64 array (``shape``:
    the ``ndim``/``shape``/``allow_empty`` of :func:`.checks.array`).  Errors are
    :class:`SpectralTheoryError` naming the parameter and its symbol.
    """
    p = PARAMETERS[name]
    kw = DOMAINS[p.domain]
    try:
        if p.domain.startswith("integer"):
            return integer(value, name, **kw)
        if p.domain.startswith("probabilities"):
            return probability_vector(value, name)
        if scalar_only:
            return scalar(value, name, **kw)
        out = array(value, name, nonnegative=p.domain != "> 0", positive=p.domain == "> 0", **shape)
        if p.domain == "(0, 1)" and np.any((out <= 0) | (out >= 1)):
            raise SpectralTheoryError(f"`{name}` must be in (0, 1); got {out}")
        if p.domain.startswith("fractions") and out.sum() > 1.0 + 1e-12:
            raise SpectralTheoryError(f"`{name}` must sum to at most 1; sum is {float(out.sum())!r}")
        return out
    except SpectralTheoryError as e:
        raise SpectralTheoryError(str(e).replace(f"`{name}`", f"`{name}` ({p.gloss})", 1)) from None


def renamed(**old_to_new):
    """Decorator: accept the deprecated keyword ``old`` for ``new`` with a ``DeprecationWarning``.

    Passing both spellings is an error.  Usage: ``@renamed(noise="tau")``."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise SpectralTheoryError(f"got both `{old}` (deprecated) and `{new}`; pass `{new}` only")
                    warn_renamed(old, new, fn.__qualname__)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)
        return wrapper
    return decorate


def warn_renamed(old: str, new: str, where: str, stacklevel: int = 3):
    """The one deprecation message for a renamed parameter, attribute or key."""
    warnings.warn(f"`{old}` is deprecated in {where}; use `{new}` (same quantity)", DeprecationWarning,
                  stacklevel=stacklevel)


def renamed_function(fn, old: str):
    """A deprecated alias ``old`` of ``fn`` that warns and forwards."""
    @functools.wraps(fn)
    def alias(*args, **kwargs):
        warn_renamed(old, fn.__name__, fn.__module__)
        return fn(*args, **kwargs)
    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"Deprecated alias of :func:`{fn.__name__}`."
    return alias


def renamed_attribute(new: str):
    """A read-only property forwarding a deprecated attribute name to ``new`` with a warning."""
    def get(self):
        warn_renamed(get.__name__, new, type(self).__name__)
        return getattr(self, new)

    class _Alias(property):
        def __set_name__(self, owner, name):
            get.__name__ = name
    return _Alias(get, doc=f"Deprecated: use ``{new}``.")


__all__ = ["Parameter", "PARAMETERS", "DOMAINS", "table", "markdown_table", "check", "renamed",
           "renamed_function", "renamed_attribute", "warn_renamed"]
