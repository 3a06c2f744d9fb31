"""Input laws of the free-convolution kernels: their Stieltjes transforms in numba.

Sign convention ``g(z) = int dmu/(z - x)`` (``Im g < 0`` for ``Im z > 0``).

Input laws
----------
Each input law enters the kernels as a tuple ``law = (law_kind, par, p1, p2, gaps)`` whose Stieltjes
transform ``g(w)`` and derivative ``g'(w)`` are evaluated by :func:`law_transform`:

* ``LAW_DISCRETE``: ``sum_j m_j delta(x_j)`` (``p1 = x``, ``p2 = m``): ``g = sum m / (w - x)``. Exact for
  an atomic law; for a generic continuous law (atoms + bulk quadrature nodes) it is accurate only
  while ``w`` stays away from the support - :mod:`.convolution` then polishes with the exact transforms.
* ``LAW_SEMICIRCLE`` (``par = [center m, variance s2]``): ``g = (u - sqrt(u - R) sqrt(u + R)) / (2 s2)``,
  ``u = w - m``, ``R = 2 sqrt(s2)``, evaluated as ``2 / (u + sqrt(u - R) sqrt(u + R))`` (the product of
  the two roots of ``s2 g^2 - u g + 1 = 0`` is ``1/s2``; no cancellation at large ``|u|``, where the
  subordination functions live at the start of the continuation); ``g' = g / (2 s2 g - u)``.
* ``LAW_MARCHENKO_PASTUR`` (``par = [ratio c, scale s]``, edges ``a, b = s (1 -/+ sqrt c)^2``):
  ``g = (w - s(1 - c) - sqrt(w - a) sqrt(w - b)) / (2 s c w) = 2 / (w - s(1 - c) + sqrt(w - a) sqrt(w - b))``
  (roots of ``s c w g^2 - (w - s(1 - c)) g + 1 = 0``; the form without cancellation is taken),
  ``g' = (g - s c g^2) / (2 s c w g - w + s(1 - c))``.
* ``LAW_COMPANION`` (``par = [c, eta_top]``, ``p1 = a``, ``p2 = v``, ``gaps`` = the four gap arrays of
  :class:`.silverstein.CompanionEquation`): the companion transform ``g_c`` of
  ``w = 1/g_c + sum_k a_k v_k / (1 - v_k g_c)`` by the solver of :mod:`._kernels` (warm-started from
  the previous value ``hint``; real ``w`` outside the support by bisection), ``g_c' = 1 / z'(g_c)``;
  the law is ``g = (g_c - (1 - c)/w) / c`` (evaluated without cancellation, :func:`_gmp_from_companion`).

The principal square roots give the Herglotz branch for ``Im w > 0`` and, with ``Im w = +0``, the
limit from the upper half plane on the real axis; ``Im w < 0`` is handled by ``g(conj w) = conj g(w)``.
Evaluating the inputs exactly matters: the subordination functions run within ``Im z`` of the inputs'
supports, where no fixed discretisation of a continuous law is accurate (a quadrature image of a
Marchenko-Pastur bulk has a pole at every node, which creates spurious fixed points near the axis).

"""
from __future__ import annotations

import numpy as np
from numba import njit

from .. import _kernels as K
from .._continuation import STATUS_OK
from ..density import SpectralDensity
from ..marchenko_pastur import MarchenkoPastur
from ..semicircle import Semicircle
from ..silverstein import _CompanionLaw

# error_model="numpy": a division by zero (w on an atom, g = 0) gives inf/nan, which the solvers
# detect and report, instead of raising inside prange

LAW_DISCRETE = 0
LAW_SEMICIRCLE = 1
LAW_MARCHENKO_PASTUR = 2
LAW_COMPANION = 3

_INNER_TOL = 1e-15          # companion-equation solver (as in .silverstein)
_INNER_MAXITER = 20000

NAN = K.NAN
DOWN = complex(-np.inf, 0.0)     # g' at a square-root edge, approached on the real axis from outside


# ---- a law object as a kernel tuple -------------------------------------------------------------

def _discretize(law: SpectralDensity):
    """Atoms + bulk quadrature nodes of ``law`` as a discrete measure (x, m) for the kernels."""
    xs = [np.array([x for x, _ in law.atoms], dtype=float)]
    ms = [np.array([w for _, w in law.atoms], dtype=float)]
    for q in law._quadratures:
        keep = q.node_mass > 0
        xs.append(q.nodes[keep])
        ms.append(q.node_mass[keep])
    return np.ascontiguousarray(np.concatenate(xs)), np.ascontiguousarray(np.concatenate(ms))


def kernel_law(law: SpectralDensity):
    """(law tuple for the kernels, exact?): closed forms / companion equation where known,
    else the discrete image (atoms + bulk quadrature nodes)."""
    empty, no_gaps = np.zeros(0), np.zeros((4, 0))
    if isinstance(law, Semicircle):
        return (LAW_SEMICIRCLE, np.array([law.center, law.variance]), empty, empty, no_gaps), True
    if isinstance(law, MarchenkoPastur):
        return (LAW_MARCHENKO_PASTUR, np.array([law.aspect, law.scale]), empty, empty, no_gaps), True
    if isinstance(law, _CompanionLaw):
        eq = law._eq
        gaps = np.ascontiguousarray(np.stack([eq.gap_x_lo, eq.gap_x_hi, eq.gap_s_lo, eq.gap_s_hi]))
        return (LAW_COMPANION, np.array([law._c, eq.eta_top]), eq.a, eq.v, gaps), True
    x, m = _discretize(law)
    return (LAW_DISCRETE, np.zeros(2), x, m, no_gaps), law.is_atomic


