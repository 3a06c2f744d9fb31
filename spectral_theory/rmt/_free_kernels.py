"""Numba kernels for free convolution by subordination (module-level functions, ``prange`` over points).

Sign convention ``g(z) = int dmu/(z - x)`` (``Im g < 0`` for ``Im z > 0``), ``F = 1/g``, ``h = F - id``.

Input laws
----------
Each input law enters the kernels as a tuple ``law = (law_kind, par, p1, p2, gaps)`` whose Stieltjes
transform ``g(w)`` and derivative ``g'(w)`` are evaluated by :func:`law_transform`:

* ``LAW_DISCRETE``: ``sum_j m_j delta(x_j)`` (``p1 = x``, ``p2 = m``): ``g = sum m / (w - x)``. Exact for
  an atomic law; for a generic continuous law (atoms + bulk quadrature nodes) it is accurate only
  while ``w`` stays away from the support - :mod:`.free` then polishes with the exact transforms.
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

Equations
---------
* ``KIND_ADDITIVE`` (Voiculescu 1993; Biane 1998; Belinschi & Bercovici 2007, Thm 4.1):
  ``g_{A+B}(z) = g_A(w1) = g_B(w2)``, ``w1 + w2 = z + 1/g``. Eliminating ``w2 = z + h_A(w1)``,
  ``w1`` is the Denjoy-Wolff (attracting) fixed point of the analytic self-map of the upper half plane
  ``f_z(w) = z + h_B(z + h_A(w))`` (``Im h >= 0``), so plain iteration converges for every ``Im z > 0``.
* ``KIND_MULTIPLICATIVE`` (Belinschi & Bercovici 2007, Thm 4.2), written in the spectral variable
  ``zeta = 1/z`` with ``W = 1/omega`` and ``T(w) = w g(w)`` (``T = 1 + psi(1/w)``):
  ``T_A(W1) = T_B(W2) = T(zeta) = zeta g_{AB}(zeta)``, ``W1 W2 = zeta T / (T - 1)``. Fixed point
  ``W1 = Phi(W1)``: ``W2 = zeta p_A(W1) / W1``, ``Phi = zeta p_B(W2) / W2`` with ``p = T/(T - 1)``.
  For ``Im zeta > 0``, ``W1, W2`` lie in the upper half plane.

Solver per point, as in :mod:`._kernels`: plain fixed-point iteration at ``Im z = eta_top`` (far from
the spectrum), then ``eta`` shrinks geometrically, each level solved by Newton warm-started at the
previous one (fallback: fixed point, then Newton); every accepted value must lie on the branch
(``Im w1, Im w2 > 0`` and ``Im g < 0``; on the real axis ``>= 0``, the conjugate root is taken if
Newton lands below - for real z the equations have real coefficients).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import _kernels as K

# error_model="numpy": a division by zero (w on an atom, g = 0) gives inf/nan, which the solvers
# detect and report, instead of raising inside prange

KIND_ADDITIVE = 0
KIND_MULTIPLICATIVE = 1

LAW_DISCRETE = 0
LAW_SEMICIRCLE = 1
LAW_MARCHENKO_PASTUR = 2
LAW_COMPANION = 3

STATUS_OK = 0
STATUS_MAXITER = 1
STATUS_BRANCH = 2

_NEWTON_MAXITER = 100
_ETA_FACTOR = 0.25
_ETA_FLOOR = 1e-13
_WARM_MARGIN = 1e-8
_INNER_TOL = 1e-15          # companion-equation solver (as in .silverstein)
_INNER_MAXITER = 20000


_NAN = K.NAN
_DOWN = complex(-np.inf, 0.0)     # g' at a square-root edge, approached on the real axis from outside


@njit(cache=True, error_model="numpy")
def cauchy(w, x, m):
    """g(w) = sum m / (w - x) and g'(w) of a discrete measure (NaN at a pole)."""
    g = 0j
    dg = 0j
    for j in range(x.size):
        t = K.cdiv(1.0, w - x[j], _NAN)
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
        t = K.cdiv(1.0, s - v[k], _NAN)
        n += a[k] / c * t
        dn -= a[k] / c * t * t
        d += a[k] * v[k] * t
        dd -= a[k] * v[k] * t * t
        h += a[k] * v[k] * v[k] * t * t
    g = K.cdiv(n, d, _NAN)
    dg = K.cdiv((dn - g * dd) * K.cdiv(1.0, d, _NAN), 1.0 - h, _DOWN)
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
        dg = K.cdiv(g, 2.0 * s2 * g - u, _DOWN)
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
            g = K.cdiv(2.0, n_plus, _NAN)
        else:
            g = K.cdiv(n_minus, 2.0 * s * c * w, _NAN)
        dg = K.cdiv(g - s * c * g * g, 2.0 * s * c * w * g - w + s * (1.0 - c), _DOWN)
    else:
        if w == 0:                            # the companion solver divides by w (a pole or a hard edge)
            return complex(np.nan, np.nan), complex(np.nan, np.nan)
        c = par[0]
        gc, _, st = K._solve_one(w, hint[0], hint[0] != 0, p1, p2, gaps[0], gaps[1], gaps[2], gaps[3],
                                 par[1], _INNER_TOL, _INNER_MAXITER)
        if st != K.STATUS_OK:
            return complex(np.nan, np.nan), complex(np.nan, np.nan)
        if gc.imag < 0.0:
            hint[0] = gc
        _, dr = K._r_and_dr(gc, p1, p2)
        igc = K.cdiv(1.0, gc, _NAN)
        dgc = K.cdiv(1.0, dr - igc * igc, _DOWN)
        g, dg = gc, dgc
        if c < 1.0:
            g, dg = _gmp_from_companion(igc, c, p1, p2)
        elif c > 1.0:                         # no cancellation: g_c stays finite as w -> 0 (atom of g)
            iw = K.cdiv(1.0, w, _NAN)
            g = (gc - (1.0 - c) * iw) / c
            dg = (dgc + (1.0 - c) * iw * iw) / c
    if lower:
        return g.conjugate(), dg.conjugate()
    return g, dg


