"""Riemannian gradient descent on the product of Stiefel manifolds for the denoising loss.

Projected gradient, QR retraction, Barzilai-Borwein steps with Armijo backtracking, annealed over
decreasing noise levels, on the sample-average loss over fixed whitened antithetic noise draws.
"""
from __future__ import annotations

import numpy as np

from ..checks import allocation
from ._inputs import _noise_levels
from .ksubspaces import _RESTART_BATCH, _greedy_init, clustering_objective
from .loss import _antithetic_draws, loss_and_gradient, whitened_antithetic_noise
from .subspaces import SubspaceFit


def _project_tangent(U, G):
    """Riemannian gradient on the Stiefel manifold (embedded metric): G - U sym(U^T G)."""
    UtG = U.T @ G
    return G - U @ (UtG + UtG.T) / 2


def _retract(U):
    """QR retraction with a positive diagonal (continuous in U)."""
    Q, R = np.linalg.qr(U)
    return Q * np.sign(np.diag(R))


def _descend(bases, X, xi, sigma, alpha, weights, max_iter, gtol):
    """Riemannian gradient descent at one noise level: Barzilai-Borwein trial steps (alternating the
    two BB formulas, differences taken in the ambient space) safeguarded by Armijo backtracking, so
    the loss decreases monotonically.  Stops when |grad| <= gtol * (data energy)."""
    loss, grads = loss_and_gradient(bases, X, xi, sigma, alpha, weights)
    rg = [_project_tangent(U, G) for U, G in zip(bases, grads)]
    step, energy = 1.0, max(float(np.mean(np.sum(X**2, axis=1))), 1e-300)
    for it in range(1, max_iter + 1):
        gnorm2 = sum(float(np.sum(g**2)) for g in rg)
        if np.sqrt(gnorm2) <= gtol * energy:
            return bases, loss, np.sqrt(gnorm2), it - 1, True
        while True:                                                    # Armijo backtracking
            trial = [_retract(U - step * g) for U, g in zip(bases, rg)]
            new_loss, new_grads = loss_and_gradient(trial, X, xi, sigma, alpha, weights)
            if new_loss <= loss - 1e-4 * step * gnorm2 or step < 1e-14:
                break
            step /= 2.0
        if step < 1e-14:                                               # no descent possible: stalled
            return bases, loss, np.sqrt(gnorm2), it, False
        new_rg = [_project_tangent(U, G) for U, G in zip(trial, new_grads)]
        s_dot_s = sum(float(np.sum((Un - U) ** 2)) for Un, U in zip(trial, bases))
        s_dot_y = sum(float(np.sum((Un - U) * (gn - g))) for Un, U, gn, g in zip(trial, bases, new_rg, rg))
        y_dot_y = sum(float(np.sum((gn - g) ** 2)) for gn, g in zip(new_rg, rg))
        if s_dot_y > 0:                                                # BB1 / BB2 alternately
            step = s_dot_s / s_dot_y if it % 2 else s_dot_y / max(y_dot_y, 1e-300)
        else:
            step *= 2.0
        bases, loss, rg = trial, new_loss, new_rg
    gnorm = np.sqrt(sum(float(np.sum(g**2)) for g in rg))
    return bases, loss, gnorm, max_iter, bool(gnorm <= gtol * energy)


def _fit_gradient(X, dims, restarts, max_iter, rng, schedule, times, n_noise, gtol, weights, init):
    N, n = X.shape
    levels = _noise_levels(schedule, times, X, dims, anneal_from=10.0 if init == "random" else 1.0)
    energy = float(np.mean(np.sum(X**2, axis=1)))
    # the fixed draws of every level (M, N, n) and, at one level, the loss and gradient's temporaries (the
    # mixture posterior's per-component arrays)
    M = _antithetic_draws(n_noise, N, n)
    allocation(8 * M * N * n * (len(levels) + 4 * len(dims) + 10), "n_noise", n_noise,
               f"{len(levels)} levels of ({M}, {N}, {n}) noise draws")
    xis = [whitened_antithetic_noise(n_noise, N, n, rng) for _ in levels]   # fixed draws per level
    best = None
    for _ in range(restarts):
        if not isinstance(init, str):                                  # given starting bases
            bases = [U.copy() for U in init]
        elif init == "greedy":                                         # best of a batch of greedy seeds
            seeds = _greedy_init(X, dims, _RESTART_BATCH, rng)
            captured = np.stack([np.sum((X @ U) ** 2, axis=2) for U in seeds], axis=1).max(axis=1).sum(axis=1)
            i = int(np.argmax(captured))
            bases = [b[i] for b in seeds]
        else:                                                          # uniform on the Stiefel manifold
            bases = [np.linalg.qr(rng.standard_normal((n, d)))[0] for d in dims]
        total = 0
        for (sigma, alpha), xi in zip(levels, xis):                    # anneal: high -> low noise
            bases, loss, gnorm, it, ok = _descend(bases, X, xi, sigma, alpha, weights, max_iter, gtol)
            total += it
        conv = ok                                                      # judged at the final level
        captured, labels = clustering_objective(bases, X)
        if best is None or loss < best.loss:
            best = SubspaceFit(tuple(bases), float(captured.mean()), energy, labels, total, conv,
                               restarts, "gradient", float(loss), float(gnorm),
                               (float(levels[-1][0]), float(levels[-1][1])))
    return best


__all__ = []                     # the trainer is reached through fit.fit_subspaces