# ---- transforms --------------------------------------------------------------------------------

@njit(cache=True, error_model="numpy")
def cauchy(w, x, m):
    """g(w) = sum m / (w - x) and g'(w) of a discrete measure (NaN at a pole)."""
    g = 0j
    dg = 0j
    for j in range(x.size):
        t = K.cdiv(1.0, w - x[j], NAN)
        g += m[j] * t
        dg -= m[j] * t * t
    return g, dg


@njit(cache=True, error_model="numpy")
def _gmp_from_companion(s, c, a, v):
    """g(w) and g'(w) of the generalised Marchenko-Pastur law with c < 1 from s = 1/g_c (``a = c h``).

    For c < 1 the companion law has an atom 1 - c at 0, so ``g = (g_c - (1 - c)/w) / c`` subtracts two
    terms ~ (1 - c)/w as w -> 0. With ``w = s (1 + sum a v/(s - v))`` and sum h = 1 it equals ``n/d``,
    ``n = sum h/(s - v)``, ``d = 1 + sum a v/(s - v)`` (-> 1 - c at s = 0): no cancellation.
    ``g' = (n/d)'(s) / (1 - H(s))``.
    """
    n = 0j
    dn = 0j
    d = 1.0 + 0j
    dd = 0j
    h = 0j
    for k in range(a.size):
        t = K.cdiv(1.0, s - v[k], NAN)
        n += a[k] / c * t
        dn -= a[k] / c * t * t
        d += a[k] * v[k] * t
        dd -= a[k] * v[k] * t * t
        h += a[k] * v[k] * v[k] * t * t
    g = K.cdiv(n, d, NAN)
    dg = K.cdiv((dn - g * dd) * K.cdiv(1.0, d, NAN), 1.0 - h, DOWN)
    return g, dg


@njit(cache=True, error_model="numpy")
def law_transform(law, w, hint):
    """(g(w), g'(w)) of an input law (see the module docstring); NaN where the inner solver fails or
    at a pole; g' = -inf exactly at a square-root edge (its limit from outside the support).

    ``hint`` (a length-1 complex array, 0 = none) carries the last companion value of this law in
    the upper half plane, the warm start of the next evaluation.
    """
    law_kind, par, p1, p2, gaps = law
    if law_kind == LAW_DISCRETE:
        return cauchy(w, p1, p2)
    lower = w.imag < 0.0
    if lower:
        w = w.conjugate()
    elif w.imag == 0.0:
        w = complex(w.real, 0.0)              # +0: the limit from the upper half plane
    if law_kind == LAW_SEMICIRCLE:
        s2 = par[1]
        u = w - par[0]
        r = 2.0 * np.sqrt(s2)
        g = 2.0 / (u + np.sqrt(u - r) * np.sqrt(u + r))     # = (u - sqrt sqrt)/(2 s2); never 0 / 0
        dg = K.cdiv(g, 2.0 * s2 * g - u, DOWN)
    elif law_kind == LAW_MARCHENKO_PASTUR:
        c = par[0]
        s = par[1]
        a = s * (1.0 - np.sqrt(c)) ** 2
        b = s * (1.0 + np.sqrt(c)) ** 2
        # g = 2 / n_plus = n_minus / (2 s c w) (n_plus n_minus = 4 s c w): the larger of the two has no
        # cancellation (n_plus at large |w|; n_minus next to the atom at 0 when c > 1, where
        # n_plus -> 0 by cancellation and T = w g -> 1 - 1/c must stay exact)
        root = np.sqrt(w - a) * np.sqrt(w - b)
        n_plus = w - s * (1.0 - c) + root
        n_minus = w - s * (1.0 - c) - root
        if abs(n_plus) >= abs(n_minus):
            g = K.cdiv(2.0, n_plus, NAN)
        else:
            g = K.cdiv(n_minus, 2.0 * s * c * w, NAN)
        dg = K.cdiv(g - s * c * g * g, 2.0 * s * c * w * g - w + s * (1.0 - c), DOWN)
    else:
        if w == 0:                            # the companion solver divides by w (a pole or a hard edge)
            return complex(np.nan, np.nan), complex(np.nan, np.nan)
        c = par[0]
        gc, _, st = K._solve_one(w, hint[0], hint[0] != 0, p1, p2, gaps[0], gaps[1], gaps[2], gaps[3],
                                 par[1], _INNER_TOL, _INNER_MAXITER)
        if st != STATUS_OK:
            return complex(np.nan, np.nan), complex(np.nan, np.nan)
        if gc.imag < 0.0:
            hint[0] = gc
        _, dr = K._r_and_dr(gc, p1, p2)
        igc = K.cdiv(1.0, gc, NAN)
        dgc = K.cdiv(1.0, dr - igc * igc, DOWN)
        g, dg = gc, dgc
        if c < 1.0:
            g, dg = _gmp_from_companion(igc, c, p1, p2)
        elif c > 1.0:                         # no cancellation: g_c stays finite as w -> 0 (atom of g)
            iw = K.cdiv(1.0, w, NAN)
            g = (gc - (1.0 - c) * iw) / c
            dg = (dgc + (1.0 - c) * iw * iw) / c
    if lower:
        return g.conjugate(), dg.conjugate()
    return g, dg