@njit(cache=True, error_model="numpy")
def _half_step(kind, law, z, w, hint):
    """One input's half of the map, w -> w' and dw'/dw, plus X(w) (g additive, T = w g multiplicative).

    Additive: w' = z + h(w), h = 1/g - w.  Multiplicative: w' = z p(T(w)) / w, p = T/(T - 1).
    Reciprocals by cdiv: a zero denominator (a pole, z or w at 0) gives NaN, a failed point.
    """
    g, dg = law_transform(law, w, hint)
    if kind == KIND_ADDITIVE:
        ig = K.cdiv(1.0, g, _NAN)
        return z + ig - w, -dg * ig * ig - 1.0, g
    t = w * g
    q = K.cdiv(1.0, t - 1.0, _NAN)
    p = t * q
    dp = -(g + w * dg) * q * q
    iw = K.cdiv(1.0, w, _NAN)
    return z * p * iw, z * (dp - p * iw) * iw, t


@njit(cache=True, error_model="numpy")
def subordination_map(kind, z, w1, law_a, law_b, hint_a, hint_b):
    """(Phi(w1), Phi'(w1), w2, g) with g the transform of the convolution implied by w1."""
    w2, dw2, xa = _half_step(kind, law_a, z, w1, hint_a)
    phi, dphi, _ = _half_step(kind, law_b, z, w2, hint_b)
    g = xa if kind == KIND_ADDITIVE else K.cdiv(xa, z, _NAN)      # T(zeta) = zeta g(zeta)
    return phi, dphi * dw2, w2, g


@njit(cache=True, error_model="numpy")
def _finite(w):
    return np.isfinite(w.real) and np.isfinite(w.imag)


@njit(cache=True, error_model="numpy")
def _on_branch(w1, w2, g, eta, margin):
    if eta > 0.0:
        return w1.imag > 0.0 and w2.imag > 0.0 and g.imag < 0.0
    return w1.imag > margin * abs(w1) and w2.imag >= 0.0 and g.imag < -margin * abs(g)


