r"""Matrix-free score-Jacobian operators: batched products J V of a block V (k, D) -> (k, D).

* :func:`model_operator` - a data model's exact ``score_jvp`` (O(D m) per vector for Gaussian
  models, O(N D) for Empirical, per the model).
* :func:`finite_difference_operator` - central differences of a black-box score,
  :math:`Jv \approx |v|\,(s(x + h\hat v) - s(x - h\hat v))/(2h)`, one score call on the (2k, D) stack;
  symmetric only to O(h^2) plus rounding ``O(eps |s|/h)``, with the step :func:`default_step`.
* :func:`torch_operator` - forward-mode autodiff (``torch.func.jvp``, vmapped over the block) of a
  torch score; its transpose by ``torch.func.vjp`` (a network's Jacobian need not be symmetric).
* :func:`symmetry_test` - a probe test of :math:`u^\top A v = v^\top A u`; :func:`symmetric_part` -
  :math:`(A + A^\top)/2` as the explicit choice for a non-symmetric operator (or singular values by
  ``lanczos.lanczos_singular``).

Every constructor returns an :class:`Operator`, callable as its matvec, so it can be passed directly
to ``slq_density``, ``kpm_density`` and ``lanczos_eigenpairs``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from spectral_theory.checks import SpectralTheoryError, array, as_generator, integer, scalar

from .lanczos import SYMMETRY_TOL, apply

__all__ = ["Operator", "model_operator", "finite_difference_operator", "torch_operator", "SymmetryTest",
           "symmetry_test", "symmetric_part"]


@dataclass(frozen=True)
class Operator:
    """A D x D operator by its batched products: ``op(V)`` = ``matvec(V)``, V (k, D) -> (k, D).

    ``rmatvec`` the transpose's product (None if unavailable, e.g. a black-box score), ``symmetric``
    whether A = A^T by construction, ``name`` for messages.
    """
    matvec: Callable
    dim: int
    rmatvec: Callable | None = None
    symmetric: bool = False
    name: str = "operator"

    def __call__(self, V):
        return self.matvec(V)

    def __mul__(self, c) -> "Operator":
        """``c * op``: the operator scaled by a real number (e.g. ``sigma**2 * op`` for sigma^2 J)."""
        c = scalar(c, "c")
        r = None if self.rmatvec is None else (lambda V: c * self.rmatvec(V))
        return Operator(lambda V: c * self.matvec(V), self.dim, r, self.symmetric, f"{c:g} {self.name}")

    __rmul__ = __mul__

    @property
    def T(self) -> "Operator":
        """The transpose (needs ``rmatvec``)."""
        if self.symmetric:
            return self
        if self.rmatvec is None:
            raise SpectralTheoryError(f"`{self.name}` has no transpose product (rmatvec)")
        return Operator(self.rmatvec, self.dim, self.matvec, False, f"{self.name}^T")


def default_step(sigma, alpha=1.0) -> float:
    r"""Central-difference step :math:`h = \epsilon^{1/3}\sigma/\alpha`: balances the truncation error
    O(h^2) against rounding O(eps/h) on the score's natural length scale (the noise level of x_t)."""
    return float(np.cbrt(np.finfo(float).eps) * sigma / alpha)


def _point(x):
    return array(x, "x", ndim=1)


def model_operator(model, x, sigma, alpha=1.0) -> Operator:
    r"""The exact score Jacobian :math:`J(x)` of a data model at one point, :math:`V \mapsto
    J V` through ``model.score_jvp(x, V, sigma, alpha)`` (symmetric: J is a Hessian)."""
    x0 = _point(x)
    sigma, alpha = scalar(sigma, "sigma", positive=True), scalar(alpha, "alpha", positive=True)
    jvp = getattr(model, "score_jvp", None)
    if jvp is None:
        raise SpectralTheoryError(f"`model` ({type(model).__name__}) has no score_jvp; use "
                                  "finite_difference_operator(model.score, ...) instead")

    def matvec(V):
        return jvp(x0, V, sigma, alpha)
    return Operator(matvec, x0.size, matvec, True, f"{type(model).__name__}.score_jvp")


