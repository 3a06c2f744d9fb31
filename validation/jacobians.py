r"""Score-Jacobian spectra at sampled points, by three routes.

The score Jacobian :math:`J(x) = \nabla_x^2 \log p_t(x) = -I/\sigma^2 + (\alpha^2/\sigma^4)
\operatorname{Cov}[x_0|x_t = x]` is symmetric (conventions.md).  Its eigenvalues are what the
spectral theory predicts (Ventura et al., arXiv 2410.05898, plot those of :math:`\tau J`).

* :func:`analytic` - eigenvalues of a model's exact ``score_jacobian`` (dense, D x D per point).
* :func:`finite_difference` - what papers do for trained networks: central differences of a black-box
  score, :math:`J_{:,j} \approx (s(x + h e_j) - s(x - h e_j))/(2h)`, symmetrised
  :math:`(J + J^\top)/2` before ``eigvalsh``.  Truncation error O(h^2 s'''), rounding error
  ``O(eps |s| / h)``; the default :math:`h = \epsilon^{1/3}\sigma/\alpha` balances them on the score's
  natural length scale (the noise level of :math:`x_t`).
* :func:`lanczos_extreme` - the top or bottom ``k`` eigenvalues without ever forming a D x D matrix:
  ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``) on a ``LinearOperator`` whose
  matvec is a Jacobian-vector product - central differences of the score along the vector, or the
  exact product :func:`model_jvp` of a model.  Memory O(D k).

:func:`spectra_along` applies any route at the recorded points of a sampler :class:`~validation.samplers.Trajectory`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from spectral_theory.checks import ConvergenceError, SpectralTheoryError, array, as_generator, integer, scalar

from .samplers import Trajectory

__all__ = ["analytic", "finite_difference", "finite_difference_matrix", "lanczos_extreme",
           "model_jvp", "ExtremeEigenpairs", "spectra_along"]

_EPS = np.finfo(float).eps


def _batch(x):
    a = array(x, "x", ndim=(1, 2))
    return (a[None, :], True) if a.ndim == 1 else (a, False)


def _default_h(sigma, alpha):
    return np.cbrt(_EPS) * sigma / alpha


def analytic(model, x, sigma, alpha=1.0):
    """Eigenvalues (ascending) of ``model.score_jacobian`` at a point (D,) -> (D,) or batch (B, D) -> (B, D).

    When the Jacobian is the same at every x (``model.constant_jacobian``: the Gaussian family,
    :math:`-(\\alpha^2 C + \\sigma^2 I)^{-1}`) it is diagonalised once and broadcast.
    """
    xb, single = _batch(x)
    if model.constant_jacobian:
        lam = np.linalg.eigvalsh(model.score_jacobian(xb[0], sigma, alpha))
        lam = np.broadcast_to(lam, xb.shape).copy()
    else:
        lam = np.linalg.eigvalsh(model.score_jacobian(xb, sigma, alpha))
    return lam[0] if single else lam


def finite_difference_matrix(score, x, sigma, alpha=1.0, h=None):
    r"""Central-difference Jacobian of a black-box ``score(x, sigma, alpha)`` at a point (D,) -> (D, D)
    or batch (B, D) -> (B, D, D), *not* symmetrised (its asymmetry measures the error).

    Costs 2D score evaluations per point, batched as one call of 2D rows per point.
    """
    sigma, alpha = scalar(sigma, "sigma", positive=True), scalar(alpha, "alpha", positive=True)
    h = _default_h(sigma, alpha) if h is None else scalar(h, "h", positive=True)
    xb, single = _batch(x)
    B, D = xb.shape
    eye = np.eye(D)
    J = np.empty((B, D, D))
    for b in range(B):   # one score call of 2D points per x: BLAS-shaped, the loop is over points only
        pts = np.concatenate([xb[b] + h * eye, xb[b] - h * eye])            # (2D, D)
        s = _score_values(score(pts, sigma, alpha), (2 * D, D), h)          # (2D, D)
        J[b] = ((s[:D] - s[D:]) / (2 * h)).T                                 # column j = d s / d x_j
    return J[0] if single else J


def _score_values(values, shape, h):
    """A black-box score's (or JVP's, ``h`` = 0) output, checked: real, of the expected shape, finite
    (a trained network or a step ``h`` that pushes x out of range must not turn into NaN eigenvalues)."""
    s = np.asarray(values)
    if np.iscomplexobj(s):
        raise SpectralTheoryError("the score returned complex values")
    s = s.astype(np.float64, copy=False)
    if s.shape != shape:
        raise SpectralTheoryError(f"the score returned shape {s.shape} for {shape[0]} points; expected {shape}")
    if not np.isfinite(s).all():
        where = f" at the difference points x +- h e (h = {h:.3g}); check the score, or give a smaller `h`" if h else ""
        raise SpectralTheoryError(f"the score returned NaN or inf{where}")
    return s


def finite_difference(score, x, sigma, alpha=1.0, h=None):
    """Eigenvalues (ascending) of the symmetrised central-difference Jacobian of a black-box score.

    Returns (D,) for a point, (B, D) for a batch.  See :func:`finite_difference_matrix`.
    """
    J = finite_difference_matrix(score, x, sigma, alpha, h)
    return np.linalg.eigvalsh(0.5 * (J + np.swapaxes(J, -1, -2)))


def model_jvp(model):
    r"""Exact Jacobian-vector product ``jvp(x, v, sigma, alpha) -> J(x) v`` of a model, matrix-free:
    ``model.score_jvp`` (Gaussian family O(D r) by the low-rank form, Empirical O(N D), mixtures
    without forming J).

    ``x`` is one point (D,), ``v`` is (D,) or (D, k) (k column vectors, the Lanczos convention).
    """
    if not callable(getattr(model, "score_jvp", None)):
        raise SpectralTheoryError(f"no exact JVP for {type(model).__name__}; pass its score to "
                                  "lanczos_extreme (central-difference JVPs) instead")

    def jvp(x, v, sigma, alpha=1.0):
        v = np.asarray(v, dtype=np.float64)
        return model.score_jvp(x, v.T, sigma, alpha).T if v.ndim == 2 else model.score_jvp(x, v, sigma, alpha)
    return jvp


@dataclass(frozen=True)
class ExtremeEigenpairs:
    """Result of :func:`lanczos_extreme`: ``eigenvalues`` (k,) ascending, ``eigenvectors`` (D, k),
    ``which`` ("largest"/"smallest"), ``matvecs`` (operator applications), ``route`` ("jvp"/"score")."""

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    which: str
    matvecs: int
    route: str


def lanczos_extreme(score_or_jvp, x, sigma, alpha=1.0, k=6, which="largest", *, jvp=False, h=None,
                    tol=1e-10, maxiter=None, rng=None) -> ExtremeEigenpairs:
    r"""Top or bottom ``k`` eigenvalues of the score Jacobian at one point ``x`` (D,), matrix-free.

    Parameters
    ----------
    score_or_jvp : a score ``score(x, sigma, alpha)`` (default: matvecs are central differences
        :math:`(s(x + h v) - s(x - h v))/(2h)` for unit v, symmetric to O(h^2)) or, with ``jvp=True``,
        an exact product ``jvp(x, v, sigma, alpha)`` (e.g. :func:`model_jvp`).
    which : "largest" (algebraically; the data directions, near 0) or "smallest" (near :math:`-1/\sigma^2`).
    tol, maxiter : ARPACK's relative accuracy and restart limit; failure raises ConvergenceError.
    rng : seed of ARPACK's start vector (reproducible runs).

    Notes
    -----
    Nothing of size D x D is formed: the working set is the Lanczos basis, O(D k).
    """
    sigma, alpha = scalar(sigma, "sigma", positive=True), scalar(alpha, "alpha", positive=True)
    x0 = array(x, "x", ndim=1)
    D = x0.size
    k = integer(k, "k", minimum=1, maximum=max(D - 1, 1))
    modes = {"largest": "LA", "smallest": "SA"}
    if not isinstance(which, str) or which not in modes:
        raise SpectralTheoryError(f"`which` must be 'largest' or 'smallest'; got {which!r}")
    tol = scalar(tol, "tol", nonnegative=True)                # 0: ARPACK's machine precision
    maxiter = None if maxiter is None else integer(maxiter, "maxiter", minimum=1, maximum=2**31 - 1)  # a Fortran int
    count = [0]
    if jvp:
        def matvec(v):
            count[0] += 1
            return _score_values(score_or_jvp(x0, np.ravel(v), sigma, alpha), (D,), 0.0)
    else:
        step = _default_h(sigma, alpha) if h is None else scalar(h, "h", positive=True)

        def matvec(v):
            count[0] += 1
            v = np.ravel(v)
            nv = np.linalg.norm(v)
            if nv == 0:
                return np.zeros(D)
            u = v / nv
            s = _score_values(score_or_jvp(np.stack([x0 + step * u, x0 - step * u]), sigma, alpha), (2, D), step)
            return nv * (s[0] - s[1]) / (2 * step)
    op = LinearOperator((D, D), matvec=matvec, dtype=np.float64)
    v0 = as_generator(rng).standard_normal(D)
    try:
        vals, vecs = eigsh(op, k=k, which=modes[which], tol=tol, maxiter=maxiter, v0=v0)
    except ArpackNoConvergence as e:
        raise ConvergenceError(f"Lanczos (eigsh) found only {len(e.eigenvalues)} of k = {k} eigenvalues "
                               f"after {count[0]} matvecs; raise maxiter or tol") from e
    order = np.argsort(vals)
    return ExtremeEigenpairs(vals[order], vecs[:, order], which, count[0], "jvp" if jvp else "score")


def spectra_along(trajectory, model=None, score=None, method="analytic", **options):
    """Score-Jacobian eigenvalues at every recorded state of a sampler trajectory.

    ``method``: "analytic" (needs ``model``), "finite_difference" (``score``, or ``model.score``) ->
    array (n_rec, B, D) ascending; "lanczos" (``score``/``model``; ``options`` go to
    :func:`lanczos_extreme`, exact JVPs when a model with one is given) -> (n_rec, B, k).
    """
    if not isinstance(trajectory, Trajectory):
        raise SpectralTheoryError(f"`trajectory` must be a validation.samplers.Trajectory; got {type(trajectory).__name__}")
    if method == "analytic":
        if model is None:
            raise SpectralTheoryError("method='analytic' needs `model`")
        fn = lambda x, s, a: analytic(model, x, s, a)
    elif method == "finite_difference":
        sc = score if score is not None else getattr(model, "score", None)
        if sc is None:
            raise SpectralTheoryError("method='finite_difference' needs `score` or `model`")
        fn = lambda x, s, a: finite_difference(sc, x, s, a, options.get("h"))
    elif method == "lanczos":
        if score is None and model is None:
            raise SpectralTheoryError("method='lanczos' needs `score` or `model`")
        if score is None:
            op, exact = model_jvp(model), True
        else:
            op, exact = score, False

        def fn(x, s, a):
            return np.stack([lanczos_extreme(op, xi, s, a, jvp=exact, **options).eigenvalues for xi in x])
    else:
        raise SpectralTheoryError(f"`method` must be 'analytic', 'finite_difference' or 'lanczos'; got {method!r}")
    out = []
    for k, idx in enumerate(trajectory.record):
        s, a = trajectory.sigmas[idx], trajectory.alphas[idx]
        if not s > 0:
            raise SpectralTheoryError(f"recorded grid index {idx} has sigma = 0, where the score is undefined")
        out.append(fn(trajectory.states[k], s, a))
    return np.stack(out) if out else np.zeros((0,) + trajectory.final.shape)

# matrix-free spectra (issue 16): densities, eigenpairs and operators from batched matvecs
from validation.lanczos import Eigenpairs, SingularTriplets, lanczos_eigenpairs, lanczos_singular  # noqa: E402
from validation.operators import (Operator, SymmetryTest, finite_difference_operator,  # noqa: E402
                                  model_operator, symmetric_part, symmetry_test, torch_operator)
from validation.spectral_estimates import (Bulk, KPMEstimate, KSDistance, SLQEstimate,  # noqa: E402
                                           SpectralEstimate, kpm_density, slq_density)

__all__ += ["slq_density", "kpm_density", "SpectralEstimate", "SLQEstimate", "KPMEstimate", "KSDistance", "Bulk",
            "lanczos_eigenpairs", "Eigenpairs", "lanczos_singular", "SingularTriplets", "Operator",
            "model_operator", "finite_difference_operator", "torch_operator", "symmetry_test",
            "SymmetryTest", "symmetric_part"]