@njit(cache=True, error_model="numpy")
def _newton(kind, z, w, law_a, law_b, hint_a, hint_b, tol):
    """Newton on w - Phi(w) = 0; returns (w, iterations, converged)."""
    prev_f = np.inf
    prev_step = np.inf
    for it in range(1, _NEWTON_MAXITER + 1):
        phi, dphi, _, _ = subordination_map(kind, z, w, law_a, law_b, hint_a, hint_b)
        if not _finite(phi):
            return w, it, False
        f = w - phi
        if abs(f) <= 4e-16 * (abs(w) + abs(phi)):
            return w, it, True
        if abs(f) >= prev_f and prev_step <= 1e-9 * abs(w):
            return w, it, True            # stagnation at rounding level (near an edge Phi' -> 1)
        prev_f = abs(f)
        df = 1.0 - dphi
        if df == 0:                       # (NaN from a pole fails the finiteness check below)
            return w, it, False
        step = f / df
        prev_step = abs(step)
        w = w - step
        if not _finite(w):
            return w, it, False
        if abs(step) <= tol * abs(w):
            return w, it, True
    return w, _NEWTON_MAXITER, False


@njit(cache=True, error_model="numpy")
def _fixed_point(kind, z, w, law_a, law_b, hint_a, hint_b, maxiter, tol):
    for it in range(1, maxiter + 1):
        phi, _, _, _ = subordination_map(kind, z, w, law_a, law_b, hint_a, hint_b)
        if not _finite(phi):
            return w, it, False
        if abs(phi - w) <= tol * abs(phi):
            return phi, it, True
        w = phi
    return w, maxiter, False


@njit(cache=True, error_model="numpy")
def _start(kind, z, mean_b):
    # large |z|: additive w1 ~ z - E[B]; multiplicative W1 ~ zeta / E[B]
    if kind == KIND_ADDITIVE:
        return z - mean_b
    return z / mean_b


@njit(cache=True, error_model="numpy")
def _continuation(kind, z, law_a, law_b, hint_a, hint_b, mean_b, eta_top, tol, maxiter, shrink):
    x = z.real
    y = z.imag
    eta = max(y, eta_top)
    zz = complex(x, eta)
    w, it, ok = _fixed_point(kind, zz, _start(kind, zz, mean_b), law_a, law_b, hint_a, hint_b, maxiter, tol)
    total = it
    if not ok:
        return w, total, STATUS_MAXITER
    floor = _ETA_FLOOR * eta_top
    while eta > y:
        eta_new = eta * shrink
        if eta_new <= y or (y == 0.0 and eta_new < floor):
            eta_new = y
        zz = complex(x, eta_new)
        w_try, it, ok = _newton(kind, zz, w, law_a, law_b, hint_a, hint_b, tol)
        total += it
        if eta_new == 0.0 and ok and w_try.imag < 0.0:
            w_try = w_try.conjugate()     # real z: both conjugates solve; take the limit from above
        good = False
        if ok:
            _, _, w2, g = subordination_map(kind, zz, w_try, law_a, law_b, hint_a, hint_b)
            good = _on_branch(w_try, w2, g, eta_new, 0.0) or \
                (eta_new == 0.0 and w_try.imag >= 0.0 and w2.imag >= -1e-12 * abs(w2) and g.imag <= 0.0)
        if not good and eta_new > 0.0:
            w_fp, it, ok = _fixed_point(kind, zz, w, law_a, law_b, hint_a, hint_b, maxiter, tol)
            total += it
            w_try, it, ok = _newton(kind, zz, w_fp, law_a, law_b, hint_a, hint_b, tol)
            total += it
            if ok:
                _, _, w2, g = subordination_map(kind, zz, w_try, law_a, law_b, hint_a, hint_b)
                good = _on_branch(w_try, w2, g, eta_new, 0.0)
        if not good:
            return w_try, total, STATUS_BRANCH
        w = w_try
        eta = eta_new
    return w, total, STATUS_OK


