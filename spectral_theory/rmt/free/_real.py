"""Free-convolution kernels on the real axis: the input laws' transforms and their real inverses.

Used by the exact edge search (:mod:`.edges`): outside an input's support its ``X = g`` (additive)
or ``X = T = w g(w)`` (multiplicative) is real and strictly decreasing on each component of R minus
the support, so it is inverted by bisection (in the order of the doubles, ``prange`` over targets).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._laws import law_transform


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
