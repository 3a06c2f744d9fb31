r"""Gaussian mixtures: the general :class:`GaussianMixture` and the mixture of low-rank Gaussians
:class:`MoLRG` of Wang, Zhang, Zhang, Chen, Ma, Qu (arXiv 2409.02426).

The exact posterior quantities are those of :mod:`spectral_theory.models._base`.  For MoLRG,
:math:`x_0 \sim \sum_k \pi_k \mathcal N(0, U_k U_k^\top + \epsilon I)` and, with :math:`\epsilon = 0`,

.. math:: \mathbb E[x_0|x_t] = \sum_k w_k(x_t)\, \frac{\alpha}{\alpha^2 + \sigma^2} U_k U_k^\top x_t, \quad
          w_k = \operatorname{softmax}_k\Big[\log\pi_k + \frac{\alpha^2 |U_k^\top x_t|^2}{2\sigma^2(\alpha^2 +
          \sigma^2)} - \frac{d_k}{2}\log\Big(1 + \frac{\alpha^2}{\sigma^2}\Big)\Big],

the log-determinant term mattering when the :math:`d_k` differ.
"""
from __future__ import annotations

import numpy as np

from ..checks import (SpectralTheoryError, allocation, array, as_generator, integer, probability_vector,
                      sample_count, scalar)
from ._base import (Component, PosteriorModel, atomic_covariance_law, jvp_blocks, mixture_jvp, mixture_posterior,
                    noise_args)
from .gaussian import Gaussian


class GaussianMixture(PosteriorModel):
    r"""Mixture :math:`\sum_k \pi_k \mathcal N(\mu_k, C_k)` with exact denoiser, score and Jacobian.

    Parameters
    ----------
    means : (K, D) array.
    covs : (K, D, D) symmetric PSD arrays (rank-deficient allowed).
    weights : (K,) probabilities summing to 1; default uniform.
    """

    def __init__(self, means, covs, weights=None):
        mus = array(means, "means", ndim=2)
        K, D = mus.shape
        Cs = array(covs, "covs", shape=(K, D, D))
        comps = [Gaussian(mus[k], Cs[k])._component for k in range(K)]
        self._init(comps, weights)

    @classmethod
    def _examples(cls, rng):
        """Small instances for the generic model tests; "mixture_separated" has components far apart
        (at each mean the posterior sits on its component, where the local law is exact)."""
        D = 5
        A, low = rng.standard_normal((D, D)), rng.standard_normal((D, 2))
        covs = [np.eye(D) * 0.3, low @ low.T, A @ A.T / D]
        return {"mixture": cls(rng.standard_normal((3, D)) * 2, covs, weights=[0.2, 0.5, 0.3]),
                "mixture_separated": cls(40.0 * np.eye(3, D), covs, weights=[0.2, 0.5, 0.3])}

    def _init(self, components, weights):
        K = len(components)
        self.components = components
        self.weights = np.full(K, 1.0 / K) if weights is None else probability_vector(weights, "weights", K)
        with np.errstate(divide="ignore"):
            self._log_weights = np.log(self.weights)

    @property
    def dim(self) -> int:
        """Ambient dimension D."""
        return self.components[0].dim

    @property
    def n_components(self) -> int:
        return len(self.components)

    @property
    def mean_vector(self) -> np.ndarray:
        r"""Mean :math:`\sum_k \pi_k \mu_k` of x_0 (D,)."""
        return sum(w * c.mean for w, c in zip(self.weights, self.components))

    def covariance(self) -> np.ndarray:
        r""":math:`\sum_k \pi_k (C_k + \mu_k\mu_k^\top) - \mu\mu^\top`."""
        mu = self.mean_vector
        second = sum(w * (c.covariance() + np.outer(c.mean, c.mean)) for w, c in zip(self.weights, self.components))
        return second - np.outer(mu, mu)

    def sample(self, n, rng=None, return_labels=False):
        """``n`` samples (n, D) (and their component labels if ``return_labels``)."""
        # the labels and indices (int64), the output and the largest component's draw
        n = sample_count(n, "n", 2 + self.dim + max(c.sample_floats for c in self.components))
        rng = as_generator(rng)
        labels = rng.choice(self.n_components, size=n, p=self.weights)
        x = np.empty((n, self.dim))
        for k, c in enumerate(self.components):       # loop over components, not samples
            idx = np.flatnonzero(labels == k)
            if idx.size:
                x[idx] = c.sample(idx.size, rng)
        return (x, labels) if return_labels else x

    def posterior_weights(self, x, sigma, alpha=1.0):
        r"""Posterior component probabilities :math:`w_k(x_t)`, shape (K,) or (B, K)."""
        return self._call("weights", x, sigma, alpha)

    def _posterior(self, x, sigma, alpha, want_jacobian=False):
        return mixture_posterior(self.components, self._log_weights, x, sigma, alpha, want_jacobian)

    def score_jvp(self, x, v, sigma, alpha=1.0):
        r""":math:`J v = \sum_k w_k J_k v + (\alpha^2/\sigma^4)\sum_k w_k (m_k - D)(m_k - D)^\top v`
        without forming J: O(K D r) per vector after one posterior evaluation per point."""
        xb, V, shape = jvp_blocks(x, v, self.dim)
        sigma, alpha = noise_args(sigma, alpha)
        post = self._posterior(xb, sigma, alpha)
        return shape(mixture_jvp(self.components, post["weights"], post["component_means"], post["mean"],
                                 V, sigma, alpha))

    def covariance_law(self, n_samples=None, component=None):
        r"""The local Gaussian picture near component k (posterior weight of k close to 1): there
        :math:`J \approx J_k = -(\alpha^2 C_k + \sigma^2 I)^{-1}` (the between-component term of the
        mixture Jacobian is :math:`O(w_k(1 - w_k))`), so the law is that of :math:`C_k`, its eigenvalues
        as atoms.  ``component=None`` is allowed when every component has the same spectrum."""
        if n_samples is not None:
            raise SpectralTheoryError(f"`n_samples` is not supported for {type(self).__name__} (its fitted "
                                      "Gaussian is not the local picture)")
        spectra = [c.covariance_atoms() for c in self.components]
        if component is None:
            if not all(np.array_equal(s[0], spectra[0][0]) and np.array_equal(s[1], spectra[0][1]) for s in spectra):
                raise SpectralTheoryError(
                    f"{type(self).__name__}: the local Gaussian picture needs `component=k` (the component "
                    "the point is near); the components' covariance spectra differ, so the local spectra differ")
            component = 0
        k = integer(component, "component", minimum=0, maximum=self.n_components - 1)
        return atomic_covariance_law(*spectra[k], self.dim)


