"""Numba kernels for the companion Stieltjes equation (module-level functions; no jitted classes).

Every law of this package with a Silverstein-type equation is reduced to one equation for the
Stieltjes transform ``g`` (sign convention ``g(z) = int dmu(l) / (z - l)``, ``g ~ 1/z`` at infinity,
``Im g < 0`` for ``Im z > 0``):

.. math::

    z = z(g) = \\frac{1}{g} + \\sum_k \\frac{a_k v_k}{1 - v_k g},  \\qquad a_k > 0,\\; v_k > 0.   (E)

It is the law of ``C = F diag(v) F^T`` with ``a_k = m_k / D`` (Silverstein & Bai 1995, in the
variable ``g = -m``); the free cumulants of that law are ``kappa_n = sum_k a_k v_k^n``.

In the variable ``s = 1/g`` (E) reads ``z(s) = s + sum_k a_k v_k s / (s - v_k)`` with
``z'(s) = 1 - H(s)``, ``H(s) = sum_k a_k v_k^2 / (s - v_k)^2``; a real ``x`` lies outside the support
iff ``x = z(s)`` with ``H(s) < 1`` (Silverstein & Choi 1995), so the edges are ``z(s*)`` at the roots of
``H(s*) = 1``. ``H`` is convex between consecutive poles, which makes the root search robust:
exactly one root left of the smallest pole, one right of the largest, and 0 or 2 in between
(found from the minimum of ``H``, so nearly touching bulks are still told apart).

Solvers (per point, ``prange`` over points):

* **damped fixed point** ``g <- (1-d) g + d / (z - R(g))``: maps the lower half plane into itself for
  ``Im z > 0`` (so it never leaves the Herglotz branch) and converges globally, but only linearly and
  slowly near the real axis;
* **Newton** on ``z(g) - z``: quadratic, but may jump to another root of the polynomial;
* hence **continuation** (the shared driver of :mod:`._continuation`): fixed point at
  ``Im z = eta_top`` (far from the spectrum, a contraction), then ``eta`` shrinks geometrically and
  each level is solved by Newton warm-started at the previous level (fallback: damped fixed point,
  then Newton again); every accepted value must satisfy the Herglotz condition. On the real axis inside the support the conjugate root is taken if Newton
  lands in the upper half plane (both are roots for real z; the limit from above has Im g <= 0).
* real ``x`` **outside** the support: bisection in ``s`` on the monotone branch bracketing ``x``
  (exact and branch-safe), then ``g = 1/s``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._continuation import STATUS_BRANCH, STATUS_MAXITER, STATUS_OK, chunk, continuation  # noqa: F401

# Every kernel uses numba's "numpy" error model: a real division by zero gives inf/nan, which the
# residual and status checks report as a failed point, instead of raising inside a prange loop.
# Complex division is not covered by it (numba raises ZeroDivisionError for a zero complex
# denominator whatever the error model), so every complex division whose denominator can vanish
# goes through ``cdiv``.

_NEWTON_MAXITER = 100
_WARM_MARGIN = 1e-8         # a warm-started root is accepted only if Im g < -margin |g| (branch-safe)


NAN = complex(np.nan, np.nan)


@njit(cache=True, error_model="numpy")
def cdiv(a, b, at_zero):
    """a / b for complex b, ``at_zero`` where b == 0 (see the note on the error model above)."""
    if b == 0:
        return at_zero
    return a / b


@njit(cache=True, error_model="numpy")
def _r_and_dr(g, a, v):
    """R(g) = sum a v / (1 - v g) and R'(g) = sum a v^2 / (1 - v g)^2."""
    r = 0j
    dr = 0j
    for k in range(a.size):
        t = cdiv(v[k], 1.0 - v[k] * g, NAN)
        r += a[k] * t
        dr += a[k] * t * t
    return r, dr


@njit(cache=True, error_model="numpy")
def _residual(z, g, a, v):
    """Dimensionless residual |g (z - R(g)) - 1| of equation (E)."""
    r, _ = _r_and_dr(g, a, v)
    return abs(g * (z - r) - 1.0)


@njit(cache=True, error_model="numpy")
def _newton(z, g, a, v, tol):
    """Newton on z(g) - z = 0; returns (g, iterations, converged).

    Stops on a relative step <= tol, on a residual at rounding level, or on stagnation (the residual
    stops decreasing while steps are already tiny: near an edge z'(g) -> 0 amplifies rounding).
    """
    prev_f = np.inf
    prev_step = np.inf
    for it in range(1, _NEWTON_MAXITER + 1):
        r, dr = _r_and_dr(g, a, v)
        ig = cdiv(1.0, g, NAN)
        f = ig + r - z
        if abs(f) <= 2e-16 * (abs(z) + abs(ig) + abs(r)):
            return g, it, True            # at roundoff level (e.g. exactly at an edge, where z'(g) = 0)
        if abs(f) >= prev_f and prev_step <= 1e-9 * abs(g):
            return g, it, True            # stagnation at rounding level
        prev_f = abs(f)
        df = dr - ig * ig
        if df == 0:                       # (NaN from a pole fails the finiteness check below)
            return g, it, False
        step = f / df
        prev_step = abs(step)
        g = g - step
        if not (np.isfinite(g.real) and np.isfinite(g.imag)):
            return g, it, False
        if abs(step) <= tol * abs(g):
            return g, it, True
    return g, _NEWTON_MAXITER, False