@njit(cache=True, error_model="numpy")
def _outside(x, bulks):
    """x lies outside every closed interval [bulks[j, 0], bulks[j, 1]]."""
    for j in range(bulks.shape[0]):
        if bulks[j, 0] <= x <= bulks[j, 1]:
            return False
    return True


@njit(cache=True, error_model="numpy")
def _solve_one(kind, zi, w_prev, have_prev, law_a, law_b, hint_a, hint_b, bulks_a, bulks_b, mean_b,
               eta_top, tol, maxiter):
    if have_prev:
        # For Im z > 0 a holomorphic self-map of the half plane has at most one fixed point there
        # (Schwarz-Pick), so a warm-started root on the branch is *the* subordination value; on the
        # real axis accept it only clearly inside the support (Im w1 and -Im g well above rounding).
        w, it, ok = _newton(kind, zi, w_prev, law_a, law_b, hint_a, hint_b, tol)
        if ok:
            if zi.imag == 0.0 and w.imag < 0.0:
                w = w.conjugate()
            _, dphi, w2, g = subordination_map(kind, zi, w, law_a, law_b, hint_a, hint_b)
            if _on_branch(w, w2, g, zi.imag, _WARM_MARGIN):
                return w, it, STATUS_OK
            # real x outside the support: the value is the boundary Denjoy-Wolff point, the unique
            # real fixed point with 0 <= Phi' < 1 (Julia's lemma), with w1, w2 off the inputs' bulks
            if zi.imag == 0.0 and w.imag == 0.0 and w2.imag == 0.0 and 0.0 <= dphi.real < 1.0 \
                    and abs(dphi.imag) <= 1e-12 and _outside(w.real, bulks_a) and _outside(w2.real, bulks_b):
                return w, it, STATUS_OK
    w, it, st = _continuation(kind, zi, law_a, law_b, hint_a, hint_b, mean_b, eta_top, tol, maxiter,
                              _ETA_FACTOR)
    if st != STATUS_OK:
        w2, it2, st2 = _continuation(kind, zi, law_a, law_b, hint_a, hint_b, mean_b, eta_top, tol, maxiter, 0.7)
        it += it2
        if st2 == STATUS_OK:
            return w2, it, st2
    return w, it, st


@njit(cache=True, error_model="numpy")
def _amplification(kind, z, w1, law_a, law_b, hint_a, hint_b):
    """|d Phi / d w2|: how much the map amplifies a rounding error in w2 (the inner variable).

    At the fixed point Phi' = (d Phi / d w2)(d w2 / d w1), and the swapped formulation (iterate w2,
    inner variable w1) amplifies errors in w1 by |d w2 / d w1|. Where g -> 0 in a gap one of w1, w2
    runs to infinity (w1 + w2 = z + 1/g) and the formulation iterating the *finite* one is the
    well-conditioned one; the smaller amplification selects it.
    """
    w2, _, _ = _half_step(kind, law_a, z, w1, hint_a)
    _, dphi, _ = _half_step(kind, law_b, z, w2, hint_b)
    return abs(dphi)


@njit(cache=True, error_model="numpy")
def _solve_form(swap, kind, zi, w_prev, have_prev, law_a, law_b, hint_a, hint_b, bulks_a, bulks_b,
                mean_a, mean_b, eta_top, tol, maxiter):
    """Solve in w1 (swap False) or in w2 (swap True: the roles of the laws exchanged).

    Returns (w1, w2, g, Phi', residual of the iterated variable, amplification, iterations, status).
    """
    if swap:
        law_a, law_b, hint_a, hint_b = law_b, law_a, hint_b, hint_a
        bulks_a, bulks_b, mean_b = bulks_b, bulks_a, mean_a
    w, it, st = _solve_one(kind, zi, w_prev, have_prev, law_a, law_b, hint_a, hint_b, bulks_a, bulks_b,
                           mean_b, eta_top, tol, maxiter)
    phi, dphi, w_other, g = subordination_map(kind, zi, w, law_a, law_b, hint_a, hint_b)
    r = abs(w - phi) / abs(w) if w != 0 else abs(phi)      # w = 0: e.g. z on a point-mass input
    if not np.isfinite(r):
        r = np.inf
    amp = _amplification(kind, zi, w, law_a, law_b, hint_a, hint_b)
    if not np.isfinite(amp):
        amp = np.inf
    if swap:
        return w_other, w, g, dphi, r, amp, it, st
    return w, w_other, g, dphi, r, amp, it, st


