r"""The empirical (memorizing) model: the exact score of a finite training set.

For training points :math:`y_1..y_N` the distribution of :math:`x_t = \alpha y + \sigma\xi` is a
mixture of N isotropic Gaussians, so (conventions.md)

.. math:: D(x) = \sum_i w_i y_i, \quad w = \operatorname{softmax}_i\Big(-\frac{|x - \alpha y_i|^2}{2\sigma^2}\Big),
          \quad J = -\frac{I}{\sigma^2} + \frac{\alpha^2}{\sigma^4}\sum_i w_i (y_i - D)(y_i - D)^\top.

The weights are computed with log-sum-exp: at small sigma they become one-hot and stay exact.  The
squared distances come from one matrix product (BLAS); where their rounding error, divided by
:math:`2\sigma^2`, could change the weights (small sigma) they are recomputed exactly for the points
that can carry weight.  Batches are processed in chunks so the working set is O(chunk x N), never
O(batch x N x D): N = 50,000 points in D = 3,072 fit comfortably in 24 GB.
"""
from __future__ import annotations

import numpy as np

from functools import cached_property

from ..checks import SpectralTheoryError, array, as_generator, sample_count
from ..collapse import EMPIRICAL_MARGIN, collapse_tau
from ..parameters import check
from ..rmt import AtomicLaw
from ._base import LOG_2PI, PosteriorModel, as_batch, atomic_covariance_law, jvp_blocks, noise_args

# Posterior weights below this (relative to the largest, which is 1 after normalisation by the max)
# carry less than N * 1e-20 of the mass: below float64 resolution for any N < 1e4 * 1/eps.
_NEGLIGIBLE_LOGIT = np.log(1e-20)
# Logit accuracy we guarantee: weights are exact to this relative precision (far below any Monte Carlo
# error); the expanded-square distances are recomputed exactly only where their rounding exceeds it.
_LOGIT_ATOL = 1e-10
# Working-set budget for one chunk of the (chunk, N) distance matrix, in float64 entries.
_CHUNK_ENTRIES = 2**24


