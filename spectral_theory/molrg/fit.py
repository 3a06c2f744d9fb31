"""The trainer facade: :func:`fit_subspaces` (K-subspaces or Riemannian gradient descent)."""
from __future__ import annotations

import numpy as np

from ..checks import SpectralTheoryError, as_generator, integer, scalar
from ._inputs import _bases, _data, _dims
from .gradient import _fit_gradient, _retract
from .ksubspaces import _fit_ksubspaces
from .subspaces import SubspaceFit


def fit_subspaces(X, n_components, dims, method="ksubspaces", rng=None, *, restarts=None, max_iter=None,
                  patience=None, schedule=None, times=None, n_noise=8, gtol=1e-5, weights=None,
                  init="greedy") -> SubspaceFit:
    """Train the low-rank denoiser on ``X``: fit K subspaces of dimensions ``dims``.

    Parameters
    ----------
    X : (N, n) training set.
    n_components : K >= 1.
    dims : d_k (one int for all, or K ints).
    method : ``"ksubspaces"`` (alternating assignment / per-cluster PCA from greedy seeds, in batches
        of 8 restarts; default at most 64 restarts, max_iter 100; stops when the noiseless certificate
        objective = energy holds or after ``patience`` (default 2) batches without improvement; unequal
        d_k have more local optima: raise ``patience``) or
        ``"gradient"`` (Riemannian gradient descent on the denoising loss with soft weights,
        annealed over the noise levels of ``schedule`` at ``times``; default restarts 3, max_iter 500
        per level, ``n_noise`` antithetic whitened noise draws per point, stop when the Riemannian
        gradient norm <= ``gtol`` times the data energy).
    rng : Generator or seed.
    weights : mixing weights pi_k of the soft weights (``"gradient"``; default uniform).
    init : ``"gradient"`` starting point: ``"greedy"`` (the best, by captured energy, of 8 greedy seeds
        of the K-subspaces seeding, without K-subspaces iterations; annealed over noise
        levels 1 .. 0.03 times the data scale) or ``"random"`` (uniform on the Stiefel manifold; annealed
        from 10 times the data scale, where the soft weights are nearly uniform) or a list of K starting
        bases (one run, annealed like ``"greedy"``; e.g. a K-subspaces solution, to test stationarity).

    Returns
    -------
    SubspaceFit : bases, objective (captured energy), iterations, converged, restarts, ...

    For K = 1 both methods return the top-d principal subspace (the loss is PCA at every noise level).
    """
    X = _data(X)
    N, n = X.shape
    K = integer(n_components, "n_components", minimum=1)
    ds = _dims(dims, K, n)
    rng = as_generator(rng)
    if method == "ksubspaces":
        restarts = 1 if K == 1 else integer(64 if restarts is None else restarts, "restarts", minimum=1)
        max_iter = integer(100 if max_iter is None else max_iter, "max_iter", minimum=1)
        patience = integer(2 if patience is None else patience, "patience", minimum=1)
        return _fit_ksubspaces(X, ds, restarts, max_iter, patience, rng)
    if method == "gradient":
        restarts = integer(3 if restarts is None else restarts, "restarts", minimum=1)
        max_iter = integer(500 if max_iter is None else max_iter, "max_iter", minimum=1)
        n_noise = integer(n_noise, "n_noise", minimum=1)
        gtol = scalar(gtol, "gtol", positive=True)
        if weights is not None:
            weights = np.asarray(weights, dtype=float)
        if isinstance(init, str):
            if init not in ("greedy", "random"):
                raise SpectralTheoryError(f"`init` must be 'greedy', 'random' or a list of bases; got {init!r}")
        else:
            init = _bases(init, "init", dim=n)
            if [U.shape[1] for U in init] != ds:
                raise SpectralTheoryError(f"`init` bases must have dims {ds}; got {[U.shape[1] for U in init]}")
            init = [_retract(U) for U in init]
            restarts = 1
        return _fit_gradient(X, ds, restarts, max_iter, rng, schedule, times, n_noise, gtol, weights, init)
    raise SpectralTheoryError(f"`method` must be 'ksubspaces' or 'gradient'; got {method!r}")


__all__ = ["fit_subspaces"]