def finite_difference_operator(score, x, sigma, alpha=1.0, h=None) -> Operator:
    r"""Central-difference products of a black-box ``score(x, sigma, alpha)`` ((n, D) -> (n, D)).

    Row v of V: :math:`|v|\,(s(x + h u) - s(x - h u))/(2h)`, :math:`u = v/|v|` (one score call on the
    (2k, D) stack); zero rows give 0.  Error ``O(h^2 |s'''|) + O(eps |s|/h)``; not exactly symmetric
    (no ``rmatvec``: the Jacobian of a score is symmetric only if the score is a gradient).
    """
    x0 = _point(x)
    sigma, alpha = scalar(sigma, "sigma", positive=True), scalar(alpha, "alpha", positive=True)
    step = default_step(sigma, alpha) if h is None else scalar(h, "h", positive=True)
    D = x0.size

    def matvec(V):
        V = np.asarray(V, dtype=np.float64)
        norms = np.linalg.norm(V, axis=1)                                    # (k,)
        U = V / np.where(norms > 0, norms, 1.0)[:, None]
        pts = np.concatenate([x0 + step * U, x0 - step * U])                 # (2k, D)
        s = apply(lambda P: score(P, sigma, alpha), pts, "score")            # (2k, D)
        k = V.shape[0]
        return norms[:, None] * (s[:k] - s[k:]) / (2 * step)
    return Operator(matvec, D, None, False, "finite-difference score")


def torch_operator(score, x, sigma, alpha=1.0, *, dtype=None) -> Operator:
    r"""Products of the Jacobian of a torch score by forward-mode autodiff, transposes by reverse mode.

    ``score(x, sigma, alpha)`` maps a torch tensor (n, D) to (n, D) (a ``torch.nn.Module`` or any
    function of torch tensors).  ``matvec``: ``vmap`` over the block of ``torch.func.jvp`` of
    :math:`x \mapsto s(x)`; ``rmatvec``: ``vmap`` of the ``torch.func.vjp`` pullback.  Computed in
    ``dtype`` (default: the module's parameter dtype, else float64); returned as float64 numpy.
    Needs the optional ``nn`` extra (``pip install spectral-theory[nn]``).
    """
    try:
        import torch
        from torch.func import jvp, vjp, vmap
    except ImportError as e:                                                 # pragma: no cover
        raise ImportError("torch_operator needs torch: pip install spectral-theory[nn]") from e
    x0 = _point(x)
    sigma, alpha = scalar(sigma, "sigma", positive=True), scalar(alpha, "alpha", positive=True)
    if dtype is None:
        params = list(score.parameters()) if isinstance(score, torch.nn.Module) else []
        dtype = params[0].dtype if params else torch.float64
    xt = torch.as_tensor(x0, dtype=dtype)

    def f(xi):
        return score(xi[None], sigma, alpha)[0]

    def to_numpy(t):                  # shape and finiteness are checked by the callers' `apply`
        return t.detach().to(torch.float64).numpy()

    def matvec(V):
        Vt = torch.as_tensor(np.asarray(V, dtype=np.float64), dtype=dtype)
        return to_numpy(vmap(lambda v: jvp(f, (xt,), (v,))[1])(Vt))

    _, pullback = vjp(f, xt)

    def rmatvec(U):
        Ut = torch.as_tensor(np.asarray(U, dtype=np.float64), dtype=dtype)
        return to_numpy(vmap(lambda u: pullback(u)[0])(Ut))
    return Operator(matvec, x0.size, rmatvec, False, "torch score")


