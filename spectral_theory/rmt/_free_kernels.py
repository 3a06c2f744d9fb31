"""Numba kernels for free convolution by subordination (module-level functions, ``prange`` over points).

Each input law enters the kernels as a discrete measure ``sum_j m_j delta(x_j)`` (its atoms plus the
Gauss-Legendre nodes and masses of its bulk quadrature, see :mod:`.density`), so that

    g(w) = sum_j m_j / (w - x_j),      g'(w) = -sum_j m_j / (w - x_j)^2

are exact for atomic laws and accurate for continuous ones whenever ``w`` is not too close to the
support. The kernels find the subordination function on the right branch; :mod:`.free` then polishes
the value with the laws' exact transforms and reports the residual of the exact equations.

Sign convention ``g(z) = int dmu/(z - x)`` (``Im g < 0`` for ``Im z > 0``), ``F = 1/g``, ``h = F - id``.

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

KIND_ADDITIVE = 0
KIND_MULTIPLICATIVE = 1

STATUS_OK = 0
STATUS_MAXITER = 1
STATUS_BRANCH = 2

_NEWTON_MAXITER = 100
_ETA_FACTOR = 0.25
_ETA_FLOOR = 1e-13
_WARM_MARGIN = 1e-8


@njit(cache=True)
def cauchy(w, x, m):
    """g(w) = sum m / (w - x) and g'(w) of a discrete measure."""
    g = 0j
    dg = 0j
    for j in range(x.size):
        t = 1.0 / (w - x[j])
        g += m[j] * t
        dg -= m[j] * t * t
    return g, dg


@njit(cache=True)
def subordination_map(kind, z, w1, xa, ma, xb, mb):
    """(Phi(w1), Phi'(w1), w2, g) with g the transform of the convolution implied by w1."""
    ga, dga = cauchy(w1, xa, ma)
    if kind == KIND_ADDITIVE:
        ha = 1.0 / ga - w1
        dha = -dga / (ga * ga) - 1.0
        w2 = z + ha
        gb, dgb = cauchy(w2, xb, mb)
        hb = 1.0 / gb - w2
        dhb = -dgb / (gb * gb) - 1.0
        return z + hb, dhb * dha, w2, ga
    ta = w1 * ga
    dta = ga + w1 * dga
    pa = ta / (ta - 1.0)
    dpa = -dta / ((ta - 1.0) * (ta - 1.0))
    w2 = z * pa / w1
    dw2 = z * (dpa / w1 - pa / (w1 * w1))
    gb, dgb = cauchy(w2, xb, mb)
    tb = w2 * gb
    dtb = gb + w2 * dgb
    pb = tb / (tb - 1.0)
    dpb = -dtb / ((tb - 1.0) * (tb - 1.0))
    phi = z * pb / w2
    dphi = z * (dpb / w2 - pb / (w2 * w2))
    return phi, dphi * dw2, w2, ta / z


@njit(cache=True)
def _finite(w):
    return np.isfinite(w.real) and np.isfinite(w.imag)


@njit(cache=True)
def _on_branch(w1, w2, g, eta, margin):
    if eta > 0.0:
        return w1.imag > 0.0 and w2.imag > 0.0 and g.imag < 0.0
    return w1.imag > margin * abs(w1) and w2.imag >= 0.0 and g.imag < -margin * abs(g)


@njit(cache=True)
def _newton(kind, z, w, xa, ma, xb, mb, tol):
    """Newton on w - Phi(w) = 0; returns (w, iterations, converged)."""
    prev_f = np.inf
    prev_step = np.inf
    for it in range(1, _NEWTON_MAXITER + 1):
        phi, dphi, _, _ = subordination_map(kind, z, w, xa, ma, xb, mb)
        f = w - phi
        if abs(f) <= 4e-16 * (abs(w) + abs(phi)):
            return w, it, True
        if abs(f) >= prev_f and prev_step <= 1e-9 * abs(w):
            return w, it, True            # stagnation at rounding level (near an edge Phi' -> 1)
        prev_f = abs(f)
        df = 1.0 - dphi
        if df == 0:
            return w, it, False
        step = f / df
        prev_step = abs(step)
        w = w - step
        if not _finite(w):
            return w, it, False
        if abs(step) <= tol * abs(w):
            return w, it, True
    return w, _NEWTON_MAXITER, False


@njit(cache=True)
def _fixed_point(kind, z, w, xa, ma, xb, mb, maxiter, tol):
    for it in range(1, maxiter + 1):
        phi, _, _, _ = subordination_map(kind, z, w, xa, ma, xb, mb)
        if not _finite(phi):
            return w, it, False
        if abs(phi - w) <= tol * abs(phi):
            return phi, it, True
        w = phi
    return w, maxiter, False


@njit(cache=True)
def _start(kind, z, mean_b):
    # large |z|: additive w1 ~ z - E[B]; multiplicative W1 ~ zeta / E[B]
    if kind == KIND_ADDITIVE:
        return z - mean_b
    return z / mean_b


@njit(cache=True)
def _accept_real(w, kind, z, xa, ma, xb, mb):
    """On the real axis both conjugates solve the equations: take the limit from above."""
    if w.imag < 0.0:
        w = w.conjugate()
    return w


