r"""Linear distillation of a denoiser and the Wiener filter it should converge to.

**Theorem** (linear denoising score matching; Li, Dai, Qu, arXiv 2410.24060).  For any data with finite
mean :math:`\mu` and covariance :math:`\Sigma`, and :math:`x = \alpha x_0 + \sigma\xi`, the affine map
:math:`D(x) = Wx + b` minimising :math:`\mathbb E|D(x) - x_0|^2` is the Wiener filter

.. math:: W^* = \alpha\Sigma(\alpha^2\Sigma + \sigma^2 I)^{-1}, \qquad b^* = \mu - \alpha W^*\mu
          \quad(\alpha = 1:\ b^* = (I - W^*)\mu).

Proof sketch: the normal equations of the affine least-squares problem are
:math:`W\,\mathrm{Cov}(x) = \mathrm{Cov}(x_0, x)`, :math:`b = \mathbb E x_0 - W\mathbb E x`, with
:math:`\mathrm{Cov}(x) = \alpha^2\Sigma + \sigma^2 I` and :math:`\mathrm{Cov}(x_0, x) = \alpha\Sigma`.  Since
:math:`\mathbb E[x_0|x] = D^\star(x)` (the exact denoiser) has :math:`\mathrm{Cov}(D^\star(x), x) =
\mathrm{Cov}(x_0, x)`, the affine least-squares fit *of the exact denoiser* has the same population
solution: distilling the exact denoiser of any data gives the Wiener filter of that data's first two
moments.

:func:`distill_linear` fits :math:`(W, b)` to any denoiser from ``n_fit`` noisy inputs by ordinary least
squares.  The centred normal equations :math:`S_{xx} W^\top = S_{xy}` are accumulated batch by batch
(pairwise merging of centred cross-products, Chan, Golub, LeVeque 1979, so nothing of size n_fit x D
is held and no catastrophic cancellation of raw second moments occurs) and solved by a Cholesky
factorisation (:math:`S_{xx} \succeq` roughly :math:`n\sigma^2 I` is positive definite; condition number
about :math:`(\lambda_{\max} + \sigma^2)/\sigma^2`), never by an explicit inverse.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from .checks import SpectralTheoryError, allocation, array, as_generator, integer, scalar
from .models import Gaussian
from .models._base import noise_args

__all__ = ["LinearFit", "distill_linear", "wiener_filter", "DistillationRate", "distillation_rate", "gaussian_sample_from_noise", "gaussian_flow_denoiser",
           "gaussian_denoiser_mse"]

# rows of noisy inputs per denoiser call / accumulation batch (bounded working set)
_BATCH = 4096


@dataclass(frozen=True)
class LinearFit:
    r"""Affine fit :math:`D(x) \approx W x + b` of a denoiser at noise ``sigma``.

    Unpacks as ``W, b = fit``.  Diagnostics: ``n_fit`` inputs, ``residual_mse`` (mean squared residual
    per sample, summed over coordinates: the denoiser's nonlinearity plus the fit's own error),
    ``condition_lower_bound`` (ratio of the largest to the smallest squared Cholesky pivot of the input
    covariance: pivots are Schur complements, which lie in [lambda_min, lambda_max], so this is a cheap
    lower bound on its 2-norm condition number).
    """

    W: np.ndarray
    b: np.ndarray
    sigma: float
    alpha: float
    n_fit: int
    residual_mse: float
    condition_lower_bound: float

    def __iter__(self):
        return iter((self.W, self.b))

    def __call__(self, x, sigma=None, alpha=None):
        """Apply the fitted map (denoiser signature; ``sigma``/``alpha`` are ignored: it is one level)."""
        return np.asarray(x, dtype=np.float64) @ self.W.T + self.b


def wiener_filter(mean, cov, sigma, alpha=1.0):
    r"""Wiener filter :math:`W^* = \alpha\Sigma(\alpha^2\Sigma + \sigma^2 I)^{-1}`,
    :math:`b^* = \mu - \alpha W^*\mu` (the affine MSE-optimal denoiser; module docstring).

    Computed in the eigenbasis of :math:`\Sigma` (symmetric, exact for rank-deficient :math:`\Sigma`):
    :math:`W^* = U\operatorname{diag}(\alpha\lambda/(\alpha^2\lambda + \sigma^2))U^\top`.

    Returns ``(W, b)``: (D, D) and (D,).
    """
    mu = array(mean, "mean", ndim=1)
    C = array(cov, "cov", shape=(mu.size, mu.size))
    s, a = noise_args(sigma, alpha)
    lam, U = np.linalg.eigh(0.5 * (C + C.T))
    if lam.min() < -1e-8 * max(abs(lam).max(), 1e-300):
        raise SpectralTheoryError(f"`cov` must be positive semi-definite; smallest eigenvalue {lam.min()}")
    lam = np.clip(lam, 0.0, None)
    W = (U * (a * lam / (a**2 * lam + s**2))) @ U.T
    return W, mu - a * (W @ mu)


def _clean_source(model_or_data, dim_hint=None):
    """(sampler(n, rng) -> (n, D), D) from a model with ``sample`` or an (N, D) data array."""
    if hasattr(model_or_data, "sample") and hasattr(model_or_data, "dim"):
        return (lambda n, rng: model_or_data.sample(n, rng=rng)), int(model_or_data.dim)
    Y = array(model_or_data, "model_or_data", ndim=2)
    if Y.shape[0] < 2:
        raise SpectralTheoryError(f"`model_or_data` needs at least 2 data points; got {Y.shape[0]}")
    return (lambda n, rng: Y[rng.integers(0, Y.shape[0], n)]), Y.shape[1]


def distill_linear(denoiser, sigma, n_fit, model_or_data, rng=None, alpha=1.0, batch=_BATCH) -> LinearFit:
    r"""Least-squares affine fit of ``denoiser`` at noise ``sigma`` from ``n_fit`` noisy inputs.

    Inputs :math:`x = \alpha x_0 + \sigma\xi` with :math:`x_0` drawn from ``model_or_data`` (a model:
    fresh samples; an (N, D) array: rows drawn with replacement); targets :math:`D(x)`.  Solves
    :math:`\min_{W,b}\sum_i |D(x_i) - W x_i - b|^2` through the centred normal equations with a Cholesky
    solve (module docstring).  For the exact denoiser of the data the population solution is the Wiener
    filter :func:`wiener_filter` of the data's mean and covariance.

    Parameters
    ----------
    denoiser : a model (its ``denoise``) or a callable ``denoise(x, sigma, alpha) -> (B, D)``.
    sigma : noise level > 0.
    n_fit : number of noisy inputs, > D (the fit has D + 1 parameters per output coordinate).
    model_or_data : data model (``sample``, ``dim``) or (N, D) training set.
    rng : Generator or seed.
    alpha : signal scale of the inputs (1 for VE/EDM).
    batch : inputs per denoiser call.

    Returns
    -------
    LinearFit (unpacks as ``W, b``).
    """
    f = getattr(denoiser, "denoise", denoiser)
    if not callable(f):
        raise SpectralTheoryError("`denoiser` must be a model with .denoise or a callable denoise(x, sigma, alpha)")
    s, a = noise_args(sigma, alpha)                  # the models' stated range: x = a x0 + s xi stays finite
    draw, D = _clean_source(model_or_data)
    n = integer(n_fit, "n_fit", minimum=D + 2)
    bsz = integer(batch, "batch", minimum=1)
    # per input of a batch: the draw, the noise, x, y and their centred copies (the denoiser's own aside)
    allocation(8 * 8 * min(bsz, n) * D, "batch", bsz, f"batches of {min(bsz, n)} inputs of dimension {D}")
    rng = as_generator(rng)

    count, mx, my = 0, np.zeros(D), np.zeros(D)
    Sxx, Sxy, Syy = np.zeros((D, D)), np.zeros((D, D)), 0.0
    for start in range(0, n, bsz):
        m = min(bsz, n - start)
        x = a * draw(m, rng) + s * rng.standard_normal((m, D))
        y = np.asarray(f(x, s, a), dtype=np.float64)
        if y.shape != x.shape:
            raise SpectralTheoryError(f"`denoiser` must return shape {x.shape}; got {y.shape}")
        if not np.all(np.isfinite(y)):
            raise SpectralTheoryError("`denoiser` returned NaN or inf")
        bx, by = x.mean(axis=0), y.mean(axis=0)
        xc, yc = x - bx, y - by
        # merge the batch's centred cross-products into the running ones (Chan-Golub-LeVeque)
        dx, dy, w = bx - mx, by - my, count * m / (count + m)
        Sxx += xc.T @ xc + w * np.outer(dx, dx)
        Sxy += xc.T @ yc + w * np.outer(dx, dy)
        Syy += float(np.einsum("bd,bd->", yc, yc)) + w * float(dy @ dy)
        mx += dx * m / (count + m)
        my += dy * m / (count + m)
        count += m
    try:
        factor = cho_factor(Sxx, lower=True, check_finite=False)
    except LinAlgError as e:
        raise SpectralTheoryError("the input covariance is not positive definite (n_fit too small or "
                                  "sigma too small for float64)") from e
    Wt = cho_solve(factor, Sxy, check_finite=False)                      # (D, D): W^T
    W = Wt.T
    b = my - W @ mx
    rss = max(Syy - float(np.sum(Sxy * Wt)), 0.0)                         # |Y - X W^T|^2 after centring
    diag = np.diag(factor[0]) ** 2
    return LinearFit(W, b, s, a, n, rss / n, float(diag.max() / diag.min()))


@dataclass(frozen=True)
class DistillationRate:
    r"""Leading-order estimation error of the distilled weights:
    :math:`\mathbb E|\hat W - W^*|_F^2 \simeq` ``constant`` / n_fit (``stderr``: Monte Carlo error of the
    constant from ``n_mc`` inputs)."""

    constant: float
    stderr: float
    n_mc: int

    def expected_squared_error(self, n_fit):
        return self.constant / np.asarray(n_fit, dtype=np.float64)


def distillation_rate(model, sigma, n_mc=100_000, rng=None, alpha=1.0, batch=_BATCH) -> DistillationRate:
    r"""Rate at which :func:`distill_linear` of a model's **exact** denoiser approaches the Wiener filter.

    Write :math:`\tilde x = x - \mathbb E x`, :math:`A = \mathrm{Cov}(x) = \alpha^2\Sigma + \sigma^2 I`
    and :math:`e = D^\star(x) - W^*x - b^*` (the denoiser's nonlinear part: :math:`\mathbb E e = 0`,
    :math:`\mathbb E e\tilde x^\top = 0` by the theorem).  Ordinary least squares gives
    :math:`\hat W - W^* = (\sum_i e_i\tilde x_i^\top)(\sum_i \tilde x_i\tilde x_i^\top)^{-1}`
    :math:`\simeq \frac1n\sum_i e_i (A^{-1}\tilde x_i)^\top`, a mean of n independent zero-mean
    matrices, so (the heteroscedastic "sandwich" variance, White 1980)

    .. math:: \mathbb E|\hat W - W^*|_F^2 = \frac{c}{n} + O\Big(\frac{c\,D}{n^2}\Big), \qquad
              c = \mathbb E\big[|e|^2\, |A^{-1}\tilde x|^2\big],

    the relative correction :math:`O(D/n)` coming from replacing the sample covariance of the inputs
    by A (for Gaussian inputs exactly :math:`(D+1)/(n-D-2)`).  The error shrinks as
    :math:`n^{-1/2}`, and c = 0 exactly when the denoiser is affine (Gaussian data).  ``c`` is estimated
    here by Monte Carlo over ``n_mc`` fresh noisy inputs with the model's exact mean and covariance.
    """
    s = scalar(sigma, "sigma", positive=True)
    a = scalar(alpha, "alpha", positive=True)
    n = integer(n_mc, "n_mc", minimum=2)
    if not (hasattr(model, "denoise") and hasattr(model, "sample") and hasattr(model, "covariance")):
        raise SpectralTheoryError("`model` must be a data model (denoise, sample, covariance)")
    batch = integer(batch, "batch", minimum=1)
    allocation(8 * 8 * min(batch, n) * model.dim, "batch", batch,
               f"batches of {min(batch, n)} inputs of dimension {model.dim}")
    allocation(16 * n, "n_mc", n, f"{n} per-input values (and their concatenation)")
    rng = as_generator(rng)
    mu, C = model.mean_vector, model.covariance()
    W, b = wiener_filter(mu, C, s, a)
    lam, U = np.linalg.eigh(a**2 * C + s**2 * np.eye(model.dim))       # A = Cov(x)
    vals = []
    for start in range(0, n, batch):
        m = min(batch, n - start)
        x = a * model.sample(m, rng=rng) + s * rng.standard_normal((m, model.dim))
        e = model.denoise(x, s, a) - x @ W.T - b
        Ainv_x = (((x - a * mu) @ U) / lam) @ U.T
        vals.append(np.einsum("bd,bd->b", e, e) * np.einsum("bd,bd->b", Ainv_x, Ainv_x))
    v = np.concatenate(vals)
    return DistillationRate(float(v.mean()), float(v.std(ddof=1) / np.sqrt(n)), n)


# ---- closed-form companions of the Gaussian model (VE, alpha = 1; theory/gaussian.md) ----------
def _gaussian(model):
    if not isinstance(model, Gaussian):
        raise SpectralTheoryError(f"`model` must be a spectral_theory.Gaussian; got {type(model).__name__}")
    return model


def gaussian_sample_from_noise(model, x_T, sigma_T):
    r"""Exact samples of a Gaussian model from noise, without an ODE solver: the closed-form
    probability flow :meth:`Gaussian.flow` run to :math:`\sigma_t = 0`,

    .. math:: x_0 = \mu + \sum_i \sqrt{\lambda_i/(\sigma_T^2 + \lambda_i)}\, u_i u_i^\top (x_T - \mu).

    With :math:`x_T \sim \mathcal N(\mu, C + \sigma_T^2 I)` the output is distributed exactly as
    :math:`\mathcal N(\mu, C)` (each eigencoordinate is rescaled from variance :math:`\lambda_i + \sigma_T^2`
    to :math:`\lambda_i`; the directions off the support are sent to zero).  Reference: Wang & Vastola,
    arXiv 2311.10892.
    """
    return _gaussian(model).flow(x_T, sigma_T, 0.0)


def gaussian_flow_denoiser(model, x_T, sigma_T, sigma_t):
    r"""Denoiser output :math:`D(x(\sigma_t); \sigma_t)` along the closed-form trajectory started at
    ``x_T`` at ``sigma_T``: :meth:`Gaussian.flow_denoiser` (theory/gaussian.md)."""
    return _gaussian(model).flow_denoiser(x_T, sigma_T, sigma_t)


def gaussian_denoiser_mse(model, sigma):
    r"""Mean squared error of a Gaussian model's exact denoiser on its own data (VE),
    :math:`\sum_i \sigma^2\lambda_i/(\lambda_i + \sigma^2)`: :meth:`Gaussian.denoiser_mse`."""
    return _gaussian(model).denoiser_mse(sigma)