class Empirical(PosteriorModel):
    r"""The training set's own distribution :math:`\frac1N\sum_i\delta_{y_i}`: the memorizing score.

    Parameters
    ----------
    points : (N, D) training set.
    """

    def __init__(self, points):
        Y = array(points, "points", ndim=2)
        self.points = np.ascontiguousarray(Y)
        self.n_points = Y.shape[0]
        self._sq_norms = np.einsum("nd,nd->n", Y, Y)           # (N,)
        self._scale = float(np.max(self._sq_norms))

    @classmethod
    def _examples(cls, rng):
        """A small instance for the generic model tests (``tests/test_models.py``)."""
        return {"empirical": cls(rng.standard_normal((40, 5)))}

    @property
    def dim(self) -> int:
        """Ambient dimension D (the training points' length)."""
        return self.points.shape[1]

    @property
    def mean_vector(self) -> np.ndarray:
        """Mean of the training points (D,)."""
        return self.points.mean(axis=0)

    @cached_property
    def covariance_eigenvalues(self) -> np.ndarray:
        """Nonzero eigenvalues of the 1/N training covariance, decreasing (one thin SVD of the centred
        points, cached; values below the rounding level ``max(N, D) eps max`` are zeros)."""
        s = np.linalg.svd(self.points - self.mean_vector, compute_uv=False)
        lam = s ** 2 / self.n_points
        return lam[lam > max(self.points.shape) * np.finfo(float).eps * max(lam.max(initial=0.0), 1e-300)]

    @property
    def collapse_parameters(self):
        """(P, d, v) for :func:`~spectral_theory.collapse_tau`: P points, d the rank of the centred
        training set (the intrinsic dimension for data on a linear manifold, at most P - 1), v its mean
        nonzero covariance eigenvalue."""
        lam = self.covariance_eigenvalues
        if lam.size == 0:
            raise SpectralTheoryError("the training set has no spread (all points equal)")
        return self.n_points, int(lam.size), float(lam.mean())

    def collapse_tau(self) -> float:
        """The collapse estimate :math:`\tau_C` of this training set (``collapse_tau(*collapse_parameters)``)."""
        return collapse_tau(*self.collapse_parameters)

    def covariance_law(self, n_samples=None, component=None):
        """The training covariance's eigenvalues as atoms (weight 1/D each, the rank deficit at 0).
        ``n_samples`` does not apply (the model *is* the samples), nor ``component``."""
        if n_samples is not None:
            raise SpectralTheoryError("`n_samples` does not apply to an Empirical model (it *is* the samples)")
        if component is not None:
            raise SpectralTheoryError("`component` applies to mixtures only, not to an Empirical model")
        lam = self.covariance_eigenvalues
        return atomic_covariance_law(lam, np.ones(lam.size), self.dim)

    def jacobian_spectrum(self, tau, n_samples=None, component=None):
        r"""Law of :math:`\tau J` where the theory gives one: for :math:`\tau \ge 10\,\tau_C` the
        Gaussian picture (the training covariance: first order in :math:`1/\tau` exactly; down to the
        collapse time for data on a linear manifold, Biroli et al. 2402.18491), for
        :math:`\tau \le \tau_C/10` the collapsed law (the posterior sits on one training point: all
        mass at -1); in between a ``SpectralTheoryError`` (no theory).  The margin is
        ``EMPIRICAL_MARGIN``."""
        if n_samples is not None:
            raise SpectralTheoryError("`n_samples` does not apply to an Empirical model (it *is* the samples)")
        tau = check("tau", tau, scalar_only=True)
        n, d, v = self.collapse_parameters
        tc = collapse_tau(n, d, v)
        if tau <= tc / EMPIRICAL_MARGIN:
            return AtomicLaw([-1.0], [1.0])
        if tau < EMPIRICAL_MARGIN * tc:
            raise SpectralTheoryError(
                f"Empirical score at `tau`={tau:g}: inside the crossover around the collapse estimate "
                f"tau_C={tc:.4g} (N={n}, d={d}, v={v:.4g}), between tau_C/{EMPIRICAL_MARGIN:g} and "
                f"{EMPIRICAL_MARGIN:g} tau_C the theory gives no spectral law (the posterior over "
                "training points is neither spread nor collapsed); measure it with "
                "model.score_jacobian instead")
        return super().jacobian_spectrum(tau, n_samples, component)

    def covariance(self) -> np.ndarray:
        """The 1/N covariance of the training set (D, D)."""
        Yc = self.points - self.mean_vector
        return Yc.T @ Yc / self.n_points

    def sample(self, n, rng=None) -> np.ndarray:
        """``n`` draws (with replacement) from the training set."""
        idx = as_generator(rng).integers(0, self.n_points, size=sample_count(n, "n", self.dim + 1))
        return self.points[idx]                      # fancy indexing copies

    # -- posterior -------------------------------------------------------------------------------
    def _logits(self, x, sigma, alpha):
        """-|x - alpha y_i|^2 / (2 sigma^2) for a chunk x (b, D): (b, N), exact where it matters."""
        Y = self.points
        x_sq = np.einsum("bd,bd->b", x, x)
        d2 = x_sq[:, None] - 2 * alpha * (x @ Y.T) + alpha**2 * self._sq_norms   # (b, N)
        np.maximum(d2, 0.0, out=d2)
        logits = d2 / (-2 * sigma**2)
        # rounding error of the expanded square, in logit units
        err = 8 * np.finfo(float).eps * (x_sq.max() + alpha**2 * self._scale) / (2 * sigma**2)
        if err > _LOGIT_ATOL:
            top = logits.max(axis=1, keepdims=True)
            rows, cols = np.nonzero(logits >= top + _NEGLIGIBLE_LOGIT - 2 * err)
            for start in range(0, rows.size, _CHUNK_ENTRIES // self.dim):     # bounded temporaries
                r, c = rows[start:start + _CHUNK_ENTRIES // self.dim], cols[start:start + _CHUNK_ENTRIES // self.dim]
                diff = x[r] - alpha * Y[c]                                        # (pairs, D)
                logits[r, c] = np.einsum("pd,pd->p", diff, diff) / (-2 * sigma**2)
        return logits

    def _chunk(self, x, sigma, alpha, want_jacobian):
        logits = self._logits(x, sigma, alpha)                  # (b, N)
        top = logits.max(axis=1, keepdims=True)
        w = np.exp(logits - top)
        total = w.sum(axis=1, keepdims=True)
        w /= total
        logp = (top[:, 0] + np.log(total[:, 0]) - np.log(self.n_points)
                - 0.5 * self.dim * (LOG_2PI + 2 * np.log(sigma)))
        mean = w @ self.points                                  # (b, D)
        out = dict(weights=w, mean=mean, score=(alpha * mean - x) / sigma**2, log_density=logp)
        if want_jacobian:
            J = np.empty((x.shape[0], self.dim, self.dim))
            keep = logits - top >= _NEGLIGIBLE_LOGIT
            rows = max(1, _CHUNK_ENTRIES // self.dim)
            for b in range(x.shape[0]):   # one BLAS-3 product of O(N_kept D^2) per point: why a loop is fine
                idx = np.flatnonzero(keep[b])
                cov = np.zeros((self.dim, self.dim))
                for i in range(0, idx.size, rows):                                # bounded (rows, D) temporaries
                    sub = idx[i:i + rows]
                    A = np.sqrt(w[b, sub])[:, None] * (self.points[sub] - mean[b])  # (rows, D)
                    cov += A.T @ A
                J[b] = (alpha**2 / sigma**4) * cov
                J[b].flat[:: self.dim + 1] -= 1.0 / sigma**2
            out["jacobian"] = J
        return out

    def _posterior(self, x, sigma, alpha, want_jacobian=False):
        step = max(1, _CHUNK_ENTRIES // max(self.n_points, 1))
        if want_jacobian:
            step = max(1, min(step, _CHUNK_ENTRIES // self.dim**2))
        parts = [self._chunk(x[i:i + step], sigma, alpha, want_jacobian) for i in range(0, x.shape[0], step)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def score_jvp(self, x, v, sigma, alpha=1.0):
        r""":math:`Jv = -v/\sigma^2 + (\alpha^2/\sigma^4)\sum_i w_i (y_i - D)[(y_i - D)\cdot v]` in
        O(N D) per vector: the posterior weights once per point, then two products with the points."""
        xb, V, shape = jvp_blocks(x, v, self.dim)
        sigma, alpha = noise_args(sigma, alpha)
        out = np.empty_like(V)
        step = max(1, _CHUNK_ENTRIES // max(self.n_points * V.shape[1], 1))
        for i in range(0, xb.shape[0], step):         # chunks bound the (b, k, N) working set
            post = self._posterior(xb[i:i + step], sigma, alpha)
            w, mean, Vc = post["weights"], post["mean"], V[i:i + step]                # (b, N), (b, D), (b, k, D)
            coef = (Vc @ self.points.T - np.einsum("bkd,bd->bk", Vc, mean)[..., None]) * w[:, None, :]  # (b, k, N)
            cov_v = coef @ self.points - coef.sum(axis=-1)[..., None] * mean[:, None, :]             # Cov_w v
            out[i:i + step] = -Vc / sigma**2 + (alpha**2 / sigma**4) * cov_v
        return shape(out)

    def posterior_weights(self, x, sigma, alpha=1.0):
        """Posterior weights over training points, (N,) or (B, N)."""
        return self._call("weights", x, sigma, alpha)

    def nearest(self, x):
        """Index of the nearest training point of each row of ``x`` (a memorization diagnostic)."""
        xb, single = as_batch(x, self.dim)
        idx = np.concatenate([self._logits(xb[i:i + 256], 1.0, 1.0).argmax(axis=1) for i in range(0, xb.shape[0], 256)])
        return int(idx[0]) if single else idx


__all__ = ["Empirical"]
