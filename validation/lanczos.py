r"""Lanczos on matrix-free symmetric operators: many probes at once, and block Lanczos eigenpairs.

An operator is a batched ``matvec``: a block ``V`` of shape (k, D) (k vectors as rows) maps to
``A V`` of shape (k, D), one GEMM-shaped call (never a Python loop over vectors).

* :func:`lanczos_tridiagonal` - k *independent* Lanczos recurrences (one per probe row), advanced
  together: one matvec of the whole block per step.  Full reorthogonalisation: after the three-term
  step, one classical Gram-Schmidt pass against the whole basis (a second one only when the first
  removed much), batched over probes as stacked GEMVs (``numpy.matmul`` on (k, j, D) x (k, D, 1)).
  Its coefficients are the Arnoldi entries the three-term recurrence leaves out, so symmetry is
  checked for free: for symmetric A, :math:`q_i^\top A q_j = 0` for :math:`i < j - 1` and
  :math:`q_{j-1}^\top A q_j = \beta_{j-1}`.  The tridiagonal
  eigenproblems (Gauss quadrature) are solved stacked by ``numpy.linalg.eigh`` on (k, m, m).
* :func:`lanczos_eigenpairs` - extreme eigenpairs by block Lanczos (one Krylov space grown from a
  block of b vectors, full reorthogonalisation, Rayleigh-Ritz on the whole basis; no restarts: the
  basis grows until the residuals reach ``tol`` or ``max_steps``), with true residual norms.
* :func:`lanczos_singular` - top singular triplets of a non-symmetric operator from the eigenpairs of
  :math:`A^\top A` (``rmatvec(matvec(V))``).

Memory: the basis, O(D x steps x block).  References: Golub & Van Loan, *Matrix Computations*,
4th ed., sections 10.1-10.3 (Lanczos, block Lanczos, reorthogonalisation); Saad, *Numerical Methods for
Large Eigenvalue Problems*, 2nd ed., ch. 6.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectral_theory.checks import (ConvergenceError, SpectralTheoryError, array, as_generator, integer,
                                     scalar)

__all__ = ["Tridiagonals", "lanczos_tridiagonal", "Eigenpairs", "lanczos_eigenpairs", "SingularTriplets",
           "lanczos_singular"]

#: Relative size |h_ij - h_ji| / |A q_j| of the Arnoldi coefficients above which an operator is not
#: symmetric.  Exact products give ~1e-15; central differences of a smooth score ~1e-9.
SYMMETRY_TOL = 1e-6
#: A Lanczos vector shorter than this (relative to |A q|) means an invariant subspace was found.
_BREAKDOWN = 1e-10
#: Ritz residual |beta_m y_m| below this (relative to the spectral scale) counts as converged.
CONVERGED = 1e-8


def apply(matvec, V, name="matvec"):
    """``matvec(V)`` checked: float64, the shape of ``V``, finite; errors name ``name``."""
    try:
        out = np.asarray(matvec(V), dtype=np.float64)
    except (TypeError, ValueError) as e:
        if isinstance(e, SpectralTheoryError):
            raise
        raise SpectralTheoryError(f"`{name}` must map a real block of shape {V.shape} to the same "
                                  f"shape: {e}") from e
    if out.shape != V.shape:
        raise SpectralTheoryError(f"`{name}` must map a block of shape (k, D) = {V.shape} to the same shape; "
                                  f"got {out.shape}")
    if not np.all(np.isfinite(out)):
        raise SpectralTheoryError(f"`{name}` returned NaN or inf")
    return out


def _asymmetry_error(name, rel, step):
    return SpectralTheoryError(
        f"`{name}` is not symmetric: the Arnoldi coefficients differ from the Lanczos ones by {rel:.2e} "
        f"(relative; tolerance {SYMMETRY_TOL:g}) at step {step}; pass an explicit choice: "
        "operators.symmetric_part(op) for (A + A^T)/2, or lanczos_singular for singular values")


@dataclass(frozen=True)
class Tridiagonals:
    r"""k independent Lanczos tridiagonalisations :math:`T_p = Q_p^\top A Q_p`, :math:`Q_p e_1 = v_p/|v_p|`.

    ``alpha`` (k, m) diagonals; ``beta`` (k, m) off-diagonals, ``beta[:, i]`` coupling steps i and i+1
    (``beta[:, -1]``: the norm of the next Lanczos vector, the Ritz residual scale; 0 after an
    invariant subspace); ``steps`` (k,) steps taken per probe (fewer than m when the Krylov space of
    the probe is exhausted, e.g. an operator with few distinct eigenvalues); ``asymmetry`` the largest
    relative Arnoldi-vs-Lanczos discrepancy seen; ``matvecs`` operator applications (vectors).
    """
    alpha: np.ndarray
    beta: np.ndarray
    steps: np.ndarray
    asymmetry: float
    matvecs: int

    def ritz(self):
        r"""Gauss quadrature of every probe, from one stacked ``eigh`` of the (k, m, m) tridiagonals.

        Returns ``nodes`` (k, m) Ritz values :math:`\theta_i` ascending, ``weights`` (k, m)
        :math:`(e_1^\top y_i)^2` (summing to 1 per probe), ``residuals`` (k, m) the Ritz residual norms
        :math:`|A Q y_i - \theta_i Q y_i| = \beta_m |e_m^\top y_i|`.  Rows of probes that stopped early
        are padded with decoupled entries above the spectrum (their weights are exactly 0); the
        padded nodes are replaced by the probe's largest node, weight 0, residual 0.
        """
        k, m = self.alpha.shape
        i = np.arange(m)
        live = i[None, :] < self.steps[:, None]                                  # (k, m)
        bound = np.abs(self.alpha).max() + 2 * np.abs(self.beta).max() + 1.0
        diag = np.where(live, self.alpha, 2 * bound + i[None, :] * bound)         # distinct pads
        off = np.where(live[:, 1:], self.beta[:, :-1], 0.0)
        T = np.zeros((k, m, m))
        T[:, i, i] = diag
        T[:, i[:-1], i[1:]] = off
        T[:, i[1:], i[:-1]] = off
        theta, Y = np.linalg.eigh(T)                                               # ascending; pads on top
        weights = np.where(live, Y[:, 0, :] ** 2, 0.0)
        last = Y[np.arange(k), self.steps - 1, :]                                  # (k, m)
        beta_m = self.beta[np.arange(k), self.steps - 1]
        residuals = np.where(live, np.abs(beta_m[:, None] * last), 0.0)
        top = theta[np.arange(k), self.steps - 1]
        nodes = np.where(live, theta, top[:, None])
        return nodes, weights / weights.sum(axis=1, keepdims=True), residuals


def lanczos_tridiagonal(matvec, probes, n_steps, *, name="matvec", stop=None) -> Tridiagonals:
    r"""Run one Lanczos recurrence per row of ``probes`` (k, D), all advanced together.

    Step j for every live probe p (rows of the block, one ``matvec`` call per step):

    .. math::  w = A q_j - \beta_{j-1} q_{j-1} - \alpha_j q_j,\quad c = Q_{\le j}^\top w,\quad
               w \leftarrow w - Q_{\le j} c,\quad \beta_j = |w|,\quad q_{j+1} = w/\beta_j

    (the full pass repeated when it shrank w by more than half: "twice is enough", Parlett, *The
    Symmetric Eigenvalue Problem*, sec. 6.9).

    A probe stops when :math:`\beta_j \le 10^{-10}|Aq_j|` (its Krylov space is invariant; the rest of
    its tridiagonal is unused).  A matvec whose Arnoldi coefficients break the symmetric pattern by
    more than ``SYMMETRY_TOL`` raises ``SpectralTheoryError`` naming ``name``.

    ``stop``: None, or a callable given the tridiagonals of the first s steps (a ``Tridiagonals``)
    after every step s < ``n_steps``; when it returns True these are returned (e.g. an error-bar rule,
    ``spectral_estimates.slq_density(tol=)``).
    """
    V = array(probes, "probes", ndim=2)
    k, D = V.shape
    m = integer(n_steps, "n_steps", minimum=1, maximum=D)
    norms = np.linalg.norm(V, axis=1)
    if np.any(norms == 0):
        raise SpectralTheoryError("`probes` must be nonzero rows")
    alpha, beta = np.zeros((k, m)), np.zeros((k, m))
    steps = np.full(k, m)
    Q = np.empty((k, m + 1, D))                                    # working basis of the live probes
    Q[:, 0] = V / norms[:, None]
    live = np.arange(k)                                            # original index of each working row
    asym, count = 0.0, 0
    for j in range(m):
        Qj = Q[:, :j + 1]                                          # (k', j+1, D) view
        W = apply(matvec, Q[:, j], name)                           # (k', D)
        count += W.shape[0]
        scale = np.linalg.norm(W, axis=1)                          # |A q_j|
        if j >= 1:                                                 # three-term recurrence first
            W -= beta[live, j - 1][:, None] * Q[:, j - 1]
        a = np.einsum("kd,kd->k", Q[:, j], W)
        W -= a[:, None] * Q[:, j]
        # one full Gram-Schmidt pass against the whole basis: for symmetric A its coefficients are the
        # rounding drift only; for non-symmetric A they are the Arnoldi entries h_ij (i < j - 1) and
        # h_{j-1,j} - beta_{j-1}, so they measure the asymmetry
        before = np.linalg.norm(W, axis=1)
        c = np.matmul(Qj, W[:, :, None])[:, :, 0]                  # (k', j+1)
        W -= np.matmul(c[:, None, :], Qj)[:, 0]
        if j >= 1:
            rel = float(np.max(np.abs(c[:, :j]).max(axis=1) / np.maximum(scale, np.finfo(float).tiny)))
            asym = max(asym, rel)
            if rel > SYMMETRY_TOL:
                raise _asymmetry_error(name, rel, j)
        if np.any(np.linalg.norm(W, axis=1) < 0.5 * before):       # "twice is enough" (Parlett)
            c2 = np.matmul(Qj, W[:, :, None])[:, :, 0]
            W -= np.matmul(c2[:, None, :], Qj)[:, 0]
            c += c2
        alpha[live, j] = a + c[:, j]
        b = np.linalg.norm(W, axis=1)
        done = b <= _BREAKDOWN * np.maximum(scale, np.abs(alpha[live, j]))
        beta[live, j] = np.where(done, 0.0, b)
        steps[live[done]] = j + 1
        if stop is not None and j < m - 1:
            prefix = Tridiagonals(alpha[:, :j + 1].copy(), beta[:, :j + 1].copy(), np.minimum(steps, j + 1), asym,
                                  count)
            if stop(prefix):
                return prefix
        if j == m - 1:
            break
        if np.any(done):                                           # drop exhausted probes from the block
            keep = ~done
            live, Q, W, b = live[keep], Q[keep], W[keep], b[keep]
            if live.size == 0:
                break
        Q[:, j + 1] = W / b[:, None]
    return Tridiagonals(alpha, beta, steps, asym, count)


# ---- block Lanczos eigenpairs ---------------------------------------------------------------------
@dataclass(frozen=True)
class Eigenpairs:
    r"""Extreme eigenpairs from :func:`lanczos_eigenpairs`.

    ``eigenvalues`` (k,) ascending; ``eigenvectors`` (D, k) orthonormal columns; ``residuals`` (k,) true
    residual norms :math:`|A v_i - \lambda_i v_i|` (one extra matvec); ``scale`` the spectral scale the
    tolerance is relative to (largest ``|Ritz value|``); ``which``; ``steps`` block steps; ``matvecs``
    operator applications (vectors).
    """
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residuals: np.ndarray
    scale: float
    which: str
    steps: int
    matvecs: int


def lanczos_eigenpairs(matvec, dim, k, which="largest", *, tol=1e-8, block_size=None, max_steps=None,
                       rng=None, name="matvec") -> Eigenpairs:
    r"""The k algebraically largest (or smallest) eigenpairs of a symmetric operator by block Lanczos.

    A block of b random vectors (default b = k) spans :math:`\mathcal K_s = \operatorname{span}\{V, AV,
    \dots, A^{s-1}V\}`; each step is one ``matvec`` of a (b, D) block, fully reorthogonalised (CGS2
    against the whole basis, as GEMMs), and the Ritz values of the projected matrix :math:`H = Q^\top A
    Q` are checked after every step: the residual of a Ritz pair is
    :math:`|B_s Y_{\rm last}|` (B_s the last block of the QR of the new block).  Block Lanczos finds
    multiple eigenvalues (up to b copies) that single-vector Lanczos cannot.  No restarts: the basis
    grows to at most ``max_steps`` blocks (default: enough for ``min(dim, max(30 k, 300))``
    vectors); memory O(D x steps x b).  The Ritz check runs after step s when s is a multiple of
    max(1, s // 10) (about 10% overshoot at most, few dense eigenproblems).

    Parameters
    ----------
    matvec : (b, D) -> (b, D), symmetric (checked on the Arnoldi coefficients).
    dim, k : D and the number of pairs (k <= D).
    which : "largest" or "smallest" (algebraically).
    tol : required accuracy :math:`|Av - \lambda v| \le \mathrm{tol} \cdot s`,
        s the largest ``|Ritz value|`` (an estimate of :math:`|A|_2` from below); checked on the true residuals.
    rng : seed of the start block.

    Raises
    ------
    ConvergenceError
        Naming the worst residual, when ``tol`` is not reached within ``max_steps``.
    """
    D = integer(dim, "dim", minimum=1)
    k = integer(k, "k", minimum=1, maximum=D)
    if which not in ("largest", "smallest"):
        raise SpectralTheoryError(f"`which` must be 'largest' or 'smallest'; got {which!r}")
    tol = scalar(tol, "tol", positive=True)
    b = k if block_size is None else integer(block_size, "block_size", minimum=1, maximum=D)
    cap = -(-min(D, max(30 * k, 300)) // b)
    s_max = cap if max_steps is None else integer(max_steps, "max_steps", minimum=1)
    s_max = min(s_max, -(-D // b))
    gen = as_generator(rng)
    n_max = s_max * b + b
    Q = np.zeros((n_max, D))                                       # basis rows
    H = np.zeros((n_max, n_max))
    Q[:b] = np.linalg.qr(gen.standard_normal((D, b)))[0].T
    count, n, asym = 0, 0, 0.0
    sign = 1.0 if which == "largest" else -1.0
    for s in range(s_max):
        blk = slice(n, n + b)
        W = apply(matvec, Q[blk], name)                            # (b, D)
        count += b
        scale = np.linalg.norm(W, axis=1).max()
        basis = Q[:n + b]
        C = basis @ W.T                                            # (n+b, b)
        W -= C.T @ basis
        C2 = basis @ W.T
        W -= C2.T @ basis
        C += C2
        if n >= b:                                                 # symmetric: the block above is B^T
            dev = np.abs(C[:n] - H[blk, :n].T).max()
            asym = max(asym, dev / max(scale, np.finfo(float).tiny))
            if asym > SYMMETRY_TOL:
                raise _asymmetry_error(name, asym, s)
        H[:n + b, blk] = C
        H[blk, :n + b] = C.T
        n += b
        # next block: QR of the remainder; a (numerically) rank-deficient block is completed by random
        # vectors orthogonal to the basis (deflation), with zero coupling
        Qn, R = np.linalg.qr(W.T)                                  # (D, b), (b, b)
        small = np.abs(np.diag(R)) <= _BREAKDOWN * max(scale, 1e-300)
        if np.any(small) and n + b <= D:
            Z = gen.standard_normal((D, int(small.sum())))
            for _ in range(2):
                Z -= Q[:n].T @ (Q[:n] @ Z)
                Z -= Qn[:, ~small] @ (Qn[:, ~small].T @ Z)
            Qn[:, small] = np.linalg.qr(Z)[0]
            R[small, :] = 0.0
        last_step = n + b > D or s == s_max - 1
        if n + b <= D:
            Q[n:n + b], H[n:n + b, n - b:n] = Qn.T, R
            H[n - b:n, n:n + b] = R.T
        if n < k or not (last_step or s % max(1, s // 10) == 0):
            continue
        theta, Y = np.linalg.eigh(H[:n, :n])
        order = np.argsort(-sign * theta)[:k]
        theta_k, Y_k = theta[order], Y[:, order]
        est = np.linalg.norm(R @ Y_k[n - b:n], axis=0)             # Ritz residuals
        spectral = max(np.abs(theta).max(), np.finfo(float).tiny)
        if last_step or np.all(est <= 0.5 * tol * spectral):
            vecs = (Y_k.T @ Q[:n]).T                               # (D, k)
            AV = apply(matvec, vecs.T.copy(), name)
            count += k
            res = np.linalg.norm(AV - theta_k[:, None] * vecs.T, axis=1)
            if np.all(res <= tol * spectral):
                order = np.argsort(theta_k)
                return Eigenpairs(theta_k[order], vecs[:, order], res[order], float(spectral), which,
                                  s + 1, count)
            if last_step:
                worst = int(np.argmax(res))
                raise ConvergenceError(
                    f"block Lanczos ({which}, k = {k}, block {b}) did not reach tol = {tol:g}: worst "
                    f"residual |A v - lambda v| = {res[worst]:.3e} = {res[worst] / spectral:.2e} x scale "
                    f"{spectral:.3e} at lambda = {theta_k[worst]:.6g} after {s + 1} steps ({count} "
                    "matvecs); raise max_steps or block_size, or loosen tol")
    raise ConvergenceError(f"block Lanczos built fewer than k = {k} Ritz pairs; raise max_steps")


# ---- singular triplets --------------------------------------------------------------------------
@dataclass(frozen=True)
class SingularTriplets:
    r"""Top singular triplets :math:`A v_i = s_i u_i` from :func:`lanczos_singular`.

    ``values`` (k,) descending; ``left`` (D, k) :math:`u_i = A v_i / s_i`; ``right`` (D, k);
    ``residuals`` (k,) :math:`|A^\top u_i - s_i v_i|` (with :math:`A v_i = s_i u_i` exact by
    construction); ``matvecs`` products with A and with :math:`A^\top` together.
    """
    values: np.ndarray
    left: np.ndarray
    right: np.ndarray
    residuals: np.ndarray
    matvecs: int


def lanczos_singular(matvec, rmatvec, dim, k, *, tol=1e-8, block_size=None, max_steps=None,
                     rng=None) -> SingularTriplets:
    r"""Top k singular triplets of a square operator from its products with A and :math:`A^\top`.

    Decision: block Lanczos on :math:`A^\top A` (``rmatvec(matvec(V))``, symmetric by construction)
    rather than Golub-Kahan bidiagonalisation.  For the *top* singular values this costs the same
    number of products and reuses :func:`lanczos_eigenpairs`; squaring costs accuracy only for small
    singular values (absolute error :math:`\sim \mathrm{tol}\, s_1^2 / s_i`), which the alignment
    experiments do not use.  ``tol`` applies to the :math:`A^\top A` residuals relative to
    :math:`s_1^2`.  ``rmatvec`` of a torch network: ``operators.torch_operator(...).rmatvec`` (a VJP).
    """
    pairs = lanczos_eigenpairs(lambda V: apply(rmatvec, apply(matvec, V), "rmatvec"), dim, k, "largest",
                               tol=tol, block_size=block_size, max_steps=max_steps, rng=rng,
                               name="rmatvec(matvec)")
    lam, right = pairs.eigenvalues[::-1], pairs.eigenvectors[:, ::-1]
    s = np.sqrt(np.maximum(lam, 0.0))
    AV = apply(matvec, right.T.copy())                              # (k, D)
    left = (AV / np.where(s > 0, s, 1.0)[:, None]).T
    ATU = apply(rmatvec, left.T.copy(), "rmatvec")
    res = np.linalg.norm(ATU - s[:, None] * right.T, axis=1)
    return SingularTriplets(s, left, right, res, 2 * pairs.matvecs + 2 * k)
