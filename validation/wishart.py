r"""Exact-in-law samplers of sample-covariance spectra from the Dumitriu-Edelman bidiagonal model.

For X an n x N standard Gaussian matrix (beta = 1), the nonzero spectrum of X X^T has the law of that of
B B^T with B bidiagonal, diagonal :math:`\chi_{M - i}` and off-diagonal :math:`\chi_{m - 1 - i}` (i from 0,
m = min, M = max of the two sizes; Dumitriu & Edelman, "Matrix models for beta ensembles", J. Math. Phys.
43, 2002, Thm 3.4).  B B^T is tridiagonal, so extreme eigenvalues cost O(m) per bisection step and no
D x D matrix is ever formed: thousands of replicates at N ~ 10^4 are cheap.  Two samplers use it:

* :func:`largest_wishart_eigenvalues`: the largest eigenvalue of a white Wishart matrix (Tracy-Widom
  checks of ``marchenko_pastur_wishart``), bisection on the Sturm count of B B^T;
* :func:`spiked_top`: the top eigenpairs of a *spiked* sample covariance (the spiked experiments), a
  secular equation for the spike columns bordering the tridiagonal model of the isotropic rest.

Both are tested against dense ``eigvalsh`` of sampled matrices (tests/test_spiked_experiments.py,
tests/test_experiment_marchenko_pastur.py).  :func:`sd_stderr` is the standard error of a sampled
standard deviation, which the fluctuation checks of both compare.
"""
from __future__ import annotations

import numba
import numpy as np

from spectral_theory.checks import SpectralTheoryError

__all__ = ["largest_wishart_eigenvalues", "spiked_top", "sd_stderr"]

_RTOL = 1e-10                # bisection tolerance relative to the eigenvalue (the TW scale is >= 1e-3 of it)
_CHUNK = 2000                # replicates per batch of the bidiagonal sampler (memory: 2 m x chunk floats)


# ---- the top eigenpairs of a spiked sample covariance (no D x D matrix) --------------------------------
# X (N x D) with rows N(0, I + sum_i ell_i e_i e_i^T) (the spiked model in its own basis: the noise is
# isotropic, so the directions u_i can be taken as coordinate vectors), X = [Y Z] with the m spike
# columns Y and the isotropic rest Z (N x (D - m)).  Then X X^T = Y Y^T + Z Z^T, and Z Z^T is, in law,
# H (T (+) 0) H^T with H Haar and independent of T, T = B B^T the Dumitriu-Edelman (2002) tridiagonal
# model (B lower bidiagonal, diagonal chi_{max-i}, subdiagonal chi_{n-1-i}, n = min(N, D - m));
# H^T Y is again Y in law.  The nonzero spectrum of X^T X is that of T (+) 0 + W W^T (W = H^T Y,
# N x m), whose eigenvalues above mu solve the secular equation: #{eig > mu} = #{eig(T) > mu}
# + #{eig M(mu) > 1}, M(mu) = W^T (mu - T (+) 0)^(-1) W (the inertia of the bordered matrix), found by
# bisection on these counts with Newton steps on 1/theta - 1 (theta the eigenvalue of M crossing 1).
# The eigenvector's component on the spike coordinate e_i is c_i / sqrt(mu c^T Q c), M c = c,
# Q = W^T (mu - T (+) 0)^(-2) W: O(n m^2) per evaluation, tridiagonal solves only.
@numba.njit(cache=True)
def _evaluate(a, b, W, G2, mu, X):
    """The LDL^T factorisation of mu - T (T: diagonal a, off-diagonal b): the number of negative
    pivots (eigenvalues of T above mu), X = (mu - T)^(-1) W[:n] (in place) and M(mu)."""
    n, m = a.size, W.shape[1]
    piv = np.empty(n)
    lf = np.empty(n)
    neg = 0
    p = mu - a[0]
    for i in range(n):
        if i > 0:
            lf[i] = -b[i - 1] / p
            p = (mu - a[i]) + lf[i] * b[i - 1]
        if p == 0.0:
            p = 1e-300
        if p < 0:
            neg += 1
        piv[i] = p
    for i in range(n):
        piv[i] = 1.0 / piv[i]
    for j in range(m):                        # the m right-hand sides interleaved (independent chains)
        X[0, j] = W[0, j]
    for i in range(1, n):
        for j in range(m):
            X[i, j] = W[i, j] - lf[i] * X[i - 1, j]
    for j in range(m):
        X[n - 1, j] *= piv[n - 1]
    for i in range(n - 2, -1, -1):
        for j in range(m):
            X[i, j] = X[i, j] * piv[i] - lf[i + 1] * X[i + 1, j]
    M = G2 / mu
    for p_ in range(m):
        for q_ in range(p_, m):
            s1 = 0.0
            for i in range(n):
                s1 += W[i, p_] * X[i, q_]
            M[p_, q_] += s1
            if q_ != p_:
                M[q_, p_] = M[p_, q_]
    return neg, M


