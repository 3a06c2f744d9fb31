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

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import logsumexp

from ..checks import SpectralTheoryError, allocation, array, as_generator, integer, sample_count, scalar
from ..rmt import AtomicLaw, GeneralizedMarchenkoPastur, SpectralDensity

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

    @property
    def sample_floats(self) -> int:
        """float64 per sample :meth:`sample` holds at its peak: z and its scaled copy (r each), the
        shifted product and the floor's noise (D each)."""
        return 2 * (self.basis.shape[1] + self.dim)

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

    def jvp(self, vectors, sigma, alpha) -> np.ndarray:
        r"""Rows of ``vectors`` (..., D) times the Jacobian, in O(D r) per row (Woodbury form):
        :math:`Jv = -v/b - U[(1/(b + \alpha^2\ell) - 1/b) \odot U^\top v]`, :math:`b = \alpha^2 c + \sigma^2`."""
        b, v = self._spectral(sigma, alpha)
        return -vectors / b - ((vectors @ self.basis) * (1 / v - 1 / b)) @ self.basis.T

    def covariance_atoms(self):
        """Eigenvalues of C with their multiplicities, as (values, counts): the basis directions and,
        when the floor c is positive, the D - r others at c."""
        vals, counts = self.floor + self.excess, np.ones(self.excess.size)
        if self.floor > 0 and self.excess.size < self.dim:
            vals, counts = np.append(vals, self.floor), np.append(counts, self.dim - self.excess.size)
        return vals, counts


def as_batch(x, dim: int, name: str = "x"):
    """Validate a point (D,) or batch (B, D); return the (B, D) array and whether input was 1-D."""
    a = array(x, name, ndim=(1, 2))
    if a.shape[-1] != dim:
        raise SpectralTheoryError(f"`{name}` must have last dimension {dim} (the model's ambient dimension); got shape {a.shape}")
    return (a[None, :], True) if a.ndim == 1 else (a, False)


#: noise levels and signal scales the posterior formulas take: powers up to sigma^4 and alpha^2/sigma^4
#: stay normal float64 numbers inside this range (beyond it they overflow or divide by zero)
NOISE_RANGE = (1e-50, 1e50)


def noise_level(value, name: str, nonnegative=False) -> float:
    """A noise level or signal scale in :data:`NOISE_RANGE` (or 0 with ``nonnegative``); errors name it."""
    v = scalar(value, name, nonnegative=nonnegative, positive=not nonnegative, hi=NOISE_RANGE[1])
    if v != 0 and v < NOISE_RANGE[0]:
        raise SpectralTheoryError(f"`{name}` must be 0 or >= {NOISE_RANGE[0]} (below it sigma^4 underflows "
                                  f"float64); got {v}" if nonnegative else
                                  f"`{name}` must be >= {NOISE_RANGE[0]} (below it sigma^4 underflows float64); "
                                  f"got {v}")
    return v


def noise_args(sigma, alpha):
    return noise_level(sigma, "sigma"), noise_level(alpha, "alpha")


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
    out = dict(weights=w, mean=mean, score=score, log_density=logp, component_means=means)
    if want_jacobian:
        Jk = np.stack([c.jacobian(sigma, alpha) for c in components])  # (K, D, D)
        dev = (means - mean[:, None, :]) * np.sqrt(w)[..., None]       # (B, K, D)
        out["jacobian"] = (np.einsum("bk,kde->bde", w, Jk)
                           + alpha**2 / sigma**4 * np.einsum("bkd,bke->bde", dev, dev))
    return out


def mixture_jvp(components, weights, component_means, mean, vectors, sigma, alpha):
    r"""Mixture Jacobian applied to blocks of vectors without forming it:
    :math:`Jv = \sum_k w_k J_k v + (\alpha^2/\sigma^4) \sum_k w_k (m_k - D)[(m_k - D)\cdot v]`.

    ``weights`` (B, K), ``component_means`` (B, K, D), ``mean`` (B, D), ``vectors`` (B, k, D) -> (B, k, D).
    """
    out = np.zeros_like(vectors)
    for j, c in enumerate(components):                  # loop over components: K is small
        out += weights[:, j, None, None] * c.jvp(vectors, sigma, alpha)
    dev = component_means - mean[:, None, :]                                      # (B, K, D)
    proj = np.einsum("bjd,bkd->bjk", vectors, dev) * weights[:, None, :]          # (B, k, K)
    return out + alpha**2 / sigma**4 * np.einsum("bjk,bkd->bjd", proj, dev)


