r"""The low-rank denoiser of a mixture of low-rank Gaussians and its denoising loss.

.. math::  \mathcal L(U) = \frac1N\sum_i \mathbb E_\xi\, |x_\theta(\alpha x_i + \sigma\xi) - x_i|^2

(Monte Carlo :func:`denoising_loss`; exact for K = 1, :func:`pca_loss`; sample average over fixed
whitened antithetic draws and its gradient, :func:`loss_and_gradient`). See :mod:`spectral_theory.molrg`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import SpectralTheoryError, allocation, array, as_generator, integer
from ..models._base import noise_args
from ..models import MoLRG
from ._inputs import _bases, _data, _noise_levels


@dataclass(frozen=True)
class LossEstimate:
    """Monte-Carlo denoising loss: ``value`` +- ``stderr`` (over independent noise draws), and the
    value at each noise level in ``per_level``."""

    value: float
    stderr: float
    per_level: np.ndarray



def low_rank_denoiser(bases, weights=None) -> MoLRG:
    """The low-rank denoiser :eq:`lowrank` with bases ``U_k`` (orthonormal columns): a
    :class:`MoLRG` whose ``denoise(x, sigma, alpha)`` is :math:`x_\\theta`."""
    return MoLRG.from_bases(bases, weights=weights)


def _antithetic_draws(n_noise, N, n) -> int:
    """M of :func:`whitened_antithetic_noise`: n_noise rounded up to even, and at least 2 ceil(n/N) (enough
    draws for the whitening's (n, n) second moment to be invertible)."""
    return 2 * max((n_noise + 1) // 2, -(-n // N))


def whitened_antithetic_noise(n_noise, N, n, rng=None):
    """Noise draws for a sample-average training loss: (M, N, n) standard normals,
    M = max(n_noise rounded up to even, 2 ceil(n/N)), antithetic in the first axis (xi and -xi) and
    whitened so that the average of xi xi^T over all draws is exactly I;
    the sample average of any function linear + quadratic in xi then equals its expectation."""
    n_noise = integer(n_noise, "n_noise", minimum=1)
    N, n = integer(N, "N", minimum=1), integer(n, "n", minimum=1)
    m = _antithetic_draws(n_noise, N, n) // 2
    # half the draws, the whitening's product and result, then the output (2 halves); the (n, n) second
    # moment, its eigenvectors and their scaling.  The error names the argument behind the largest axis.
    name, value, _ = max((("n_noise", n_noise, 2 * m), ("N", N, N), ("n", n, n)), key=lambda a: a[2])
    allocation(8 * (4 * m * N * n + 3 * n * n), name, value, f"({2 * m}, {N}, {n}) noise draws")
    rng = as_generator(rng)
    half = rng.standard_normal((m, N, n))
    flat = half.reshape(-1, n)
    if flat.shape[0] >= n:
        second = flat.T @ flat / flat.shape[0]                        # (n, n)
        evals, evecs = np.linalg.eigh(second)
        flat = flat @ (evecs / np.sqrt(evals)) @ evecs.T              # second moment -> identity
        half = flat.reshape(half.shape)
    return np.concatenate([half, -half])


def denoising_loss(bases, X, schedule=None, times=None, *, weights=None, n_noise=16, rng=None) -> LossEstimate:
    """Monte-Carlo estimate of the denoising loss :eq:`loss` with fresh (plain i.i.d.) noise.

    Parameters
    ----------
    bases : sequence of (n, d_k) orthonormal bases.
    X : (N, n) training set (the x_0's).
    schedule, times : noise levels (alpha, sigma) = schedule at ``times`` (default: EDM at noise
        levels 10, 3, 1, 0.3, 0.1, 0.03 times the data's per-direction scale); the loss is averaged
        over them.
    weights : mixing weights pi_k (default uniform).
    n_noise : independent noise draws per training point and level (>= 2 for a standard error).

    Returns
    -------
    LossEstimate
        Mean over points, draws and levels; stderr over the independent draws.
    """
    X = _data(X)
    bs = _bases(bases, dim=X.shape[1])
    n_noise = integer(n_noise, "n_noise", minimum=2)
    rng = as_generator(rng)
    # per noisy input (n_noise N of them, n coordinates each): the noise, x_t, the error and the tiled X, and
    # the mixture posterior's per-component means and scores (listed, then stacked) and temporaries
    allocation(8 * n_noise * X.size * (4 * len(bs) + 10), "n_noise", n_noise,
               f"{n_noise} x {X.shape[0]} noisy inputs of {X.shape[1]} coordinates ({len(bs)} components)")
    model = low_rank_denoiser(bs, weights)
    levels = _noise_levels(schedule, times, X, [U.shape[1] for U in bs])
    per_draw = np.empty((len(levels), n_noise))
    for j, (sigma, alpha) in enumerate(levels):
        xi = rng.standard_normal((n_noise,) + X.shape)                       # (M, N, n)
        xt = (alpha * X + sigma * xi).reshape(-1, X.shape[1])                # (M N, n)
        err = model.denoise(xt, sigma, alpha) - np.tile(X, (n_noise, 1))     # (M N, n)
        per_draw[j] = np.sum(err**2, axis=1).reshape(n_noise, -1).mean(axis=1)
    draws = per_draw.mean(axis=0)                                            # (M,) iid
    return LossEstimate(float(draws.mean()), float(draws.std(ddof=1) / np.sqrt(n_noise)), per_draw.mean(axis=1))


def pca_loss(basis, X, sigma, alpha=1.0) -> float:
    r"""Exact expected denoising loss of the K = 1 low-rank denoiser (expectation over the noise):

    .. math:: \overline{|x|^2} - (2c\alpha - c^2\alpha^2)\,\overline{|U^\top x|^2} + c^2\sigma^2 d,
              \qquad c = \alpha/(\alpha^2 + \sigma^2).

    Since :math:`2c\alpha - c^2\alpha^2 > 0`, minimising it over U is PCA at every noise level.
    """
    X = _data(X)
    U = _bases([basis], "basis", dim=X.shape[1])[0]
    sigma, alpha = noise_args(sigma, alpha)
    c = alpha / (alpha**2 + sigma**2)
    captured = np.mean(np.sum((X @ U) ** 2, axis=1))
    return float(np.mean(np.sum(X**2, axis=1)) - (2 * c * alpha - (c * alpha) ** 2) * captured
                 + c**2 * sigma**2 * U.shape[1])


def loss_and_gradient(bases, X, xi, sigma, alpha=1.0, weights=None):
    r"""Sample-average denoising loss over fixed noise draws and its Euclidean gradient in each U_k.

    With :math:`x = \alpha x_0 + \sigma\xi`, :math:`y_k = U_k^\top x`, :math:`r = x_\theta(x) - x_0`,
    :math:`g_k = r^\top U_k y_k`, :math:`\bar g = \sum_j w_j g_j` (differentiating :eq:`lowrank`, with
    :math:`\partial w_k = w_k(\partial a_k - \sum_j w_j\partial a_j)`, :math:`\partial a_k/\partial U_k
    = 2\phi\, x y_k^\top`):

    .. math:: \nabla_{U_k} |r|^2 = 2 c\, w_k \big[r y_k^\top + x (U_k^\top r)^\top
              + 2\phi (g_k - \bar g)\, x y_k^\top\big].

    ``xi`` is (M, N, n); returns (loss, [grad_k (n, d_k)]).
    """
    model = low_rank_denoiser(bases, weights)
    X = _data(X)
    N, n = X.shape
    xi = array(xi, "xi", ndim=(2, 3))
    if xi.shape[-2:] != (N, n):
        raise SpectralTheoryError(f"`xi` must have shape (M, {N}, {n}) or ({N}, {n}) (noise draws of `X`); got {xi.shape}")
    sigma, alpha = noise_args(sigma, alpha)
    x0 = np.broadcast_to(X, xi.shape).reshape(-1, n)                  # (M N, n)
    x = alpha * x0 + sigma * xi.reshape(-1, n)                       # (M N, n)
    c = alpha / (alpha**2 + sigma**2)
    phi = alpha**2 / (2 * sigma**2 * (alpha**2 + sigma**2))
    post = model._posterior(x, sigma, alpha)                         # the MoLRG's exact formula
    w = post["weights"]                                              # (B, K)
    r = post["mean"] - x0                                            # (B, n)
    ys = [x @ U for U in model.bases]                                # K x (B, d_k)
    g = np.stack([np.einsum("bd,bd->b", r @ U, y) for U, y in zip(model.bases, ys)], axis=1)  # (B, K)
    gbar = np.sum(w * g, axis=1, keepdims=True)                      # (B, 1)
    B = x.shape[0]
    grads = []
    for k, (U, y) in enumerate(zip(model.bases, ys)):
        a = 2 * c * w[:, k:k + 1] / B                                # (B, 1)
        coef = a * 2 * phi * (g[:, k:k + 1] - gbar)                  # (B, 1)
        grads.append((r * a).T @ y + (x * a).T @ (r @ U) + (x * coef).T @ y)   # (n, d_k)
    return float(np.sum(r**2) / B), grads


__all__ = ["LossEstimate", "low_rank_denoiser", "whitened_antithetic_noise", "denoising_loss",
           "pca_loss", "loss_and_gradient"]
