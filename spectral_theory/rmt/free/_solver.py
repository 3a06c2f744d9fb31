"""Numba solver of the subordination equations of free convolution (``prange`` over points).

Sign convention ``g(z) = int dmu/(z - x)`` (``Im g < 0`` for ``Im z > 0``), ``F = 1/g``, ``h = F - id``.
The input laws enter as the tuples of :mod:`._laws`.

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

Solver per point: warm-started Newton from the previous grid point, else the continuation driver of
:mod:`.._continuation` (plain fixed-point iteration at ``Im z = eta_top`` (far from
the spectrum), then ``eta`` shrinks geometrically, each level solved by Newton warm-started at the
previous one (fallback: fixed point, then Newton); every accepted value must lie on the branch
(``Im w1, Im w2 > 0`` and ``Im g < 0``; on the real axis ``>= 0``, the conjugate root is taken if
Newton lands below - for real z the equations have real coefficients), retried once with a slower
shrink).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._continuation import STATUS_BRANCH, STATUS_MAXITER, STATUS_OK, chunk, continuation  # noqa: F401
from .._kernels import cdiv
from ._laws import NAN, law_transform

KIND_ADDITIVE = 0
KIND_MULTIPLICATIVE = 1

_NEWTON_MAXITER = 100
_WARM_MARGIN = 1e-8


@njit(cache=True, error_model="numpy")
def _half_step(kind, law, z, w, hint):
    """One input's half of the map, w -> w' and dw'/dw, plus X(w) (g additive, T = w g multiplicative).

    Additive: w' = z + h(w), h = 1/g - w.  Multiplicative: w' = z p(T(w)) / w, p = T/(T - 1).
    Reciprocals by cdiv: a zero denominator (a pole, z or w at 0) gives NaN, a failed point.
    """
    g, dg = law_transform(law, w, hint)
    if kind == KIND_ADDITIVE:
        ig = cdiv(1.0, g, NAN)
        return z + ig - w, -dg * ig * ig - 1.0, g
    t = w * g
    q = cdiv(1.0, t - 1.0, NAN)
    p = t * q
    dp = -(g + w * dg) * q * q
    iw = cdiv(1.0, w, NAN)
    return z * p * iw, z * (dp - p * iw) * iw, t


@njit(cache=True, error_model="numpy")
def subordination_map(kind, z, w1, law_a, law_b, hint_a, hint_b):
    """(Phi(w1), Phi'(w1), w2, g) with g the transform of the convolution implied by w1."""
    w2, dw2, xa = _half_step(kind, law_a, z, w1, hint_a)
    phi, dphi, _ = _half_step(kind, law_b, z, w2, hint_b)
    g = xa if kind == KIND_ADDITIVE else cdiv(xa, z, NAN)      # T(zeta) = zeta g(zeta)
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


# ---- the problem's pieces for the continuation driver: p = (kind, law_a, law_b, hint_a, hint_b, mean_b)

@njit(cache=True, error_model="numpy")
def _start_p(z, p):
    # large |z|: additive w1 ~ z - E[B]; multiplicative W1 ~ zeta / E[B]
    kind, _, _, _, _, mean_b = p
    if kind == KIND_ADDITIVE:
        return z - mean_b
    return z / mean_b


@njit(cache=True, error_model="numpy")
def _fixed_point_p(z, w, p, maxiter, tol):
    kind, law_a, law_b, hint_a, hint_b, _ = p
    return _fixed_point(kind, z, w, law_a, law_b, hint_a, hint_b, maxiter, tol)


@njit(cache=True, error_model="numpy")
def _newton_p(z, w, p, tol):
    kind, law_a, law_b, hint_a, hint_b, _ = p
    return _newton(kind, z, w, law_a, law_b, hint_a, hint_b, tol)


@njit(cache=True, error_model="numpy")
def _accept_p(z, w, p):
    """On the branch at Im z > 0; on the real axis also the closed upper half plane (w2 to rounding)."""
    kind, law_a, law_b, hint_a, hint_b, _ = p
    _, _, w2, g = subordination_map(kind, z, w, law_a, law_b, hint_a, hint_b)
    eta = z.imag
    return _on_branch(w, w2, g, eta, 0.0) or \
        (eta == 0.0 and w.imag >= 0.0 and w2.imag >= -1e-12 * abs(w2) and g.imag <= 0.0)


#: continuation in Im z from eta_top down to Im z, with one retry (:mod:`.._continuation`)
_continuation = continuation(_start_p, _fixed_point_p, _newton_p, _accept_p, 1.0)


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
    return _continuation(zi, (kind, law_a, law_b, hint_a, hint_b, mean_b), eta_top, tol, maxiter)


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
        lo, hi = chunk(c, n, n_chunks)
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
