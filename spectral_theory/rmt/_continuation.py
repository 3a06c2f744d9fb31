"""The one numba driver of the complex continuation in Im z (with one retry), shared by every solver.

A fixed-point equation in the upper (or lower) half plane - the companion equation of :mod:`._kernels`,
the subordination equations of :mod:`.free._solver` - is solved at a point z near or on the real axis
by continuation:

1. plain (damped) fixed-point iteration at ``Im z = eta_top`` (far from the spectrum, a contraction);
2. ``eta`` shrinks geometrically (factor ``shrink``) down to ``Im z``; each level is solved by Newton
   warm-started at the previous one (fallback: fixed point, then Newton); every accepted value must
   lie on the branch (``accept``). When ``Im z = 0`` the last level jumps from ``_ETA_FLOOR eta_top``
   onto the axis, and the conjugate root is taken if Newton lands in the wrong half plane (for real
   z the equations have real coefficients, so both conjugates solve; the limit from above is wanted);
3. if that fails, once more with the slower shrink 0.7.

:func:`continuation` builds the driver of one problem from its numba pieces (:func:`chunk` cuts the grid
the solvers run in parallel); ``p`` is the problem's
data (a tuple), passed through untouched. The pieces are closure constants, not arguments: a
dispatcher passed as an argument makes its callers uncachable, a closure keeps ``cache=True``
(numba keys the cache on the closure's contents).
"""
from __future__ import annotations

from numba import njit

STATUS_OK = 0
STATUS_MAXITER = 1
STATUS_BRANCH = 2

ETA_FACTOR = 0.25           # geometric shrink factor of Im z along the continuation
_RETRY_FACTOR = 0.7         # the slower shrink of the retry
_ETA_FLOOR = 1e-13          # relative Im z at which the continuation jumps onto the real axis


def continuation(start, fixed_point, newton, accept, half):
    """The continuation driver ``solve(z, p, eta_top, tol, maxiter) -> (w, iterations, status)``.

    Parameters (numba functions of the problem data ``p``)
    ----------
    start(z, p) -> w : the initial value at ``Im z = eta_top``.
    fixed_point(z, w, p, maxiter, tol) -> (w, iterations, converged)
    newton(z, w, p, tol) -> (w, iterations, converged)
    accept(z, w, p) -> bool : w is the solution on the wanted branch at z (``Im z >= 0``).
    half : +1.0 if the solution lies in the upper half plane (subordination functions), -1.0 in the
        lower one (Stieltjes transforms); on the real axis a root in the other half is conjugated.
    """

    @njit(cache=True, error_model="numpy")
    def descend(z, p, eta_top, tol, maxiter, shrink):
        x = z.real
        y = z.imag
        eta = max(y, eta_top)
        zz = complex(x, eta)
        w, it, ok = fixed_point(zz, start(zz, p), p, maxiter, tol)
        total = it
        if not ok:
            return w, total, STATUS_MAXITER
        floor = _ETA_FLOOR * eta_top
        while eta > y:
            eta_new = eta * shrink
            if eta_new <= y or (y == 0.0 and eta_new < floor):
                eta_new = y
            zz = complex(x, eta_new)
            w_try, it, ok = newton(zz, w, p, tol)
            total += it
            if eta_new == 0.0 and ok and half * w_try.imag < 0.0:
                w_try = w_try.conjugate()
            good = ok and accept(zz, w_try, p)
            if not good and eta_new > 0.0:
                w_fp, it, ok = fixed_point(zz, w, p, maxiter, tol)
                total += it
                w_try, it, ok = newton(zz, w_fp, p, tol)
                total += it
                good = ok and accept(zz, w_try, p)
            if not good:
                return w_try, total, STATUS_BRANCH
            w = w_try
            eta = eta_new
        return w, total, STATUS_OK

    @njit(cache=True, error_model="numpy")
    def solve(z, p, eta_top, tol, maxiter):
        w, it, st = descend(z, p, eta_top, tol, maxiter, ETA_FACTOR)
        if st != STATUS_OK:
            w2, it2, st2 = descend(z, p, eta_top, tol, maxiter, _RETRY_FACTOR)
            it += it2
            if st2 == STATUS_OK:
                return w2, it, st2
        return w, it, st

    return solve


@njit(cache=True, error_model="numpy")
def chunk(c, n, n_chunks):
    """Bounds [lo, hi) of the c-th of ``n_chunks`` contiguous chunks of n grid points (the solvers run
    the chunks in parallel and warm-start each point from its predecessor inside a chunk)."""
    return (c * n) // n_chunks, ((c + 1) * n) // n_chunks