@njit(cache=True, parallel=True, error_model="numpy")
def solve_grid(kind, z, law_a, law_b, bulks_a, bulks_b, mean_a, mean_b, eta_top, tol, maxiter, n_chunks):
    """Subordination functions at every z (Im z >= 0, best sorted) in parallel chunks.

    ``law_a``/``law_b`` are input-law tuples (module docstring); ``bulks_a``/``bulks_b`` ((n, 2)
    arrays) their bulks, ``mean_a``/``mean_b`` their means. Each point is solved in the formulation
    (iterate w1, or iterate w2) that the previous point preferred; if the other one is better
    conditioned (:func:`_amplification`) or the first failed, the other one is solved too and the
    better conditioned success is kept. Inside a chunk each point is warm-started from its predecessor.
    Returns w1, w2, g (the convolution's transform), Phi', the residual ``|w - Phi(w)| / |w|`` of
    the iterated variable, iterations and status (``STATUS_*``).
    """
    n = z.size
    w1 = np.empty(n, dtype=np.complex128)
    w2 = np.empty(n, dtype=np.complex128)
    g = np.empty(n, dtype=np.complex128)
    dphi = np.empty(n, dtype=np.complex128)
    resid = np.empty(n, dtype=np.float64)
    iters = np.zeros(n, dtype=np.int64)
    status = np.zeros(n, dtype=np.int64)
    n_chunks = max(1, min(n_chunks, n))
    for c in prange(n_chunks):
        lo = (c * n) // n_chunks
        hi = ((c + 1) * n) // n_chunks
        hint_a = np.zeros(1, dtype=np.complex128)
        hint_b = np.zeros(1, dtype=np.complex128)
        have_prev = False
        prev1 = 0j
        prev2 = 0j
        swap = False
        for i in range(lo, hi):
            zi = z[i]
            p = prev2 if swap else prev1
            a1, a2, ag, ad, ar, aamp, ait, ast = _solve_form(
                swap, kind, zi, p, have_prev, law_a, law_b, hint_a, hint_b, bulks_a, bulks_b,
                mean_a, mean_b, eta_top, tol, maxiter)
            # amplification of the other formulation: |Phi'| / aamp (the product is Phi')
            if ast != STATUS_OK or aamp * aamp > abs(ad):
                p = prev1 if swap else prev2
                b1, b2, bg, bd, br, bamp, bit, bst = _solve_form(
                    not swap, kind, zi, p, have_prev, law_a, law_b, hint_a, hint_b, bulks_a, bulks_b,
                    mean_a, mean_b, eta_top, tol, maxiter)
                ait += bit
                if bst == STATUS_OK and (ast != STATUS_OK or bamp < aamp):
                    a1, a2, ag, ad, ar, ast = b1, b2, bg, bd, br, bst
                    swap = not swap
            w1[i], w2[i], g[i], dphi[i], resid[i], iters[i], status[i] = a1, a2, ag, ad, ar, ait, ast
            have_prev = ast == STATUS_OK and ((a1.imag > 0.0 and a2.imag > 0.0) or zi.imag == 0.0)
            prev1 = a1
            prev2 = a2
    return w1, w2, g, dphi, resid, iters, status