@numba.njit(cache=True)
def _quad(X, G2, mu, c):
    """c^T Q c, Q = W^T (mu - T (+) 0)^(-2) W = X^T X + G2/mu^2: the norm^2 of the eigenvector (mu - T)^(-1) W c."""
    s = 0.0
    for i in range(X.shape[0]):
        v = 0.0
        for p_ in range(c.size):
            v += X[i, p_] * c[p_]
        s += v * v
    for p_ in range(c.size):
        for q_ in range(c.size):
            s += c[p_] * G2[p_, q_] * c[q_] / (mu * mu)
    return s


@numba.njit(cache=True)
def _count_below(diag, off2, x):
    """Number of eigenvalues below x of the symmetric tridiagonal with diagonal ``diag`` and squared
    off-diagonal ``off2``: the negative pivots of T - x I (Sturm count; an exact zero pivot is perturbed,
    Kahan's rule)."""
    q = diag[0] - x
    neg = 1 if q < 0 else 0
    for i in range(1, diag.size):
        q = diag[i] - x - off2[i - 1] / (q if q != 0.0 else 1e-300)
        neg += q < 0
    return neg


@numba.njit(cache=True)
def _sym_eig(M):
    """Eigenvalues (ascending) and eigenvectors (columns) of a small symmetric matrix by cyclic Jacobi
    rotations (m <= ~8: several times faster than a LAPACK call from numba at these sizes)."""
    m = M.shape[0]
    A = M.copy()
    V = np.eye(m)
    for _ in range(50):
        off = 0.0
        tot = 0.0
        for p_ in range(m):
            tot += A[p_, p_] ** 2
            for q_ in range(p_ + 1, m):
                off += A[p_, q_] ** 2
        if off <= 1e-32 * (tot + off) or off == 0.0:
            break
        for p_ in range(m - 1):
            for q_ in range(p_ + 1, m):
                apq = A[p_, q_]
                if apq == 0.0:
                    continue
                theta = (A[q_, q_] - A[p_, p_]) / (2.0 * apq)
                t = (1.0 if theta >= 0 else -1.0) / (abs(theta) + np.sqrt(theta * theta + 1.0))
                c = 1.0 / np.sqrt(t * t + 1.0)
                sn = t * c
                for r_ in range(m):                      # A <- A J (columns p, q)
                    arp, arq = A[r_, p_], A[r_, q_]
                    A[r_, p_] = c * arp - sn * arq
                    A[r_, q_] = sn * arp + c * arq
                for r_ in range(m):                      # A <- J^T A (rows p, q)
                    apr, aqr = A[p_, r_], A[q_, r_]
                    A[p_, r_] = c * apr - sn * aqr
                    A[q_, r_] = sn * apr + c * aqr
                for r_ in range(m):
                    vrp, vrq = V[r_, p_], V[r_, q_]
                    V[r_, p_] = c * vrp - sn * vrq
                    V[r_, q_] = sn * vrp + c * vrq
    w = np.empty(m)
    for p_ in range(m):
        w[p_] = A[p_, p_]
    order = np.argsort(w)
    return w[order], V[:, order]


