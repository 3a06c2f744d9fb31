r"""Gaussian data models: :class:`Gaussian` (any rank, any mean), :class:`LinearManifold` (variance
blocks on an m-dimensional subspace) and :class:`SpikedCovariance` (low-rank spikes over a noise floor).

All three are one Gaussian component (see :mod:`spectral_theory.models._base`), so they share one
denoiser.  VE form (:math:`\alpha = 1`, :math:`\tau = \sigma^2`), with :math:`C = U\Lambda U^\top`:

.. math:: D(x) = \mu + U \operatorname{diag}\Big(\frac{\lambda_i}{\lambda_i + \tau}\Big) U^\top (x - \mu),
          \qquad J = -(C + \tau I)^{-1}.
"""
from __future__ import annotations

import numpy as np

from ..checks import SpectralTheoryError, allocation, array, as_generator, integer, sample_count, scalar
from ..rmt import Silverstein
from ._base import (Component, PosteriorModel, as_batch, atomic_covariance_law, fitted_covariance_law,
                    jvp_blocks, mixture_posterior, noise_args, noise_level)

_ZERO = np.zeros(1)


def _eig_tol(values: np.ndarray, dim: int) -> float:
    """Eigenvalues below this are rounding noise of a PSD matrix (numpy.linalg.matrix_rank's rule)."""
    return max(dim, 1) * np.finfo(float).eps * max(float(np.max(np.abs(values), initial=0.0)), 1e-300)