@njit(cache=True, parallel=True, error_model="numpy")
def real_transform_many(law, w):
    """(g(w), g'(w)) of an input law at real points ``w`` outside its support (exact kinds only).

    Used by the exact edge search of :mod:`.free` (inverse maps on the real axis); one companion
    hint per point, no warm starts (the points are independent).
    """
    n = w.size
    g = np.empty(n, dtype=np.float64)
    dg = np.empty(n, dtype=np.float64)
    for i in prange(n):
        hint = np.zeros(1, dtype=np.complex128)
        gi, dgi = law_transform(law, complex(w[i], 0.0), hint)
        g[i] = gi.real
        dg[i] = dgi.real
    return g, dg


@njit(cache=True, error_model="numpy")
def _real_x(law, w, mult, hint):
    """X(w) = g(w) or T(w) = w g(w) at real w (X_inf at w = +-inf) and X'(w)."""
    if not np.isfinite(w):
        return (1.0 if mult else 0.0), 0.0
    g, dg = law_transform(law, complex(w, 0.0), hint)
    if mult:
        return w * g.real, g.real + w * dg.real
    return g.real, dg.real


_SIGN_BIT = np.int64(-9223372036854775808)
_MAGNITUDE = np.int64(9223372036854775807)


@njit(cache=True, error_model="numpy")
def _order_key(buf, ibuf, x):
    """An int64 that orders like the double x (adjacent doubles have adjacent keys; -0.0 = +0.0)."""
    buf[0] = x
    i = ibuf[0]
    return i if i >= 0 else -(i & _MAGNITUDE)


@njit(cache=True, error_model="numpy")
def _from_key(buf, ibuf, k):
    ibuf[0] = k if k >= 0 else ((-k) | _SIGN_BIT)
    return buf[0]


@njit(cache=True, parallel=True, error_model="numpy")
def real_inverse_many(law, mult, outer, lo, hi, target):
    """w with X(w) = target on one component of R minus the support, by bisection (``prange``).

    X is strictly decreasing in w on a component: the bounded component (lo, hi), or the outer one
    (lo = largest obstacle end, hi = smallest) through w = +-inf, where X = X_inf; a target above
    X_inf lies on (lo, inf), below on (-inf, hi). The bisection halves the bracket in the order of
    the doubles (the midpoint of their integer keys), so it ends on two adjacent doubles after at
    most 64 steps from any bracket, infinite ones included, with full relative precision next to
    an end at 0 (a hard edge, where X ~ sqrt|w| needs w to 1e-300 for X to 1e-150). The value is never
    an obstacle's end. Returns w, X(w), X'(w) (NaN if the component is a single double wide).
    """
    n = target.size
    w_out = np.empty(n)
    x_out = np.empty(n)
    dx_out = np.empty(n)
    x_inf = 1.0 if mult else 0.0
    for i in prange(n):
        hint = np.zeros(1, dtype=np.complex128)
        buf = np.empty(1, dtype=np.float64)
        ibuf = buf.view(np.int64)
        t = target[i]
        a, b = lo, hi
        if outer:
            if t == x_inf:
                w_out[i], x_out[i], dx_out[i] = np.inf, x_inf, 0.0
                continue
            a, b = (lo, np.inf) if t > x_inf else (-np.inf, hi)
        ka, kb = _order_key(buf, ibuf, a), _order_key(buf, ibuf, b)
        moved_a = moved_b = False
        xa = xb = np.nan
        for _ in range(80):
            km = (ka >> 1) + (kb >> 1) + (ka & kb & 1)      # floor((ka + kb) / 2) without overflow
            if km == ka or km == kb:
                break
            x, _ = _real_x(law, _from_key(buf, ibuf, km), mult, hint)
            if x > t:
                ka, xa, moved_a = km, x, True
            else:
                kb, xb, moved_b = km, x, True
        if moved_a and (not moved_b or abs(xa - t) <= abs(xb - t)):
            w = _from_key(buf, ibuf, ka)
        elif moved_b:
            w = _from_key(buf, ibuf, kb)
        else:
            w = np.nan
        x, dx = _real_x(law, w, mult, hint)
        w_out[i] = w
        x_out[i] = x
        dx_out[i] = dx
    return w_out, x_out, dx_out