class MoLRG(GaussianMixture):
    r"""Mixture of low-rank Gaussians :math:`\sum_k \pi_k \mathcal N(0, U_k U_k^\top + \epsilon I)`.

    Parameters
    ----------
    ambient_dim : int n (the paper's ambient dimension).
    subspace_dims : sequence of d_k >= 1, each <= n (and sum <= n when ``orthogonal``).
    weights : mixing weights pi_k (default uniform).
    orthogonal : True takes the U_k as disjoint column blocks of one random orthogonal matrix (the
        paper's experiments); False draws each U_k independently (uniform on the Stiefel manifold).
    noise : off-subspace noise variance epsilon >= 0.
    rng : Generator or seed for the bases.

    References
    ----------
    Wang, Zhang, Zhang, Chen, Ma, Qu, "Diffusion models learn low-dimensional distributions via
    subspace clustering", arXiv 2409.02426.
    """

    def __init__(self, ambient_dim, subspace_dims, weights=None, orthogonal=True, noise=0.0, rng=None):
        n = integer(ambient_dim, "ambient_dim", minimum=1)
        dims = [integer(d, "subspace_dims[k]", minimum=1) for d in np.atleast_1d(subspace_dims)]
        if not dims:
            raise SpectralTheoryError("`subspace_dims` must not be empty (one dimension d_k >= 1 per component)")
        for d in dims:
            if d > n:
                raise SpectralTheoryError(f"`subspace_dims` entry d_k = {d} exceeds ambient_dim = {n}")
        # the bases (n, sum d_k) and, per QR, the draw, its copy, Q and workspace: at most five times that
        allocation(5 * 8 * n * sum(dims), "ambient_dim", n, f"the (n, {sum(dims)}) bases and their QR")
        rng = as_generator(rng)
        if orthogonal:
            if sum(dims) > n:
                raise SpectralTheoryError(f"orthogonal subspaces need sum(`subspace_dims`) = {sum(dims)} <= `ambient_dim` = {n}")
            Q = np.linalg.qr(rng.standard_normal((n, sum(dims))))[0]
            bases = np.split(Q, np.cumsum(dims)[:-1], axis=1)
        else:
            bases = [np.linalg.qr(rng.standard_normal((n, d)))[0] for d in dims]
        self._from_bases(bases, weights, noise)

    @classmethod
    def _examples(cls, rng):
        return {"molrg": cls(5, [1, 3], weights=[0.35, 0.65], noise=0.05, rng=rng),
                "molrg_noiseless": cls(5, [2, 1], weights=[0.6, 0.4], orthogonal=False, rng=rng)}

    @classmethod
    def from_bases(cls, bases, weights=None, noise=0.0):
        """MoLRG with given orthonormal bases U_k (each n x d_k) - e.g. a trained low-rank denoiser."""
        self = cls.__new__(cls)
        if isinstance(bases, np.ndarray) and bases.ndim == 2:
            bases = [bases]                                # one basis: one component
        if not isinstance(bases, (list, tuple, np.ndarray)):
            raise SpectralTheoryError(f"`bases` must be a sequence of (n, d_k) arrays; got {type(bases).__name__}")
        bs = [array(U, f"bases[{k}]", ndim=2) for k, U in enumerate(bases)]
        if not bs:
            raise SpectralTheoryError("`bases` must not be empty")
        n = bs[0].shape[0]
        for k, U in enumerate(bs):
            if U.shape[0] != n or U.shape[1] > n:
                raise SpectralTheoryError(f"`bases[{k}]` must be {n} x d_k with d_k <= {n}; got {U.shape}")
            if not np.allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-8):
                raise SpectralTheoryError(f"`bases[{k}]` must have orthonormal columns")
        self._from_bases(bs, weights, noise)
        return self

    def _from_bases(self, bases, weights, noise):
        eps = scalar(noise, "noise", nonnegative=True)
        self.bases = [np.ascontiguousarray(U) for U in bases]
        self.subspace_dims = [U.shape[1] for U in self.bases]
        self.noise = eps
        n = self.bases[0].shape[0]
        comps = [Component(np.zeros(n), U, np.ones(U.shape[1]), eps) for U in self.bases]
        self._init(comps, weights)


__all__ = ["GaussianMixture", "MoLRG"]