class Gaussian(PosteriorModel):
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

    constant_jacobian = True

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
        self._component = Component(mean, np.ascontiguousarray(basis[:, keep][:, order]),
                                    eigenvalues[keep][order], 0.0)

    @classmethod
    def _examples(cls, rng):
        """Small instances for the generic model tests (``tests/test_models.py``), by name."""
        D = 5
        A, low = rng.standard_normal((D, D)), rng.standard_normal((D, 2))
        return {"gaussian_full": cls(rng.standard_normal(D), A @ A.T / D + 0.1 * np.eye(D)),
                "gaussian_lowrank": cls(rng.standard_normal(D), low @ low.T)}

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
    def dim(self) -> int:
        """Ambient dimension D."""
        return self._component.dim

    @property
    def mean_vector(self) -> np.ndarray:
        """Mean mu of x_0 (D,)."""
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
        """Covariance C = floor I + U diag(excess) U^T of x_0 (D, D)."""
        return self._component.covariance()

    def sample(self, n, rng=None) -> np.ndarray:
        """``n`` independent samples (n, D)."""
        return self._component.sample(sample_count(n, "n", self._component.sample_floats), as_generator(rng))

    def _posterior(self, x, sigma, alpha, want_jacobian=False):
        return mixture_posterior([self._component], _ZERO, x, sigma, alpha, want_jacobian)

    def score_jacobian(self, x, sigma, alpha=1.0):
        r"""Score Jacobian :math:`-(\alpha^2 C + \sigma^2 I)^{-1}`, the same at every x: (D, D) at x (D,),
        (B, D, D) at x (B, D)."""
        # constant in x: compute once (three (D, D) temporaries), broadcast over the batch
        xb, single = as_batch(x, self.dim)
        allocation(8 * (xb.shape[0] + 3) * self.dim**2, "x", f"{xb.shape[0]} points",
                   f"their ({self.dim}, {self.dim}) Jacobians")
        J = self._component.jacobian(*noise_args(sigma, alpha))
        return J if single else np.broadcast_to(J, (xb.shape[0],) + J.shape).copy()

    def score_jvp(self, x, v, sigma, alpha=1.0):
        r""":math:`J v = -(\alpha^2 C + \sigma^2 I)^{-1} v` in O(D r) per vector (the same J at every x;
        shapes as in :meth:`ScoreModel.score_jvp`)."""
        _, V, shape = jvp_blocks(x, v, self.dim)
        return shape(self._component.jvp(V, *noise_args(sigma, alpha)))

    @property
    def covariance_eigenvalues(self) -> np.ndarray:
        """Nonzero covariance eigenvalues, decreasing (with a noise floor: all D of them)."""
        vals, counts = self._component.covariance_atoms()
        return np.sort(np.repeat(vals, counts.astype(int)))[::-1]

    def _covariance_atoms(self):
        """Eigenvalues of C and their multiplicities (values, counts), zero eigenvalues left out."""
        return self._component.covariance_atoms()

    def covariance_law(self, n_samples=None, component=None):
        r"""The exact eigenvalues of C as atoms (weight 1/D each, the rank deficit an atom at 0), or
        with ``n_samples`` N the generalised Marchenko-Pastur law of the Gaussian fitted to N samples
        (population :math:`(N-1)/N\,C`, ratio :math:`D/(N-1)`)."""
        if component is not None:
            raise SpectralTheoryError("`component` applies to mixtures only; a Gaussian model has one component")
        vals, counts = self._covariance_atoms()
        if n_samples is None:
            return atomic_covariance_law(vals, counts, self.dim)
        return fitted_covariance_law(vals, counts, self.dim, n_samples)

    # -- closed forms (VE, alpha = 1; theory/gaussian.md) -----------------------------------------
    def flow_denoiser(self, x_T, sigma_T, sigma_t):
        r"""Denoiser output :math:`D(x(\sigma_t); \sigma_t)` along the closed-form trajectory
        :meth:`flow` started at ``x_T`` at ``sigma_T``:

        .. math:: D = \mu + \sum_i \frac{\lambda_i}{\sqrt{(\sigma_t^2 + \lambda_i)(\sigma_T^2 + \lambda_i)}}
                  u_i u_i^\top (x_T - \mu),

        the Wiener shrinkage :math:`\lambda/(\lambda + \sigma_t^2)` applied to the flow's
        :math:`\sqrt{(\sigma_t^2+\lambda)/(\sigma_T^2+\lambda)}` rescaling; the off-support directions
        are annihilated (a noise floor c shrinks them by the same gain at :math:`\lambda = c`).
        ``sigma_t`` must be > 0 and <= ``sigma_T``.
        """
        sT = noise_level(sigma_T, "sigma_T")
        st = noise_level(sigma_t, "sigma_t")
        if st > sT:
            raise SpectralTheoryError(f"`sigma_t` must not exceed `sigma_T`; got {st} > {sT}")
        x = array(x_T, "x_T", ndim=(1, 2))
        if x.shape[-1] != self.dim:
            raise SpectralTheoryError(f"`x_T` must have last dimension {self.dim}; got shape {x.shape}")
        c = self._component                                # C = floor I + U diag(excess) U^T
        lam, U, mu = c.floor + c.excess, c.basis, c.mean
        gain = lambda v: v / np.sqrt((st**2 + v) * (sT**2 + v))           # noqa: E731
        r = x - mu
        p = r @ U
        out = mu + (p * gain(lam)) @ U.T
        if c.floor > 0:                                    # a noise floor shrinks the complement too
            out = out + gain(c.floor) * (r - p @ U.T)
        return out

    def denoiser_mse(self, sigma) -> float:
        r"""Mean squared error :math:`\mathbb E|D(x_0 + \sigma\xi) - x_0|^2` of the exact denoiser on
        the model's own data (VE): :math:`\sum_i \sigma^2\lambda_i/(\lambda_i + \sigma^2)` over the D
        eigenvalues of C (the trace of the posterior covariance; zero variances contribute nothing)."""
        s = noise_level(sigma, "sigma")
        c = self._component                                # C = floor I + U diag(excess) U^T
        lam = c.floor + c.excess
        off = (self.dim - lam.size) * s**2 * c.floor / (c.floor + s**2)  # complement of the basis
        return float(np.sum(s**2 * lam / (lam + s**2)) + off)

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
        sT = noise_level(sigma_T, "sigma_T")
        st = noise_level(sigma_t, "sigma_t", nonnegative=True)
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
        # the draw, F, F diag(sqrt v) and the thin SVD's copy, U and workspace: six (D, m) arrays
        allocation(6 * 8 * D * m, "ambient_dim", D, f"the (D, m = {m}) factor and its SVD")
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

    @classmethod
    def _examples(cls, rng):
        return {"manifold": cls(5, [(2, 3.0), (1, 0.5)], rng=rng),
                "manifold_orthonormal": cls(5, [(2, 3.0), (1, 0.5)], basis="orthonormal", rng=rng)}

    @property
    def intrinsic_dim(self) -> int:
        return self.factor.shape[1]

    def _covariance_atoms(self):
        if self.basis_kind == "orthonormal":                # eigenvalues exactly v_k, m_k times
            return np.array([v for _, v in self.blocks]), np.array([m for m, _ in self.blocks], dtype=float)
        return super()._covariance_atoms()

    def covariance_law(self, n_samples=None, component=None):
        r"""Gaussian basis: the multi-block Silverstein law of :math:`F \operatorname{diag}(v) F^\top`
        (D -> infinity with m_k/D fixed); with ``n_samples`` the fitted-Gaussian law built on this
        instance's exact eigenvalues (the law conditional on F).  Orthonormal basis: as :class:`Gaussian`."""
        if self.basis_kind == "orthonormal" or n_samples is not None:
            return super().covariance_law(n_samples, component)
        if component is not None:
            raise SpectralTheoryError("`component` applies to mixtures only; a Gaussian model has one component")
        return Silverstein(np.array([m for m, _ in self.blocks], dtype=float) / self.dim,
                           np.array([v for _, v in self.blocks]))

    def sample(self, n, rng=None) -> np.ndarray:
        """``n`` samples x_0 = F z, z ~ N(0, diag(v))."""
        n, rng = sample_count(n, "n", 2 * self.intrinsic_dim + self.dim), as_generator(rng)   # z, its scaling, F z
        z = rng.standard_normal((n, self.intrinsic_dim)) * np.sqrt(self.latent_variances)
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
        # the draw, the QR's copy, Q and workspace: four (D, k) arrays
        allocation(4 * 8 * D * lam.size, "ambient_dim", D, f"the (D, k = {lam.size}) directions and their QR")
        U = np.linalg.qr(as_generator(rng).standard_normal((D, lam.size)))[0]
        self.spikes, self.noise, self.directions = lam, s, U
        self._component = Component(np.zeros(D), U, lam, s)

    @classmethod
    def _examples(cls, rng):
        return {"spiked": cls(5, [4.0, 2.0], noise=0.3, rng=rng)}

    @property
    def eigenvalues(self) -> np.ndarray:
        """Spike eigenvalues s + lambda_i (the floor s fills the other D - k directions)."""
        return self.noise + self.spikes

    @property
    def eigenvectors(self) -> np.ndarray:
        """Orthonormal spike directions u_i (D, k), the eigenvectors of the nonzero eigenvalues."""
        return self.directions


__all__ = ["Gaussian", "LinearManifold", "SpikedCovariance"]
