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
All functions broadcast over array arguments and require :math:`0 < a < b`.
"""
from __future__ import annotations

import numpy as np

from ._checks import SpectralTheoryError, array


def _edges(a, b):
    a = array(a, "a", positive=True)
    b = array(b, "b", positive=True)
    if np.any(b <= a):
        raise SpectralTheoryError("the lower edge `b` of the upper bulk must exceed the upper edge `a` "
                                  f"of the lower bulk; got a={a}, b={b}")
    return a, b


def _out(x):
    return x[()] if x.ndim == 0 else x


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
    tau = array(tau, "tau", positive=True)
    return _out(tau * (b - a) / ((tau + a) * (tau + b)))


def gap_peak(a, b):
    r"""Noise variance of the widest intermediate gap and its width:
    :math:`(\tau_{\max}, G_{\max}) = (\sqrt{ab}, (\sqrt b - \sqrt a)/(\sqrt b + \sqrt a))`."""
    a, b = _edges(a, b)
    ra, rb = np.sqrt(a), np.sqrt(b)
    return _out(ra * rb), _out((rb - ra) / (rb + ra))


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
    delta = array(threshold, "threshold", positive=True)
    if np.any(delta >= 1):
        raise SpectralTheoryError(f"`threshold` must be in (0, 1) (gaps of tau J are < 1); got {delta}")
    ra, rb = np.sqrt(a), np.sqrt(b)
    peak = (rb - ra) / (rb + ra)
    if np.any(delta > peak):
        raise SpectralTheoryError(
            f"`threshold`={delta} exceeds the peak gap G_max={peak} of edges a={a}, b={b}: "
            "the gap is never that wide, the visibility window is empty")
    half_sum = (b - a) - delta * (a + b)                    # Delta * (tau_lo + tau_hi)
    disc = (ra + rb) ** 2 * (peak - delta) * (half_sum + 2 * delta * ra * rb)
    tau_hi = (half_sum + np.sqrt(disc)) / (2 * delta)
    tau_lo = a * b / tau_hi
    return _out(tau_lo), _out(tau_hi)