def jvp_blocks(x, v, dim):
    """Validate the arguments of ``score_jvp``: points as (B, D), vectors as blocks (B, k, D), and a
    function restoring the shape of ``v`` on the result.

    ``x`` (D,) with ``v`` (D,) or (k, D): one point, one vector or a block of k; ``x`` (B, D) with
    ``v`` (B, D): one vector per point.
    """
    xb, single = as_batch(x, dim)
    va = array(v, "v", ndim=(1, 2))
    if va.shape[-1] != dim:
        raise SpectralTheoryError(f"`v` must have last dimension {dim} (the model's ambient dimension); got shape {va.shape}")
    if single:
        return xb, va.reshape(1, -1, dim), lambda out: out.reshape(va.shape)
    if va.shape != xb.shape:
        raise SpectralTheoryError(f"with a batch of points `x` {xb.shape}, `v` must have the same shape (one "
                                  f"vector per point); got {va.shape}")
    return xb, va[:, None, :], lambda out: out[:, 0, :]


def atomic_covariance_law(values, counts, dim) -> AtomicLaw:
    """The D-normalised law of a PSD matrix with eigenvalues ``values`` of multiplicities ``counts``
    (the remaining ``dim - sum(counts)`` eigenvalues are 0)."""
    values, counts = np.asarray(values, dtype=float), np.asarray(counts, dtype=float)
    w = np.append(counts, max(0.0, dim - float(counts.sum()))) / dim
    return AtomicLaw(np.append(values, 0.0), w / w.sum())


def fitted_covariance_law(values, counts, dim, n_samples) -> GeneralizedMarchenkoPastur:
    r"""Law of the covariance of the Gaussian fitted to N samples (1/N, centred) of a Gaussian whose
    covariance has eigenvalues ``values`` with multiplicities ``counts``.

    The centred covariance of N samples equals in law :math:`(N-1)/N` times an uncentred one of N - 1
    samples, so its limit law is the generalised Marchenko-Pastur law with population values
    :math:`(N-1)/N\,\lambda_i` and ratio :math:`D/(N-1)` (Silverstein & Bai 1995).
    """
    N = integer(n_samples, "n_samples", minimum=2)
    values, counts = np.asarray(values, dtype=float), np.asarray(counts, dtype=float)
    pos = values > 0
    t = np.append(values[pos] * (N - 1) / N, 0.0)
    h = np.append(counts[pos] / dim, max(0.0, 1.0 - float(counts[pos].sum()) / dim))
    return GeneralizedMarchenkoPastur(t, h / h.sum(), dim / (N - 1))


class ScoreModel(ABC):
    """What a score-based model supplies: its ambient dimension, denoiser, score and exact
    Jacobian-vector product (a trained network implements this part alone).

    Conventions: ``x_t = alpha x_0 + sigma xi``; the score Jacobian is symmetric, so ``score_jvp`` on a
    block of row vectors V (k, D) is ``V @ J``.  Missing methods fail at construction (``abc``).
    """

    #: True when the score Jacobian is the same at every x (a Gaussian score): callers may evaluate
    #: and diagonalise it once.
    constant_jacobian: bool = False

    @property
    @abstractmethod
    def dim(self) -> int:
        """Ambient dimension D."""

    @abstractmethod
    def denoise(self, x, sigma, alpha=1.0):
        r"""Posterior mean :math:`\mathbb E[x_0 | x_t = x]` at a point (D,) or batch (B, D)."""

    @abstractmethod
    def score(self, x, sigma, alpha=1.0):
        r"""Score :math:`\nabla_x \log p_t(x) = (\alpha D(x) - x)/\sigma^2` (Tweedie)."""

    @abstractmethod
    def score_jvp(self, x, v, sigma, alpha=1.0):
        r"""Exact Jacobian-vector product :math:`J(x) v`, batched over v.

        ``x`` (D,) with ``v`` (D,) or (k, D) (k row vectors: the block ``V @ J``), or ``x`` (B, D) with
        ``v`` (B, D) (one vector per point); the result has the shape of ``v``.
        """

    def score_jacobian(self, x, sigma, alpha=1.0):
        r"""Score Jacobian :math:`\nabla_x^2 \log p_t(x)`, shape (D, D) or (B, D, D).

        Generic route: ``score_jvp`` on the identity block (D products per point); models with a closed
        form override it.
        """
        xb, single = as_batch(x, self.dim)
        allocation(8 * 2 * xb.shape[0] * self.dim**2, "x", f"{xb.shape[0]} points",       # the list and the stack
                   f"their ({self.dim}, {self.dim}) Jacobians")
        eye = np.eye(self.dim)
        J = np.stack([self.score_jvp(xi, eye, sigma, alpha) for xi in xb])   # loop over points only
        return J[0] if single else J