@njit(cache=True)
def _continuation(kind, z, xa, ma, xb, mb, mean_b, eta_top, tol, maxiter, shrink):
    x = z.real
    y = z.imag
    eta = max(y, eta_top)
    zz = complex(x, eta)
    w, it, ok = _fixed_point(kind, zz, _start(kind, zz, mean_b), xa, ma, xb, mb, maxiter, tol)
    total = it
    if not ok:
        return w, total, STATUS_MAXITER
    floor = _ETA_FLOOR * eta_top
    while eta > y:
        eta_new = eta * shrink
        if eta_new <= y or (y == 0.0 and eta_new < floor):
            eta_new = y
        zz = complex(x, eta_new)
        w_try, it, ok = _newton(kind, zz, w, xa, ma, xb, mb, tol)
        total += it
        if eta_new == 0.0 and ok:
            w_try = _accept_real(w_try, kind, zz, xa, ma, xb, mb)
        good = False
        if ok:
            _, _, w2, g = subordination_map(kind, zz, w_try, xa, ma, xb, mb)
            good = _on_branch(w_try, w2, g, eta_new, 0.0) or \
                (eta_new == 0.0 and w_try.imag >= 0.0 and w2.imag >= -1e-12 * abs(w2) and g.imag <= 0.0)
        if not good and eta_new > 0.0:
            w_fp, it, ok = _fixed_point(kind, zz, w, xa, ma, xb, mb, maxiter, tol)
            total += it
            w_try, it, ok = _newton(kind, zz, w_fp, xa, ma, xb, mb, tol)
            total += it
            if ok:
                _, _, w2, g = subordination_map(kind, zz, w_try, xa, ma, xb, mb)
                good = _on_branch(w_try, w2, g, eta_new, 0.0)
        if not good:
            return w_try, total, STATUS_BRANCH
        w = w_try
        eta = eta_new
    return w, total, STATUS_OK


@njit(cache=True)
def _outside(x, bulks):
    """x lies outside every closed interval [bulks[j, 0], bulks[j, 1]]."""
    for j in range(bulks.shape[0]):
        if bulks[j, 0] <= x <= bulks[j, 1]:
            return False
    return True


@njit(cache=True)
def _solve_one(kind, zi, w_prev, have_prev, xa, ma, xb, mb, bulks_a, bulks_b, mean_b, eta_top, tol,
               maxiter):
    if have_prev:
        # For Im z > 0 a holomorphic self-map of the half plane has at most one fixed point there
        # (Schwarz-Pick), so a warm-started root on the branch is *the* subordination value; on the
        # real axis accept it only clearly inside the support (Im w1 and -Im g well above rounding).
        w, it, ok = _newton(kind, zi, w_prev, xa, ma, xb, mb, tol)
        if ok:
            if zi.imag == 0.0:
                w = _accept_real(w, kind, zi, xa, ma, xb, mb)
            _, dphi, w2, g = subordination_map(kind, zi, w, xa, ma, xb, mb)
            if _on_branch(w, w2, g, zi.imag, _WARM_MARGIN):
                return w, it, STATUS_OK
            # real x outside the support: the value is the boundary Denjoy-Wolff point, the unique
            # real fixed point with 0 <= Phi' < 1 (Julia's lemma) - off the inputs' bulks, where the
            # discrete image of the inputs is accurate
            if zi.imag == 0.0 and w.imag == 0.0 and w2.imag == 0.0 and 0.0 <= dphi.real < 1.0 \
                    and abs(dphi.imag) <= 1e-12 and _outside(w.real, bulks_a) and _outside(w2.real, bulks_b):
                return w, it, STATUS_OK
    w, it, st = _continuation(kind, zi, xa, ma, xb, mb, mean_b, eta_top, tol, maxiter, _ETA_FACTOR)
    if st != STATUS_OK:
        w2, it2, st2 = _continuation(kind, zi, xa, ma, xb, mb, mean_b, eta_top, tol, maxiter, 0.7)
        it += it2
        if st2 == STATUS_OK:
            return w2, it, st2
    return w, it, st


@njit(cache=True, parallel=True)
def solve_grid(kind, z, xa, ma, xb, mb, bulks_a, bulks_b, mean_b, eta_top, tol, maxiter, n_chunks):
    """Subordination function w1 at every z (Im z >= 0, best sorted) in parallel chunks.

    ``bulks_a``/``bulks_b`` ((n, 2) arrays) are the bulks of the inputs (where the discrete image of
    a law is not accurate on the real axis). Returns w1, w2, g (the convolution's transform implied
    by the discrete inputs), iterations and status (``STATUS_*``). Inside a chunk each point is
    warm-started from its predecessor.
    """
    n = z.size
    w1 = np.empty(n, dtype=np.complex128)
    w2 = np.empty(n, dtype=np.complex128)
    g = np.empty(n, dtype=np.complex128)
    iters = np.zeros(n, dtype=np.int64)
    status = np.zeros(n, dtype=np.int64)
    n_chunks = max(1, min(n_chunks, n))
    for c in prange(n_chunks):
        lo = (c * n) // n_chunks
        hi = ((c + 1) * n) // n_chunks
        have_prev = False
        w_prev = 0j
        for i in range(lo, hi):
            wi, it, st = _solve_one(kind, z[i], w_prev, have_prev, xa, ma, xb, mb, bulks_a, bulks_b,
                                    mean_b, eta_top, tol, maxiter)
            w1[i] = wi
            iters[i] = it
            status[i] = st
            _, _, w2[i], g[i] = subordination_map(kind, z[i], wi, xa, ma, xb, mb)
            have_prev = st == STATUS_OK and (wi.imag > 0.0 or z[i].imag == 0.0)
            w_prev = wi
    return w1, w2, g, iters, status
