r"""Gaussian data models: :class:`Gaussian` (any rank, any mean), :class:`LinearManifold` (variance
blocks on an m-dimensional subspace) and :class:`SpikedCovariance` (low-rank spikes over a noise floor).

All three are one Gaussian component (see :mod:`spectral_theory.models._base`), so they share one
denoiser.  VE form (:math:`\alpha = 1`, :math:`\tau = \sigma^2`), with :math:`C = U\Lambda U^\top`:

.. math:: D(x) = \mu + U \operatorname{diag}\Big(\frac{\lambda_i}{\lambda_i + \tau}\Big) U^\top (x - \mu),
          \qquad J = -(C + \tau I)^{-1}.
"""
from __future__ import annotations

import numpy as np

from .._checks import SpectralTheoryError, array, as_generator, integer, scalar
from ._base import Component, DataModel, as_batch, mixture_posterior, noise_args

_ZERO = np.zeros(1)


def _eig_tol(values: np.ndarray, dim: int) -> float:
    """Eigenvalues below this are rounding noise of a PSD matrix (numpy.linalg.matrix_rank's rule)."""
    return max(dim, 1) * np.finfo(float).eps * max(float(np.max(np.abs(values), initial=0.0)), 1e-300)


class Gaussian(DataModel):
    r"""Gaussian data :math:`x_0 \sim \mathcal N(\mu, C)`, full rank or low rank.

    Parameters
    ----------
    mean : (D,) array
    cov : (D, D) symmetric positive semi-definite array.  Eigenvalues below the rounding tolerance
        ``D * eps * max|eig|`` are treated as exact zeros (the data lie on a subspace); clearly negative
        ones raise.

    Notes
    -----
    The closed-form probability-flow trajectory is :meth:`flow`.  Reference: Wang & Vastola,
    arXiv 2311.10892; Li, Dai, Qu, arXiv 2410.24060.
    """

    def __init__(self, mean, cov):
        mu = array(mean, "mean", ndim=1)
        C = array(cov, "cov", shape=(mu.size, mu.size))
        if not np.allclose(C, C.T, rtol=1e-10, atol=1e-12 * max(np.abs(C).max(), 1e-300)):
            raise SpectralTheoryError("`cov` must be symmetric")
        lam, U = np.linalg.eigh(0.5 * (C + C.T))
        tol = _eig_tol(lam, mu.size)
        if lam.min() < -tol:
            raise SpectralTheoryError(f"`cov` must be positive semi-definite; smallest eigenvalue {lam.min()}")
        self._set(mu, U, lam, tol)

    def _set(self, mean, basis, eigenvalues, tol=0.0):
        keep = eigenvalues > tol
        order = np.argsort(eigenvalues[keep])[::-1]                      # decreasing eigenvalues
        self.dim = mean.size
        self._component = Component(mean, np.ascontiguousarray(basis[:, keep][:, order]),
                                    eigenvalues[keep][order], 0.0)

    @classmethod
    def from_eigen(cls, mean, eigenvalues, eigenvectors):
        r"""Build from :math:`C = V \operatorname{diag}(\lambda) V^\top` with orthonormal columns V (D, r)."""
        mu = array(mean, "mean", ndim=1)
        lam = array(eigenvalues, "eigenvalues", ndim=1, nonnegative=True)
        V = array(eigenvectors, "eigenvectors", shape=(mu.size, lam.size))
        if not np.allclose(V.T @ V, np.eye(lam.size), atol=1e-8):
            raise SpectralTheoryError("`eigenvectors` must have orthonormal columns")
        self = cls.__new__(cls)
        self._set(mu, V, lam)
        return self

    @classmethod
    def from_samples(cls, X):
        r"""Gaussian with the empirical mean and the **1/N** covariance of the rows of ``X`` (N, D).

        Computed from the thin SVD of the centred data, so for N <= D the covariance is exactly of
        rank at most N - 1 and nothing of size D x D is diagonalised.
        """
        X = array(X, "X", ndim=2)
        if X.shape[0] < 2:
            raise SpectralTheoryError(f"`X` needs at least 2 samples (rows); got {X.shape[0]}")
        mu = X.mean(axis=0)
        _, s, Vt = np.linalg.svd(X - mu, full_matrices=False)
        lam = s**2 / X.shape[0]
        self = cls.__new__(cls)
        self._set(mu, Vt.T, lam, _eig_tol(lam, max(X.shape)))
        return self

    # -- model interface ---------------------------------------------------------------------
    @property
    def mean_vector(self) -> np.ndarray:
        return self._component.mean

    @property
    def eigenvalues(self) -> np.ndarray:
        """Nonzero covariance eigenvalues, decreasing (r,)."""
        return self._component.excess

    @property
    def eigenvectors(self) -> np.ndarray:
        """Orthonormal eigenvectors of the nonzero eigenvalues (D, r)."""
        return self._component.basis

    @property
    def rank(self) -> int:
        return self._component.rank

    def covariance(self) -> np.ndarray:
        return self._component.covariance()

    def sample(self, n, rng=None) -> np.ndarray:
        """``n`` independent samples (n, D)."""
        return self._component.sample(integer(n, "n", minimum=1), as_generator(rng))

    def _posterior(self, x, sigma, alpha, want_jacobian=False):
        return mixture_posterior([self._component], _ZERO, x, sigma, alpha, want_jacobian)

    def score_jacobian(self, x, sigma, alpha=1.0):
        # constant in x: compute once, broadcast over the batch
        J = self._component.jacobian(*noise_args(sigma, alpha))
        xb, single = as_batch(x, self.dim)
        return J if single else np.broadcast_to(J, (xb.shape[0],) + J.shape).copy()

    def flow(self, x_T, sigma_T, sigma_t):
        r"""Exact probability-flow ODE solution (VE, :math:`\alpha = 1`) from ``sigma_T`` to ``sigma_t``.

        .. math:: x(\sigma_t) = \mu + \sum_i \sqrt{\frac{\sigma_t^2 + \lambda_i}{\sigma_T^2 + \lambda_i}}
                  u_i u_i^\top (x_T - \mu) + \frac{\sigma_t}{\sigma_T} (I - UU^\top)(x_T - \mu),

        the solution of :math:`dx/d\sigma = (x - D(x;\sigma))/\sigma` direction by direction (the last
        term is present when C is rank-deficient; a noise floor c replaces it by
        :math:`\sqrt{(\sigma_t^2+c)/(\sigma_T^2+c)}`).  With ``sigma_t = 0`` and
        :math:`x_T \sim \mathcal N(\mu, C + \sigma_T^2 I)` it is an exact sample of the model.
        Reference: Wang & Vastola, arXiv 2311.10892.

        Parameters
        ----------
        x_T : (D,) or (B, D) points at noise level ``sigma_T``.
        sigma_T : float > 0.
        sigma_t : float with 0 <= sigma_t <= sigma_T.
        """
        xb, single = as_batch(x_T, self.dim, "x_T")
        sT = scalar(sigma_T, "sigma_T", positive=True)
        st = scalar(sigma_t, "sigma_t", nonnegative=True)
        if st > sT:
            raise SpectralTheoryError(f"`sigma_t` must not exceed `sigma_T` (the flow runs towards lower noise); got {st} > {sT}")
        c = self._component
        r = xb - c.mean                                                    # (B, D)
        p = r @ c.basis                                                    # (B, r)
        lam = c.floor + c.excess                                           # (r,) eigenvalues on the basis
        factor = np.sqrt((st**2 + lam) / (sT**2 + lam))                    # (r,)
        off = np.sqrt((st**2 + c.floor) / (sT**2 + c.floor))              # sigma_t/sigma_T when floor = 0
        out = c.mean + off * (r - p @ c.basis.T) + (p * factor) @ c.basis.T
        return out[0] if single else out