@numba.njit(cache=True)
def _secular_top(d, e, W, G2s, k_top, mus, ovs):
    """Top ``k_top`` eigenvalues ``mus`` (reps, k_top) of T (+) 0 + W W^T, T = B B^T from the bidiagonals
    ``d`` (reps, n), ``e`` (reps, n - 1), W = [W1; W2] with W1 = ``W`` (reps, n, m) and W2^T W2 = ``G2s``
    (reps, m, m), and the components ``ovs`` (reps, k_top, m) of their eigenvectors on the m spike
    coordinates (each eigenvector's sign arbitrary)."""
    reps, n = d.shape
    m = W.shape[2]
    eps = 2.220446049250313e-16
    for r in range(reps):
        a = d[r] ** 2
        b = np.empty(max(n - 1, 0))
        for i in range(n - 1):
            a[i + 1] += e[r, i] ** 2
            b[i] = d[r, i] * e[r, i]
        b2 = b * b
        Wr = W[r]
        G2 = G2s[r]
        X = np.empty((n, m))
        ub = 0.0
        for i in range(n):
            s = a[i] + (abs(b[i - 1]) if i > 0 else 0.0) + (abs(b[i]) if i < n - 1 else 0.0)
            ub = max(ub, s)
        ub_all = ub + np.sum(Wr * Wr) + np.trace(G2)
        hi_prev = ub_all * (1 + 1e-12)
        for j in range(k_top):
            # Newton from the upper bracket; a lower bracket (the (j+1)-th eigenvalue of T (+) 0, Weyl:
            # W W^T >= 0) by Sturm bisection only when a bisection step is needed (the eigenvalue near
            # or inside the bulk)
            lo, hi = 0.0, hi_prev
            have_lo = False
            mu = hi_prev * (1 - 1e-12)
            for _ in range(300):
                neg, M = _evaluate(a, b, Wr, G2, mu, X)
                th, vec = _sym_eig(M)
                cnt = neg
                for t in th:
                    if t > 1.0:
                        cnt += 1
                if cnt >= j + 1:
                    lo = mu
                    have_lo = True
                else:
                    hi = mu
                if hi - lo <= 1e-11 * hi:
                    break
                # Newton on 1/theta_r - 1 for the eigenvalue of M that crosses 1 in this pole interval
                ridx = m - (j + 1 - neg)          # eigh sorts ascending
                cand = -1.0
                if 0 <= ridx < m and th[ridx] > 0:
                    slope = _quad(X, G2, mu, vec[:, ridx]) / th[ridx] ** 2
                    if slope > 0:
                        cand = mu - (1.0 / th[ridx] - 1.0) / slope
                if lo < cand < hi:
                    if abs(cand - mu) <= 1e-12 * mu:
                        mu = cand
                        break
                    mu = cand
                    continue
                if not have_lo:
                    t_lo, t_hi = 0.0, min(ub, hi) * (1 + 1e-12)
                    for _ in range(200):
                        mid = 0.5 * (t_lo + t_hi)
                        if n - _count_below(a, b2, mid) >= j + 1:
                            t_lo = mid
                        else:
                            t_hi = mid
                        if t_hi - t_lo <= 1e-3 * t_hi:
                            break
                    lo = max(lo, t_lo)
                    have_lo = True
                mu = 0.5 * (lo + hi)
            neg, M = _evaluate(a, b, Wr, G2, mu, X)
            th, vec = _sym_eig(M)
            ridx = min(max(m - (j + 1 - neg), 0), m - 1)
            c = vec[:, ridx]
            norm = mu * _quad(X, G2, mu, c)
            mus[r, j] = mu
            for i in range(m):
                ovs[r, j, i] = c[i] / np.sqrt(norm)
            hi_prev = mu * (1 + 8 * eps)


def spiked_top(spikes, n_samples, dim, k_top, reps, rng, signed=False, chunk=256):
    r"""Top ``k_top`` eigenvalues of the sample covariance :math:`\frac1N X^\top X` of N samples of
    :math:`N(0, I_D + \sum_i \ell_i u_iu_i^\top)` (noise units) and the squared overlaps of their
    eigenvectors with each :math:`u_i`, for ``reps`` independent samples, exact in law and without a
    D x D matrix (the reduction above; Dumitriu & Edelman 2002 for the isotropic part).

    Returns (eigenvalues (reps, k_top) decreasing, overlaps (reps, k_top, m): entry [r, j, i] is
    :math:`|\langle \hat u_j, u_i\rangle|^2`, or with ``signed`` the component
    :math:`\langle \hat u_j, u_i\rangle` itself, each eigenvector's sign arbitrary).  A spike of
    strength 0 is a plain noise direction."""
    ell = np.atleast_1d(np.asarray(spikes, float))
    m, N, D = ell.size, int(n_samples), int(dim)
    rest = D - m
    if not (ell.ndim == 1 and np.all(ell >= 0) and rest >= 2 and N >= 2 and 1 <= k_top <= min(rest, N)):
        raise SpectralTheoryError(f"spiked_top: need spikes >= 0, dim > len(spikes) + 1, n_samples >= 2 and "
                                  f"1 <= k_top <= min(dim - len(spikes), n_samples); got spikes={ell}, "
                                  f"n_samples={N}, dim={D}, k_top={k_top}")
    n, big = min(N, rest), max(N, rest)
    mus, ovs = np.empty((reps, k_top)), np.empty((reps, k_top, m))
    scale = np.sqrt(1 + ell)
    for lo in range(0, reps, chunk):
        r = min(chunk, reps - lo)
        d = np.sqrt(rng.chisquare(big - np.arange(n), size=(r, n)))
        e = np.sqrt(rng.chisquare(n - 1 - np.arange(n - 1), size=(r, n - 1)))
        W = rng.standard_normal((r, n, m)) * scale
        extra = N - n                       # rows meeting the zero block enter through W2^T W2 only
        if extra >= m:                      # Bartlett: W2^T W2 = S^(1/2) L L^T S^(1/2), L lower triangular
            L = np.tril(rng.standard_normal((r, m, m)), -1)
            L[:, np.arange(m), np.arange(m)] = np.sqrt(rng.chisquare(extra - np.arange(m), size=(r, m)))
            L *= scale[:, None]
            G2 = L @ np.swapaxes(L, 1, 2)
        else:
            W2 = rng.standard_normal((r, extra, m)) * scale
            G2 = np.swapaxes(W2, 1, 2) @ W2
        _secular_top(d, e, W, np.ascontiguousarray(G2), k_top, mus[lo:lo + r], ovs[lo:lo + r])
    return mus / N, (ovs if signed else ovs**2)


