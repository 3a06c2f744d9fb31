r"""Shared machinery of the data models: the exact posterior quantities of a Gaussian mixture.

Every model in the package except :class:`~spectral_theory.models.Empirical` is a mixture of Gaussian
components with covariance "isotropic floor plus low rank",

.. math:: C_k = c_k I + U_k \operatorname{diag}(\ell_k) U_k^\top, \qquad U_k^\top U_k = I,

which covers full-rank Gaussians (:math:`c = 0`, :math:`U` the whole eigenbasis), data on a subspace
(:math:`c = 0`, :math:`U` a basis of it) and spiked covariances (:math:`c > 0`).  With
:math:`x_t = \alpha x_0 + \sigma\xi` and :math:`r = x - \alpha\mu_k`, write :math:`b = \alpha^2 c + \sigma^2`.
Along an eigendirection of eigenvalue :math:`\lambda` of :math:`C_k` (conditioning a joint Gaussian):

.. math::
   :label: component

   \mathbb E[x_0|x_t] = \mu + \frac{\alpha\lambda}{\alpha^2\lambda + \sigma^2} r, \qquad
   \nabla\log p_t = -\frac{r}{\alpha^2\lambda + \sigma^2}, \qquad
   \nabla^2\log p_t = -\frac{1}{\alpha^2\lambda + \sigma^2}.

For a mixture with posterior weights :math:`w_k = \operatorname{softmax}_k(\log\pi_k + \log
\mathcal N(x; \alpha\mu_k, \alpha^2 C_k + \sigma^2 I))` (computed by log-sum-exp), with per-component
posterior means :math:`m_k` and scores :math:`s_k`:

.. math::
   D = \sum_k w_k m_k, \qquad s = \sum_k w_k s_k, \qquad
   J = \sum_k w_k J_k + \frac{\alpha^2}{\sigma^4}\sum_k w_k (m_k - D)(m_k - D)^\top,

the last term from :math:`\nabla w_k = w_k (s_k - s)` and :math:`s_k - s = \alpha(m_k - D)/\sigma^2`.
This is second-order Tweedie, :math:`J = -I/\sigma^2 + (\alpha^2/\sigma^4)\operatorname{Cov}[x_0|x_t]`,
rearranged so that nothing cancels catastrophically at small :math:`\sigma`: each :math:`J_k` is
evaluated in closed form and the between-component term is a weighted sum of outer products.

References: Efron, "Tweedie's formula and selection bias" (JASA 2011); conventions.md of this project.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._checks import SpectralTheoryError, array, as_generator, scalar

LOG_2PI = np.log(2 * np.pi)


@dataclass(frozen=True)
class Component:
    r"""One Gaussian :math:`\mathcal N(\mu, c I + U \operatorname{diag}(\ell) U^\top)`.

    ``mean`` (D,), ``basis`` (D, r) with orthonormal columns, ``excess`` (r,) >= 0, ``floor`` c >= 0.
    """

    mean: np.ndarray
    basis: np.ndarray
    excess: np.ndarray
    floor: float

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    @property
    def rank(self) -> int:
        """Number of directions with nonzero variance (D if the floor is positive)."""
        return self.dim if self.floor > 0 else int(np.count_nonzero(self.excess > 0))

    def covariance(self) -> np.ndarray:
        U = self.basis
        return self.floor * np.eye(self.dim) + (U * self.excess) @ U.T  # (D, D)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((n, self.basis.shape[1]))                       # (n, r)
        x = self.mean + (z * np.sqrt(self.excess)) @ self.basis.T               # (n, D)
        if self.floor > 0:
            x += np.sqrt(self.floor) * rng.standard_normal((n, self.dim))
        return x

    # -- posterior quantities of eq. (component), vectorised over a batch ----------------------
    def _spectral(self, sigma, alpha):
        b = alpha**2 * self.floor + sigma**2                  # variance of x_t off the basis
        v = b + alpha**2 * self.excess                        # (r,) variances along the basis
        return b, v

    def posterior(self, x, sigma, alpha):
        """Posterior mean (B, D), score (B, D) and log-density of x_t (B,) at a batch ``x`` (B, D)."""
        b, v = self._spectral(sigma, alpha)
        r = x - alpha * self.mean                              # (B, D)
        p = r @ self.basis                                     # (B, r)
        score = -r / b - (p * (1 / v - 1 / b)) @ self.basis.T  # (B, D): -(alpha^2 C + sigma^2)^{-1} r
        shrink_floor = alpha * self.floor / b
        mean = self.mean + shrink_floor * r + (p * (alpha * (self.floor + self.excess) / v - shrink_floor)) @ self.basis.T
        logdet = self.dim * np.log(b) + np.sum(np.log1p(alpha**2 * self.excess / b))
        logp = -0.5 * (self.dim * LOG_2PI + logdet - np.einsum("bd,bd->b", r, score))
        return mean, score, logp

    def jacobian(self, sigma, alpha) -> np.ndarray:
        r"""Score Jacobian :math:`-(\alpha^2 C + \sigma^2 I)^{-1}` (D, D), the same at every x."""
        b, v = self._spectral(sigma, alpha)
        U = self.basis
        return -np.eye(self.dim) / b - (U * (1 / v - 1 / b)) @ U.T


def as_batch(x, dim: int, name: str = "x"):
    """Validate a point (D,) or batch (B, D); return the (B, D) array and whether input was 1-D."""
    a = array(x, name, ndim=(1, 2))
    if a.shape[-1] != dim:
        raise SpectralTheoryError(f"`{name}` must have last dimension {dim} (the model's ambient dimension); got shape {a.shape}")
    return (a[None, :], True) if a.ndim == 1 else (a, False)


def noise_args(sigma, alpha):
    return scalar(sigma, "sigma", positive=True), scalar(alpha, "alpha", positive=True)


def mixture_posterior(components, log_weights, x, sigma, alpha, want_jacobian=False):
    """Posterior weights, mean, score, log-density (and Jacobian) of a Gaussian mixture at a batch x."""
    stats = [c.posterior(x, sigma, alpha) for c in components]
    means = np.stack([s[0] for s in stats], axis=1)                    # (B, K, D)
    scores = np.stack([s[1] for s in stats], axis=1)                   # (B, K, D)
    logits = np.stack([s[2] for s in stats], axis=1) + log_weights     # (B, K)
    logp = logsumexp(logits, axis=1)                                   # (B,)
    w = np.exp(logits - logp[:, None])                                 # (B, K), rows sum to 1
    mean = np.einsum("bk,bkd->bd", w, means)
    score = np.einsum("bk,bkd->bd", w, scores)
    out = dict(weights=w, mean=mean, score=score, log_density=logp)
    if want_jacobian:
        Jk = np.stack([c.jacobian(sigma, alpha) for c in components])  # (K, D, D)
        dev = (means - mean[:, None, :]) * np.sqrt(w)[..., None]       # (B, K, D)
        out["jacobian"] = (np.einsum("bk,kde->bde", w, Jk)
                           + alpha**2 / sigma**4 * np.einsum("bkd,bke->bde", dev, dev))
    return out


class DataModel:
    """Base of every data model: exact denoiser, score, score Jacobian and log-density of x_t.

    Subclasses implement ``_posterior(x, sigma, alpha, want_jacobian)`` on a validated batch
    (B, D) returning a dict with ``mean``, ``score``, ``log_density`` (and ``jacobian``), plus
    ``sample``, ``mean_vector`` and ``covariance``.  Conventions: ``x_t = alpha x_0 + sigma xi``.
    """

    dim: int

    def _call(self, key, x, sigma, alpha, jac=False):
        xb, single = as_batch(x, self.dim)
        sigma, alpha = noise_args(sigma, alpha)
        out = self._posterior(xb, sigma, alpha, want_jacobian=jac)[key]
        return out[0] if single else out

    def denoise(self, x, sigma, alpha=1.0):
        r"""Posterior mean :math:`\mathbb E[x_0 | x_t = x]` at a point (D,) or batch (B, D)."""
        return self._call("mean", x, sigma, alpha)

    def score(self, x, sigma, alpha=1.0):
        r"""Score :math:`\nabla_x \log p_t(x) = (\alpha D(x) - x)/\sigma^2` (Tweedie)."""
        return self._call("score", x, sigma, alpha)

    def score_jacobian(self, x, sigma, alpha=1.0):
        r"""Score Jacobian :math:`\nabla_x^2 \log p_t(x) = -I/\sigma^2 + (\alpha^2/\sigma^4)
        \operatorname{Cov}[x_0|x_t=x]`, symmetric, shape (D, D) or (B, D, D)."""
        return self._call("jacobian", x, sigma, alpha, jac=True)

    def log_density(self, x, sigma, alpha=1.0):
        r""":math:`\log p_t(x)`, the density of :math:`x_t = \alpha x_0 + \sigma\xi`."""
        return self._call("log_density", x, sigma, alpha)

    def noisy_sample(self, n, sigma, alpha=1.0, rng=None):
        """Pairs (x_0, x_t) with x_t = alpha x_0 + sigma xi: ``n`` forward-noised samples."""
        rng = as_generator(rng)
        sigma, alpha = noise_args(sigma, alpha)
        x0 = self.sample(n, rng=rng)
        return x0, alpha * x0 + sigma * rng.standard_normal(x0.shape)