class LinearManifold(Gaussian):
    r"""Data on a linear manifold: :math:`x_0 = F z`, :math:`F \in \mathbb R^{D\times m}`,
    :math:`z \sim \mathcal N(0, \operatorname{diag}(v))` with variance blocks.

    Parameters
    ----------
    ambient_dim : int D.
    blocks : list of (m_k, v_k): m_k latent directions of variance v_k > 0; m = sum m_k <= D.
    basis : "gaussian" (F has iid N(0, 1/D) entries: the random-matrix setting of Ventura et al.,
        arXiv 2410.05898, where the spectrum of C = F diag(v) F^T is a multi-block Marchenko-Pastur law)
        or "orthonormal" (F has orthonormal columns: C has eigenvalues exactly v_k, m_k times).
    rng : Generator or seed for F.
    """

    def __init__(self, ambient_dim, blocks, basis="gaussian", rng=None):
        D = integer(ambient_dim, "ambient_dim", minimum=1)
        try:
            blocks = [(integer(m, "blocks[m_k]", minimum=1), scalar(v, "blocks[v_k]", positive=True))
                      for m, v in blocks]
        except (TypeError, ValueError) as e:
            if isinstance(e, SpectralTheoryError):
                raise
            raise SpectralTheoryError("`blocks` must be a list of (m_k, v_k) pairs") from e
        if not blocks:
            raise SpectralTheoryError("`blocks` must not be empty")
        m = sum(mk for mk, _ in blocks)
        if m > D:
            raise SpectralTheoryError(f"`blocks` dimensions sum to m = {m} > ambient_dim = {D}")
        rng = as_generator(rng)
        if basis == "gaussian":
            F = rng.standard_normal((D, m)) / np.sqrt(D)
        elif basis == "orthonormal":
            F = np.linalg.qr(rng.standard_normal((D, m)))[0]
        else:
            raise SpectralTheoryError(f"`basis` must be 'gaussian' or 'orthonormal'; got {basis!r}")
        v = np.concatenate([np.full(mk, vk) for mk, vk in blocks])
        self.factor, self.latent_variances, self.blocks, self.basis_kind = F, v, blocks, basis
        U, s, _ = np.linalg.svd(F * np.sqrt(v), full_matrices=False)       # C = U diag(s^2) U^T
        self._set(np.zeros(D), U, s**2, _eig_tol(s**2, D))

    @property
    def intrinsic_dim(self) -> int:
        return self.factor.shape[1]

    def sample(self, n, rng=None) -> np.ndarray:
        """``n`` samples x_0 = F z, z ~ N(0, diag(v))."""
        rng = as_generator(rng)
        z = rng.standard_normal((integer(n, "n", minimum=1), self.intrinsic_dim)) * np.sqrt(self.latent_variances)
        return z @ self.factor.T