@njit(cache=True, error_model="numpy")
def _fixed_point(z, g, a, v, damping, maxiter, tol):
    """Damped iteration g <- (1-d) g + d / (z - R(g)); returns (g, iterations, converged)."""
    for it in range(1, maxiter + 1):
        r, _ = _r_and_dr(g, a, v)
        g_new = (1.0 - damping) * g + cdiv(damping, z - r, NAN)
        if abs(g_new - g) <= tol * abs(g_new):
            return g_new, it, True
        g = g_new
    return g, maxiter, False


@njit(cache=True, error_model="numpy")
def _z_of_s(s, a, v):
    """z(s) = s + sum a v s / (s - v) (real)."""
    out = s
    for k in range(a.size):
        out += a[k] * v[k] * s / (s - v[k])
    return out


@njit(cache=True, error_model="numpy")
def _h_of_s(s, a, v):
    """H(s) = sum a v^2 / (s - v)^2 and H'(s)."""
    h = 0.0
    dh = 0.0
    for k in range(a.size):
        t = v[k] / (s - v[k])
        h += a[k] * t * t
        dh += -2.0 * a[k] * t * t / (s - v[k])
    return h, dh


@njit(cache=True, error_model="numpy")
def _bisect_increasing(fun_id, target, lo, hi, a, v):
    """Bisection to machine precision for an increasing function on (lo, hi).

    fun_id 0: z(s) - target; 1: H(s) - target; 2: -(H(s)) + target (H decreasing); 3: H'(s).
    """
    for _ in range(2000):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if fun_id == 0:
            val = _z_of_s(mid, a, v) - target
        elif fun_id == 1:
            val = _h_of_s(mid, a, v)[0] - target
        elif fun_id == 2:
            val = target - _h_of_s(mid, a, v)[0]
        else:
            val = _h_of_s(mid, a, v)[1]
        if val > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


@njit(cache=True, error_model="numpy")
def critical_points(a, v):
    """All real roots s* of H(s) = 1, sorted (``v`` sorted, distinct, positive).

    Returns (roots, minima): ``minima[j]`` is min H on the j-th inner pole interval (diagnostic of
    how close two bulks are to merging).
    """
    kk = v.size
    out = np.empty(2 * kk, dtype=np.float64)
    minima = np.empty(max(kk - 1, 0), dtype=np.float64)
    n = 0
    # left of the smallest pole: H increases from 0 to +inf
    step = max(v[0], 1.0)
    lo = v[0] - step
    while _h_of_s(lo, a, v)[0] >= 1.0:
        step *= 2.0
        lo = v[0] - step
    out[n] = _bisect_increasing(1, 1.0, lo, v[0], a, v)
    n += 1
    # inner intervals: H convex, -> +inf at both poles
    for j in range(kk - 1):
        s_min = _bisect_increasing(3, 0.0, v[j], v[j + 1], a, v)
        h_min = _h_of_s(s_min, a, v)[0]
        minima[j] = h_min
        if h_min < 1.0:
            out[n] = _bisect_increasing(2, 1.0, v[j], s_min, a, v)
            out[n + 1] = _bisect_increasing(1, 1.0, s_min, v[j + 1], a, v)
            n += 2
    # right of the largest pole: H decreases from +inf to 0
    step = max(v[kk - 1], 1.0)
    hi = v[kk - 1] + step
    while _h_of_s(hi, a, v)[0] >= 1.0:
        step *= 2.0
        hi = v[kk - 1] + step
    out[n] = _bisect_increasing(2, 1.0, v[kk - 1], hi, a, v)
    n += 1
    return out[:n], minima


@njit(cache=True, error_model="numpy")
def edges_from_critical_points(s, a, v):
    out = np.empty(s.size, dtype=np.float64)
    for i in range(s.size):
        out[i] = _z_of_s(s[i], a, v)
    return out


@njit(cache=True, error_model="numpy")
def _solve_outside(x, s_lo, s_hi, a, v):
    """Real x in a gap of the support whose monotone s-branch is (s_lo, s_hi) (+-inf allowed)."""
    if not np.isfinite(s_lo):
        # z(s) - s lies in (0, sum a v) for s < 0, so z(s) < x for s <= min(x, 0) - sum a v
        p1 = 0.0
        for k in range(a.size):
            p1 += a[k] * v[k]
        step = p1 + abs(x) + 1.0
        s_lo = min(x, 0.0) - step
        while _z_of_s(s_lo, a, v) > x:
            step *= 2.0
            s_lo = min(x, 0.0) - step
    if not np.isfinite(s_hi):
        # z(s) > s for s > max(v), so z(s) >= x at s = x (x lies right of the top edge)
        s_hi = max(x, s_lo)
        step = abs(x) + 1.0
        while _z_of_s(s_hi, a, v) < x:
            s_hi = s_hi + step
            step *= 2.0
    s = _bisect_increasing(0, x, s_lo, s_hi, a, v)
    return s