# ---- the largest eigenvalue of a white Wishart matrix -------------------------------------------------
@numba.njit(cache=True)
def _largest_tridiagonal(diag, off2, rtol):
    """Largest eigenvalue of each symmetric tridiagonal column: ``diag`` (m, R) diagonals, ``off2``
    (m - 1, R) squared off-diagonals; bisection on the Sturm count, all columns in step."""
    m, R = diag.shape
    lo, hi = np.zeros(R), np.zeros(R)
    for i in range(m):                  # max diagonal <= lambda_max <= Gershgorin bound
        for r in range(R):
            rad = (np.sqrt(off2[i - 1, r]) if i > 0 else 0.0) + (np.sqrt(off2[i, r]) if i < m - 1 else 0.0)
            hi[r] = max(hi[r], diag[i, r] + rad)
            lo[r] = max(lo[r], diag[i, r])
    n_iter = int(np.ceil(np.log2(max(np.max((hi - lo) / hi), rtol) / rtol))) + 1
    # _count_below, interleaved over the columns: the pivot recurrence is a chain of dependent divisions,
    # and stepping R independent chains together hides their latency (twice as fast as a column at a time)
    x, q = np.empty(R), np.empty(R)
    neg = np.empty(R, np.int64)
    for _ in range(n_iter):
        for r in range(R):
            x[r] = 0.5 * (lo[r] + hi[r])
            q[r] = diag[0, r] - x[r]
            neg[r] = 1 if q[r] < 0 else 0
        for i in range(1, m):
            for r in range(R):
                qq = q[r] if q[r] != 0.0 else 1e-300       # an exact zero pivot: perturb (Kahan's rule)
                q[r] = diag[i, r] - x[r] - off2[i - 1, r] / qq
                neg[r] += q[r] < 0
        for r in range(R):
            if neg[r] == m:             # every eigenvalue below x
                hi[r] = x[r]
            else:
                lo[r] = x[r]
    return 0.5 * (lo + hi)


def largest_wishart_eigenvalues(p, n, reps, rng):
    r"""``reps`` independent largest eigenvalues of :math:`XX^\top/n`, X p x n standard normal, from the
    Dumitriu-Edelman bidiagonal model (exact in law; Dumitriu & Edelman 2002, Thm 3.4, beta = 1).

    With :math:`m = \min(p, n)`, :math:`M = \max(p, n)`, :math:`a_i^2 \sim \chi^2_{M - i}` and
    :math:`b_i^2 \sim \chi^2_{m - 1 - i}` (i from 0), :math:`BB^\top` is tridiagonal with diagonal
    :math:`a_i^2 + b_{i-1}^2` and squared off-diagonal :math:`a_i^2 b_i^2`; its largest eigenvalue is
    found by bisection to relative accuracy 1e-10 in O(m) per bisection step.
    """
    m, M = min(p, n), max(p, n)
    if m < 2:
        raise SpectralTheoryError(f"`p` and `n` must be >= 2; got {p}, {n}")
    out = []
    for start in range(0, reps, _CHUNK):
        r = min(_CHUNK, reps - start)
        a2 = rng.chisquare(np.arange(M, M - m, -1.0)[:, None], size=(m, r))
        b2 = rng.chisquare(np.arange(m - 1, 0, -1.0)[:, None], size=(m - 1, r))
        diag = a2.copy()
        diag[1:] += b2
        out.append(_largest_tridiagonal(diag, a2[:-1] * b2, _RTOL))
    return np.concatenate(out) / n


def sd_stderr(x):
    """Standard error of the sample standard deviation of ``x`` (n values), from the fourth moment:
    se(s^2) = sqrt((m4 - s^4)/n) by the delta method, se(s) = se(s^2)/(2 s) (no normality assumed)."""
    x = np.asarray(x, float)
    c = x - x.mean()
    var = np.mean(c**2)
    return float(np.sqrt(max(np.mean(c**4) - var**2, 0.0) / x.size) / (2 * np.sqrt(var)))
