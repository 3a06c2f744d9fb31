"""Input checks shared by the MoLRG training modules (bases, data, dims, noise levels)."""
from __future__ import annotations

import numpy as np

from ..checks import SpectralTheoryError, array, integer
from ..schedules import EDM, Schedule


def _bases(bases, name="bases", dim=None):
    bs = [array(U, f"{name}[{k}]", ndim=2) for k, U in enumerate(bases)]
    if not bs:
        raise SpectralTheoryError(f"`{name}` must not be empty")
    n = bs[0].shape[0] if dim is None else dim
    for k, U in enumerate(bs):
        if U.shape[0] != n or U.shape[1] > n:
            raise SpectralTheoryError(f"`{name}[{k}]` must be {n} x d_k with d_k <= {n}; got {U.shape}")
    return bs


def _data(X):
    return array(X, "X", ndim=2)


def _dims(dims, K, n):
    ds = np.atleast_1d(dims)
    if ds.size == 1:
        ds = np.repeat(ds, K)
    if ds.size != K:
        raise SpectralTheoryError(f"`dims` must have 1 or n_components = {K} entries; got {ds.size}")
    return [integer(d, "dims[k]", minimum=1, maximum=n) for d in ds]


def _noise_levels(schedule, times, X, dims, anneal_from=10.0):
    """(sigma, alpha) pairs from ``schedule`` at ``times`` (the schedule is the only source of them)."""
    if schedule is None:
        schedule = EDM()
    if not isinstance(schedule, Schedule):
        raise SpectralTheoryError(f"`schedule` must be a spectral_theory.schedules.Schedule; got {type(schedule).__name__}")
    if times is None:
        # noise relative to the data's per-direction scale, annealed from the signal scale downwards
        scale = np.sqrt(np.mean(np.sum(X**2, axis=1)) / np.mean(dims))
        taus = (scale * np.array([r for r in (10.0, 3.0, 1.0, 0.3, 0.1, 0.03) if r <= anneal_from])) ** 2
        lo, hi = schedule.tau(schedule.t_min), schedule.tau(schedule.t_max)
        times = schedule.time_of_tau(np.clip(taus, lo, hi))
    t = np.atleast_1d(array(times, "times", ndim=(0, 1)))
    return [(schedule.sigma(ti), schedule.alpha(ti)) for ti in t]