@dataclass(frozen=True)
class SymmetryTest:
    r"""Result of :func:`symmetry_test`.

    ``asymmetry`` the estimate of :math:`|A - A^\top|_F / (2|A|_F)` (0 for symmetric A, 1 for
    antisymmetric), ``stderr`` its standard error (delta method over probes), ``tol``, ``n_probes``;
    ``symmetric`` = asymmetry <= tol.  :meth:`raise_if_asymmetric` raises ``SpectralTheoryError``.
    """
    asymmetry: float
    stderr: float
    tol: float
    n_probes: int
    name: str

    @property
    def symmetric(self) -> bool:
        return self.asymmetry <= self.tol

    def raise_if_asymmetric(self):
        if not self.symmetric:
            raise SpectralTheoryError(
                f"`{self.name}` is not symmetric: |A - A^T|_F / (2 |A|_F) = {self.asymmetry:.3e} +- "
                f"{self.stderr:.1e} > tol {self.tol:g} ({self.n_probes} probe pairs); choose explicitly: "
                "symmetric_part(op) for (A + A^T)/2, or lanczos_singular for singular values")
        return self


def symmetry_test(matvec, dim, n_probes=8, *, tol=SYMMETRY_TOL, rng=None, name="matvec") -> SymmetryTest:
    r"""Probe test of symmetry: :math:`a_p = u_p^\top A v_p` against :math:`b_p = v_p^\top A u_p`.

    For Gaussian u, v and A = S + K (symmetric + antisymmetric), :math:`E(a - b)^2 = 4|K|_F^2` and
    :math:`E(a^2 + b^2)/2 = |A|_F^2`, so :math:`\hat\rho = \sqrt{\overline{(a-b)^2}/4 \,/\,
    \overline{(a^2+b^2)/2}}` estimates :math:`|K|_F/|A|_F`, with a delta-method standard error.
    One matvec of the (2 n_probes, D) block [V; U].
    """
    D = integer(dim, "dim", minimum=1)
    n = integer(n_probes, "n_probes", minimum=2)
    tol = scalar(tol, "tol", nonnegative=True)
    gen = as_generator(rng)
    UV = gen.standard_normal((2 * n, D))
    A = apply(matvec, UV, name)
    U, V, AU, AV = UV[:n], UV[n:], A[:n], A[n:]
    a, b = np.einsum("kd,kd->k", U, AV), np.einsum("kd,kd->k", V, AU)
    num, den = (a - b) ** 2 / 4, (a ** 2 + b ** 2) / 2
    N, M = num.mean(), den.mean()
    if M == 0:
        return SymmetryTest(0.0, 0.0, tol, n, name)                         # the zero operator
    rho = np.sqrt(N / M)
    # delta method for sqrt(N/M): d rho = rho/2 (dN/N - dM/M)
    cov = np.cov(np.stack([num, den])) / n
    if N > 0:
        g = np.array([0.5 * rho / N, -0.5 * rho / M])
        se = float(np.sqrt(max(g @ cov @ g, 0.0)))
    else:
        se = 0.0
    return SymmetryTest(float(rho), se, tol, n, name)


def symmetric_part(matvec, rmatvec=None) -> Operator:
    r""":math:`(A + A^\top)/2` from the products with A and :math:`A^\top` (one call of each per block).

    ``matvec`` may be an :class:`Operator` carrying its ``rmatvec`` (e.g. :func:`torch_operator`).
    """
    if isinstance(matvec, Operator):
        op = matvec
        rmatvec = op.rmatvec if rmatvec is None else rmatvec
        dim, name = op.dim, op.name
    else:
        dim, name = None, "matvec"
    if rmatvec is None:
        raise SpectralTheoryError("`rmatvec` is needed for the symmetric part (A + A^T)/2; a black-box "
                                  "score has none: use singular values or a torch/jvp route")

    def sym(V):
        V = np.asarray(V, dtype=np.float64)
        return 0.5 * (apply(matvec, V, name) + apply(rmatvec, V, "rmatvec"))
    return Operator(sym, dim, sym, True, f"sym({name})")