class DataModel(ScoreModel):
    """A score model that is also a distribution: it can be sampled and has a covariance with a known
    spectral law (the hooks the spectral theory reads).

    Besides :class:`ScoreModel`'s methods a data model supplies ``mean_vector``, ``covariance()``,
    ``sample(n, rng=)``, ``log_density`` and ``covariance_law(n_samples=None, component=None)``.
    Optional hooks with defaults: ``covariance_eigenvalues``, ``jacobian_spectrum(tau, ...)``,
    ``collapse_tau()``.
    """

    @property
    @abstractmethod
    def mean_vector(self) -> np.ndarray:
        """Mean of x_0 (D,)."""

    @abstractmethod
    def covariance(self) -> np.ndarray:
        """Covariance of x_0 (D, D)."""

    @abstractmethod
    def sample(self, n, rng=None) -> np.ndarray:
        """``n`` samples of x_0 (n, D)."""

    @abstractmethod
    def log_density(self, x, sigma, alpha=1.0):
        r""":math:`\log p_t(x)`, the density of :math:`x_t = \alpha x_0 + \sigma\xi`."""

    @abstractmethod
    def covariance_law(self, n_samples=None, component=None) -> SpectralDensity:
        r"""Spectral law of the covariance C behind the model's (local) Gaussian score, D-normalised
        (weight 1/D per eigenvalue; zero eigenvalues as an atom at 0).

        ``n_samples`` N: the law of the covariance of the Gaussian fitted to N samples of the model
        instead; ``component``: for mixtures, the component whose neighbourhood is described.
        """

    @cached_property
    def covariance_eigenvalues(self) -> np.ndarray:
        """Nonzero eigenvalues of ``covariance()``, decreasing (generic route: ``eigvalsh``)."""
        lam = np.linalg.eigvalsh(self.covariance())[::-1]
        return lam[lam > self.dim * np.finfo(float).eps * max(float(lam[0]), 1e-300)]

    def jacobian_spectrum(self, tau, n_samples=None, component=None) -> SpectralDensity:
        r"""Spectral law of :math:`\tau J` at VE noise variance :math:`\tau`: the pushforward of
        :meth:`covariance_law` by :math:`\lambda \mapsto -\tau/(\lambda+\tau)` (exact for a Gaussian
        score, :math:`J = -(C + \tau I)^{-1}`); models whose score is Gaussian only in a regime
        override it."""
        return self.covariance_law(n_samples, component).jacobian_pushforward(tau)

    def collapse_tau(self):
        """Noise variance below which the score memorises a training set; None for a model that is
        not one (only :class:`~spectral_theory.models.Empirical` collapses)."""
        return None

    def noisy_sample(self, n, sigma, alpha=1.0, rng=None):
        """Pairs (x_0, x_t) with x_t = alpha x_0 + sigma xi: ``n`` forward-noised samples (sigma >= 0)."""
        rng = as_generator(rng)
        sigma = noise_level(sigma, "sigma", nonnegative=True)
        alpha = noise_level(alpha, "alpha")
        n = sample_count(n, "n", 4 * self.dim)          # x0, the noise, its scaling and x_t (sample checks its own)
        x0 = np.asarray(self.sample(n, rng=rng), dtype=np.float64)
        return x0, alpha * x0 + sigma * rng.standard_normal(x0.shape)


class PosteriorModel(DataModel):
    """A data model whose posterior quantities come from one routine, ``_posterior(x, sigma, alpha,
    want_jacobian)`` on a validated batch (B, D), returning a dict with ``mean``, ``score``,
    ``log_density`` (and ``jacobian``); denoiser, score, dense Jacobian and log-density read it."""

    @abstractmethod
    def _posterior(self, x, sigma, alpha, want_jacobian=False) -> dict:
        """Posterior quantities at a batch (B, D)."""

    def _call(self, key, x, sigma, alpha, jac=False):
        xb, single = as_batch(x, self.dim)
        sigma, alpha = noise_args(sigma, alpha)
        if jac:       # the (B, D, D) result, its two terms (or chunks) and the components' (D, D) Jacobians
            B, K = xb.shape[0], len(getattr(self, "components", ())) or 1
            allocation(8 * (3 * B + K) * self.dim**2, "x", f"{B} points",
                       f"their ({self.dim}, {self.dim}) Jacobians")
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