@njit(cache=True, error_model="numpy")
def _start(z, p):
    return 1.0 / z


@njit(cache=True, error_model="numpy")
def _fixed_point_p(z, g, p, maxiter, tol):
    a, v = p
    return _fixed_point(z, g, a, v, 0.5, maxiter, tol)


@njit(cache=True, error_model="numpy")
def _newton_p(z, g, p, tol):
    a, v = p
    return _newton(z, g, a, v, tol)


@njit(cache=True, error_model="numpy")
def _herglotz(z, g, p):
    # inside the support (Im z = 0) too the solution is never real: Im g < 0 strictly
    return g.imag < 0.0


#: continuation in Im z from eta_top down to Im z, with one retry (see the module docstring)
_solve_continuation = continuation(_start, _fixed_point_p, _newton_p, _herglotz, -1.0)


@njit(cache=True, error_model="numpy")
def _solve_one(zi, g_prev, have_prev, a, v, gap_x_lo, gap_x_hi, gap_s_lo, gap_s_hi, eta_top, tol, maxiter):
    """One point: gap bisection (real, outside), else warm-started Newton, else continuation."""
    if zi.imag == 0.0:
        for j in range(gap_x_lo.size):
            if gap_x_lo[j] < zi.real < gap_x_hi[j]:
                s = _solve_outside(zi.real, gap_s_lo[j], gap_s_hi[j], a, v)
                return complex(1.0 / s, 0.0), 1, STATUS_OK
    if have_prev:
        # Any root with Im g clearly < 0 is *the* Stieltjes value: for Im z > 0 the solution in the
        # lower half plane is unique, and on the real axis inside the support roots are simple and
        # come in conjugate pairs, so at most one lies in the open lower half plane.
        g_new, it, ok = _newton(zi, g_prev, a, v, tol)
        if ok and zi.imag == 0.0 and g_new.imag > 0.0:
            g_new = g_new.conjugate()
        if ok and g_new.imag < -_WARM_MARGIN * abs(g_new):
            return g_new, it, STATUS_OK
    return _solve_continuation(zi, (a, v), eta_top, tol, maxiter)


@njit(cache=True, parallel=True, error_model="numpy")
def solve_grid(z, a, v, gap_x_lo, gap_x_hi, gap_s_lo, gap_s_hi, eta_top, tol, maxiter, n_chunks):
    """Solve (E) at every z (complex128 array, Im z >= 0; best sorted along the grid) in parallel.

    The grid is cut into ``n_chunks`` contiguous chunks (``prange``); inside a chunk each point is
    warm-started from its predecessor. Real points in the open gap (gap_x_lo[j], gap_x_hi[j]) are
    solved on the monotone branch s in (gap_s_lo[j], gap_s_hi[j]); points where the warm start is
    not accepted by the Herglotz test fall back to the continuation in Im z.
    Returns g, iterations, residual, status.
    """
    n = z.size
    g = np.empty(n, dtype=np.complex128)
    iters = np.zeros(n, dtype=np.int64)
    resid = np.empty(n, dtype=np.float64)
    status = np.zeros(n, dtype=np.int64)
    n_chunks = max(1, min(n_chunks, n))
    for c in prange(n_chunks):
        lo, hi = chunk(c, n, n_chunks)
        have_prev = False
        g_prev = 0j
        for i in range(lo, hi):
            gi, it, st = _solve_one(z[i], g_prev, have_prev, a, v, gap_x_lo, gap_x_hi,
                                    gap_s_lo, gap_s_hi, eta_top, tol, maxiter)
            g[i] = gi
            iters[i] = it
            status[i] = st
            have_prev = st == STATUS_OK and gi.imag < 0.0
            g_prev = gi
            if np.isfinite(gi.real) and np.isfinite(gi.imag) and gi != 0:
                resid[i] = _residual(z[i], gi, a, v)
            else:
                resid[i] = np.inf
    return g, iters, resid, status


@njit(cache=True, error_model="numpy")
def free_cumulant_moments(kappa, kmax):
    """Moments m_0..m_kmax from free cumulants kappa_1..kappa_kmax (kappa[0] unused).

    Uses the generating-function identity G(w) = 1 + sum_n kappa_n (w G(w))^n on truncated series.
    """
    m = np.zeros(kmax + 1)
    m[0] = 1.0
    for _ in range(kmax + 1):
        wg = np.zeros(kmax + 1)            # series of w G(w)
        wg[1:] = m[:kmax]
        power = np.zeros(kmax + 1)
        power[0] = 1.0
        new = np.zeros(kmax + 1)
        new[0] = 1.0
        for nn in range(1, kmax + 1):
            nxt = np.zeros(kmax + 1)      # power <- power * wg (truncated)
            for p in range(kmax + 1):
                if power[p] != 0.0:
                    for q in range(1, kmax + 1 - p):
                        nxt[p + q] += power[p] * wg[q]
            power = nxt
            for p in range(kmax + 1):
                new[p] += kappa[nn] * power[p]
        m = new
    return m
