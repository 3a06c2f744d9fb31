r"""Intermediate spectral gaps of the rescaled score Jacobian :math:`\tau J`.

For a Gaussian model (or data on a linear manifold) the score Jacobian is
:math:`J = -(C + \tau I)^{-1}` at VE noise variance :math:`\tau`, so every eigenvalue :math:`\lambda`
of the data covariance :math:`C` becomes the eigenvalue :math:`-\tau/(\lambda + \tau)` of :math:`\tau J`
(an increasing map of :math:`\lambda`).  Two bulks of the spectrum of :math:`C`, separated by a gap
from the upper edge :math:`a` of the lower bulk to the lower edge :math:`b > a` of the upper bulk, give
the **intermediate gap**

.. math::  G(\tau) = \frac{\tau}{\tau + a} - \frac{\tau}{\tau + b}
                   = \frac{\tau (b - a)}{(\tau + a)(\tau + b)},

which vanishes at both ends (:math:`\tau \to 0`: everything tangent goes to 0; :math:`\tau \to \infty`:
everything goes to -1) and peaks at

.. math::  \tau_{\max} = \sqrt{a b}, \qquad
           G_{\max} = \frac{\sqrt b - \sqrt a}{\sqrt b + \sqrt a}.

With a resolution threshold :math:`\Delta` the gap is visible (:math:`G \ge \Delta`) for :math:`\tau`
between the roots of :math:`\Delta\tau^2 - [(b - a) - \Delta(a + b)]\tau + \Delta a b = 0`; they are
real iff :math:`\Delta \le G_{\max}` and their product is :math:`ab` (the window is symmetric about
:math:`\tau_{\max}` in :math:`\log\tau`).

The derivation (with every step checked by sympy) is ``derivations.derive("intermediate_gap")``;
the formulas come from ``theory/spectral_gaps.md`` (Ventura et al., arXiv 2410.05898).
``gap_profile``, ``gap_peak`` and ``gap_window`` broadcast over array arguments and require
:math:`0 < a < b`.

For a model (or a spectral law of C) the module also gives every gap of :math:`\tau J` at once
(``spectral_gaps``: location, width, the number of eigenvalues below - the dimension the gap reveals),
the **manifold gap** :math:`b/(b + \tau)` (Ventura et al.'s :math:`\gamma_-/(\gamma_- + \tau)`) above the
atom at -1 of the normal directions (``manifold_gap``, ``manifold_gap_profile``, ``manifold_gap_window``;
``derivations.derive("gaps_manifold_gap")``), profiles over :math:`\tau` (``gap_profiles``), and the
dimension read off the largest drop of an observed sorted spectrum (``estimate_dimension``) with the
theory's prediction of where that drop lies (``predicted_drop``: the widest gap at that tau).
"""
from __future__ import annotations

from dataclasses import dataclass as _dataclass

import numpy as np

from .checks import SpectralTheoryError, array, unwrap
from .parameters import check, renamed
from .rmt import SpectralDensity
from .spectra import _model


def _edges(a, b):
    a, b = check("a", a), check("b", b)
    if np.any(b <= a):
        raise SpectralTheoryError("the lower edge `b` of the upper bulk must exceed the upper edge `a` "
                                  f"of the lower bulk; got a={a}, b={b}")
    return a, b


def gap_profile(a, b, tau):
    r"""Intermediate gap :math:`G(\tau) = \tau (b - a)/((\tau + a)(\tau + b))` of :math:`\tau J`.

    Parameters
    ----------
    a, b : upper edge of the lower bulk and lower edge of the upper bulk of the spectrum of C (0 < a < b).
    tau : VE noise variance(s) > 0.

    Returns
    -------
    float or ndarray (broadcast shape), in (0, 1).
    """
    a, b = _edges(a, b)
    tau = check("tau", tau)
    return unwrap(tau / (tau + a) * ((b - a) / (tau + b)))     # two factors in (0, 1]: no overflow of the product