class SpikedCovariance(Gaussian):
    r"""Spiked covariance :math:`C = s I + \sum_i \lambda_i u_i u_i^\top` (zero mean), with orthonormal
    random spike directions :math:`u_i`; the spike strength over the floor is :math:`\ell_i = \lambda_i / s`.

    Parameters
    ----------
    ambient_dim : int D.
    spikes : sequence of lambda_i > 0 (k <= D).
    noise : floor variance s >= 0 (s = 0: rank-k data, the setting of Weitzner et al., arXiv
        2410.14730, where the diffusion itself supplies the noise).
    rng : Generator or seed for the directions (``directions`` attribute, D x k).
    """

    def __init__(self, ambient_dim, spikes, noise=1.0, rng=None):
        D = integer(ambient_dim, "ambient_dim", minimum=1)
        lam = array(spikes, "spikes", ndim=1, positive=True)
        if lam.size > D:
            raise SpectralTheoryError(f"number of `spikes` ({lam.size}) exceeds ambient_dim = {D}")
        s = scalar(noise, "noise", nonnegative=True)
        U = np.linalg.qr(as_generator(rng).standard_normal((D, lam.size)))[0]
        self.spikes, self.noise, self.directions = lam, s, U
        self.dim = D
        self._component = Component(np.zeros(D), U, lam, s)

    @property
    def eigenvalues(self) -> np.ndarray:
        """Spike eigenvalues s + lambda_i (the floor s fills the other D - k directions)."""
        return self.noise + self.spikes

    @property
    def eigenvectors(self) -> np.ndarray:
        return self.directions