def gap_peak(a, b):
    r"""Noise variance of the widest intermediate gap and its width:
    :math:`(\tau_{\max}, G_{\max}) = (\sqrt{ab}, (\sqrt b - \sqrt a)/(\sqrt b + \sqrt a))`."""
    a, b = _edges(a, b)
    ra, rb = np.sqrt(a), np.sqrt(b)
    return unwrap(ra * rb), unwrap((rb - ra) / (rb + ra))


def gap_window(a, b, threshold):
    r"""Range of noise variances where the intermediate gap is at least ``threshold`` (:math:`\Delta`).

    Returns ``(tau_lo, tau_hi)``, the roots of
    :math:`\Delta\tau^2 - [(b - a) - \Delta(a + b)]\tau + \Delta ab = 0`, computed without
    cancellation: the discriminant factorises as
    :math:`(\sqrt a + \sqrt b)^2 (G_{\max} - \Delta)\,[(b - a) - \Delta(a + b) + 2\Delta\sqrt{ab}]`,
    the larger root is taken from the quadratic formula and the smaller as :math:`ab/\tau_{hi}`.

    Raises
    ------
    SpectralTheoryError
        if ``threshold`` is not in (0, 1), or exceeds the peak gap :math:`G_{\max}` (the gap is then
        never visible: the window is empty, and no window is returned rather than a NaN). At
        ``threshold == G_max`` the window is the single point ``(tau_max, tau_max)``.
    """
    a, b = _edges(a, b)
    delta = check("threshold", threshold)                   # in (0, 1): gaps of tau J are < 1
    ra, rb = np.sqrt(a), np.sqrt(b)
    peak = (rb - ra) / (rb + ra)
    if np.any(delta > peak):
        raise SpectralTheoryError(
            f"`threshold`={delta} exceeds the peak gap G_max={peak} of edges a={a}, b={b}: "
            "the gap is never that wide, the visibility window is empty")
    # in units of b (no overflow of b^2, nor of (b - a) + root for b near the float64 maximum)
    half_sum = (1 - a / b) - delta * (a / b + 1)            # Delta * (tau_lo + tau_hi) / b
    root = (ra / rb + 1) * np.sqrt(peak - delta) * np.sqrt(half_sum + 2 * delta * ra / rb)
    q = (half_sum + root) / (2 * delta)                     # tau_hi / b
    with np.errstate(over="ignore"):
        tau_hi = b * q
    if not np.all(np.isfinite(tau_hi)):
        raise SpectralTheoryError(f"the window's upper end tau_hi = {q} b overflows float64 at `b`={b}, "
                                  f"`threshold`={delta} (too large to represent)")
    return unwrap(a / q), unwrap(tau_hi)                    # tau_lo = a b / tau_hi


# ---- gaps of a model's tau J spectrum ---------------------------------------------------------
# The gaps of the law of tau J are the gaps of the law of C mapped by the increasing map
# f(lambda) = -tau/(lambda + tau): a gap (a, b) of C becomes (f(a), f(b)) with width
# f(b) - f(a) = tau (b - a)/((tau + a)(tau + b)) = gap_profile(a, b, tau).  With a = 0 (the atom of
# normal directions) this is the manifold gap b/(b + tau).


@_dataclass(frozen=True)
class SpectralGap:
    r"""One gap of the spectrum of :math:`\tau J` at a given :math:`\tau`.

    Attributes
    ----------
    kind : "manifold" (above the atom at -1 of the directions normal to the data: C-side a = 0) or
        "intermediate" (between two parts of the tangent spectrum).
    a, b : the gap's borders in the spectrum of C (a < b; a = 0 for the manifold gap).
    tau : noise variance.
    lo, hi, width, location : the gap in :math:`\tau J` units, its width and midpoint.
    mass_below : fraction of eigenvalues of :math:`\tau J` below the gap.
    n_below : ``mass_below * dim`` - the dimension the gap reveals (for the manifold gap: the number
        of normal directions D - m); NaN when ``dim`` is unknown.
    """

    kind: str
    a: float
    b: float
    tau: float
    lo: float
    hi: float
    width: float
    location: float
    mass_below: float
    n_below: float

    def peak(self):
        """(tau_max, G_max) of this gap over tau (manifold gap: (0, 1), approached as tau -> 0)."""
        if self.a == 0.0:
            return 0.0, 1.0
        return gap_peak(self.a, self.b)

    def window(self, threshold):
        """Range of tau where this gap is at least ``threshold`` wide (see :func:`gap_window`;
        manifold gap: ``(0, b (1 - threshold)/threshold)``).  None if it is never that wide."""
        if self.a == 0.0:
            return manifold_gap_window(self.b, threshold)
        delta = float(threshold)
        if delta > float(gap_peak(self.a, self.b)[1]):
            return None
        lo, hi = gap_window(self.a, self.b, delta)
        return float(lo), float(hi)


@renamed(gamma="b")
def manifold_gap_profile(b, tau):
    r"""Width of the manifold gap :math:`b/(b + \tau)` (b: smallest nonzero eigenvalue or lower bulk
    edge of C, Ventura et al.'s :math:`\gamma_-`; ``gap_profile`` with a = 0); tends to 1 as tau -> 0."""
    b, tau = check("b", b), check("tau", tau)
    return unwrap(b / (b + tau))


@renamed(gamma="b")
def manifold_gap_window(b, threshold):
    r"""Noise range ``(0, tau_hi)`` where the manifold gap is at least ``threshold``:
    :math:`\tau_{hi} = b (1 - \Delta)/\Delta` (arrays broadcast, as in :func:`gap_window`)."""
    b, delta = np.broadcast_arrays(check("b", b), check("threshold", threshold))
    with np.errstate(over="ignore"):
        hi = b * ((1.0 - delta) / delta)
    if not np.all(np.isfinite(hi)):
        raise SpectralTheoryError(f"`b` / `threshold` = {np.max(b)} / {np.min(delta)}: the window's upper end "
                                  "overflows float64")
    return 0.0, unwrap(hi)


def _law_and_dim(model_or_law, dim, n_samples=None, component=None):
    if isinstance(model_or_law, SpectralDensity):
        return model_or_law, (np.nan if dim is None else float(dim))
    model = _model(model_or_law, "model_or_law")
    return model.covariance_law(n_samples, component), float(model.dim)


def spectral_gaps(model_or_law, tau, dim=None, n_samples=None, component=None) -> tuple:
    r"""All gaps of the spectrum of :math:`\tau J` at one noise variance, lowest first.

    Parameters
    ----------
    model_or_law : a data model (see ``covariance_spectrum``) or a ``SpectralDensity`` of C.
    tau : float > 0.
    dim : ambient dimension, needed only with a law (to turn masses into eigenvalue counts).
    n_samples, component : passed to ``covariance_spectrum``.

    Returns
    -------
    tuple of :class:`SpectralGap`.
    """
    tau = check("tau", tau, scalar_only=True)
    law, D = _law_and_dim(model_or_law, dim, n_samples, component)
    out = []
    for g in law.gaps():
        if g.hi <= 0.0:
            continue                                       # nothing below 0 for a covariance
        a, b = max(g.lo, 0.0), g.hi
        lo, hi = -tau / (a + tau), -tau / (b + tau)
        kind = "manifold" if (a == 0.0 and g.kind.startswith("atom")) else "intermediate"
        out.append(SpectralGap(kind, a, b, tau, lo, hi, hi - lo, 0.5 * (lo + hi), g.mass_below,
                               g.mass_below * D))
    return tuple(out)


def manifold_gap(model_or_law, tau, dim=None, n_samples=None, component=None) -> SpectralGap:
    """The manifold gap at ``tau`` (error if C has no null directions, e.g. a full-rank Gaussian)."""
    for g in spectral_gaps(model_or_law, tau, dim, n_samples, component):
        if g.kind == "manifold":
            return g
    raise SpectralTheoryError("this spectrum has no atom at 0 (no directions normal to the data), "
                              "so there is no manifold gap")


@_dataclass(frozen=True)
class GapProfiles:
    r"""Widths of every gap over a grid of :math:`\tau`: ``widths[i, j]`` for gap i at ``taus[j]``;
    ``gaps`` are the gaps at the first tau (their C-side borders and masses do not depend on tau)."""

    taus: np.ndarray
    widths: np.ndarray
    gaps: tuple

    def peaks(self):
        """(tau_max, G_max) of each gap (analytic, not from the grid)."""
        return [g.peak() for g in self.gaps]

    def windows(self, threshold):
        """Visibility window of each gap for ``threshold`` (None where never visible)."""
        return [g.window(threshold) for g in self.gaps]


@renamed(taus="tau")
def gap_profiles(model_or_law, tau, dim=None, n_samples=None, component=None) -> GapProfiles:
    """Width of each gap of tau J over the grid ``tau`` (one law of C, mapped for every tau)."""
    taus = check("tau", tau, ndim=1)
    gaps = spectral_gaps(model_or_law, taus[0], dim, n_samples, component)
    widths = np.array([[g.b / (g.b + t) if g.a == 0 else t * (g.b - g.a) / ((t + g.a) * (t + g.b))
                        for t in taus] for g in gaps]).reshape(len(gaps), taus.size)
    return GapProfiles(taus, widths, gaps)


# ---- dimension from an observed spectrum --------------------------------------------------------
@_dataclass(frozen=True)
class DimensionEstimate:
    r"""Largest drop of a sorted (decreasing) list of singular values.

    ``n_above`` values lie above the drop and ``n_below = len(values) - n_above`` below it.  For the
    rescaled score Jacobian of data on an m-dimensional manifold (normal directions have singular
    value 1, tangent ones :math:`\tau/(\lambda+\tau) < 1`) the manifold gap gives
    ``n_above = D - m`` and ``n_below = m``.  ``drop`` is the size of the largest drop,
    ``second_drop`` the next largest (their ratio says how clear the reading is).
    """

    values: np.ndarray
    n_above: int
    n_below: int
    drop: float
    second_drop: float


def estimate_dimension(singular_values) -> DimensionEstimate:
    """Read the dimension off the largest drop of the sorted singular values (as Ventura et al. do for
    trained networks, and Stanczuk et al., arXiv 2212.12611, for score vectors).  Singular values are
    >= 0: a negative entry is an error (it is not one)."""
    s = np.sort(array(singular_values, "singular_values", ndim=1, nonnegative=True))[::-1]
    if s.size < 2:
        raise SpectralTheoryError("`singular_values` needs at least 2 values")
    drops = s[:-1] - s[1:]
    i = int(np.argmax(drops))
    second = float(np.max(np.delete(drops, i), initial=0.0))
    return DimensionEstimate(s, i + 1, s.size - i - 1, float(drops[i]), second)


def predicted_drop(model_or_law, tau, dim=None, n_samples=None, component=None) -> SpectralGap:
    r"""The gap the largest drop of the sorted singular values of :math:`\tau J` should sit in: the
    widest gap at ``tau``.  Its ``n_below`` is the predicted ``DimensionEstimate.n_above`` (eigenvalues
    below a gap have the larger moduli) and its ``width`` the predicted drop.  At small tau this is the
    manifold gap (revealing D - m); at larger tau an intermediate gap can be wider, and the largest
    drop then reveals a sub-dimension instead."""
    gaps = spectral_gaps(model_or_law, tau, dim, n_samples, component)
    if not gaps:
        raise SpectralTheoryError(f"the spectrum of tau J has no gap at tau={tau}")
    return max(gaps, key=lambda g: g.width)


__all__ = ["gap_profile", "gap_peak", "gap_window", "SpectralGap", "manifold_gap_profile",
           "manifold_gap_window", "spectral_gaps", "manifold_gap", "GapProfiles", "gap_profiles",
           "DimensionEstimate", "estimate_dimension", "predicted_drop"]
