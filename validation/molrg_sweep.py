r"""The sample-complexity phase transition of MoLRG subspace recovery (Wang et al., arXiv 2409.02426).

One sweep cell = (K components, intrinsic dimension d, samples per component N_k, off-subspace noise
variance, training method); the task draws ``trials`` independent problems (fresh orthogonal bases in
n = 48 dimensions, exactly N_k samples from each component), trains the low-rank denoiser with
:func:`spectral_theory.molrg.fit_subspaces` and counts successes of the paper's criterion
:math:`|P_{\hat U} - P_U|_F/\sqrt{2d} < 0.1` (after Hungarian matching).  Success probabilities carry
Wilson score intervals (:func:`wilson_interval`).

Predictions (molrg.md): noiseless, K = 1: success exactly 0 for N < d (the sample spans fewer than d
directions) and exactly 1 for N >= d (it spans U).  K > 1: 0 for N_k < d; 1 for N_k >= d + 1 (a
d-dimensional subspace can hold at most d generic points from a union of other subspaces, so every
perfect fit is the true one); at N_k = d every split of the points into K groups of d fits perfectly,
so the optimum is not unique and success there reflects the trainer's tie-breaking, not identifiability.

>>> from validation.molrg_sweep import phase_transition
>>> pt = phase_transition(dims=[2, 3], samples=[1, 2, 3, 4], components=[1], noises=[0.0], trials=10)  # doctest: +SKIP
>>> pt.success.shape      # (K, noise, d, N_k)                                                        # doctest: +SKIP
(1, 1, 2, 4)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits
from scipy.stats import norm

import spectral_theory as st
from spectral_theory.checks import SpectralTheoryError, integer, scalar
from validation.sweep import grid, run_sweep

AMBIENT_DIM = 48
NOISY = 1e-4          # "small off-subspace noise": isotropic variance, std 0.01 per coordinate


def wilson_interval(successes, trials, level=0.95):
    r"""Wilson score interval for a binomial proportion, vectorised:
    :math:`\frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}`
    (Wilson 1927; Brown, Cai, DasGupta 2001).  Returns (lo, hi) arrays; NaN where trials = 0."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    level = scalar(level, "level", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    z = norm.isf((1 - level) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def draw_problem(n, d, K, samples_per_component, noise, rng):
    """A MoLRG with K orthogonal d-dimensional subspaces of R^n and exactly ``samples_per_component``
    samples from each component; returns (model, X (K N_k, n))."""
    model = st.MoLRG(n, [d] * K, orthogonal=True, noise=noise, rng=rng)
    X = np.concatenate([c.sample(samples_per_component, rng) for c in model.components])
    return model, X


def recovery_task(params, rng):
    """Sweep task: ``trials`` independent recoveries at one cell.

    params: ``K``, ``d``, ``N_k``, ``noise``, ``trials``, optional ``n`` (default 48), ``method``
    ("ksubspaces" default, or "gradient").  Returns successes, per-trial max errors, mean seconds per
    trial, mean restarts and mean unexplained energy of the fits."""
    n = integer(params.get("n", AMBIENT_DIM), "n", minimum=1)
    K, d = integer(params["K"], "K", minimum=1), integer(params["d"], "d", minimum=1)
    Nk, trials = integer(params["N_k"], "N_k", minimum=1), integer(params["trials"], "trials", minimum=1)
    noise = scalar(params["noise"], "noise", nonnegative=True)
    method = params.get("method", "ksubspaces")
    errors, seconds, restarts, unexplained = [], 0.0, [], []
    with threadpool_limits(1):
        for _ in range(trials):
            model, X = draw_problem(n, d, K, Nk, noise, rng)
            t0 = time.perf_counter()
            fit = st.molrg.fit_subspaces(X, K, d, method=method, rng=rng)
            seconds += time.perf_counter() - t0
            errors.append(st.molrg.recovery_error(fit.bases, model.bases).max_error)
            restarts.append(fit.restarts)
            unexplained.append(fit.unexplained)
    errors = np.asarray(errors)
    return dict(successes=int(np.sum(errors < st.molrg.SUCCESS_THRESHOLD)), trials=trials,
                errors=errors.tolist(), seconds_per_trial=seconds / trials,
                restarts=float(np.mean(restarts)), unexplained=float(np.mean(unexplained)))


@dataclass(frozen=True)
class PhaseTransition:
    """Success probabilities over the grid, arrays of shape (K, noise, d, N_k).

    ``success`` = successes / trials; ``lo``, ``hi`` its Wilson 95% interval; ``median_error`` the median
    matched recovery error; ``seconds_per_trial`` the mean training time per trial of each cell.
    """

    components: tuple
    noises: tuple
    dims: tuple
    samples: tuple
    successes: np.ndarray
    trials: np.ndarray
    success: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    median_error: np.ndarray
    seconds_per_trial: np.ndarray
    method: str
    wall_seconds: float

    def cell(self, K, noise, d, N_k):
        """(successes, trials) of one cell."""
        i = (self.components.index(K), self.noises.index(noise), self.dims.index(d), self.samples.index(N_k))
        return int(self.successes[i]), int(self.trials[i])


def phase_transition(dims=range(2, 9), samples=range(1, 17), components=(1, 2, 3), noises=(0.0, NOISY),
                     trials=50, method="ksubspaces", *, n=AMBIENT_DIM, seed=0, store=None, workers=1,
                     scheduler=None, progress=False, name=None) -> PhaseTransition:
    """Run the phase-transition sweep on :func:`validation.sweep.run_sweep` (process pool / Dask,
    SQLite resume with ``store``); one task per cell, ``trials`` recoveries each."""
    trials = integer(trials, "trials", minimum=1)
    if method not in ("ksubspaces", "gradient"):
        raise SpectralTheoryError(f"`method` must be 'ksubspaces' or 'gradient'; got {method!r}")
    axes = dict(K=list(components), noise=[float(x) for x in noises], d=list(dims), N_k=list(samples))
    points = grid(**axes, trials=trials, method=method, n=n)
    t0 = time.perf_counter()
    res = run_sweep(recovery_task, points, seed=seed, store=store, workers=workers, scheduler=scheduler,
                    progress=progress, name=name or f"molrg_phase_transition_{method}")
    res.raise_for_failures()
    shape = tuple(len(v) for v in axes.values())
    succ = res.array("successes").reshape(shape)
    tri = res.array("trials").reshape(shape)
    lo, hi = wilson_interval(succ, tri)
    med = np.array([np.median(e) for e in res.values("errors")]).reshape(shape)
    return PhaseTransition(tuple(axes["K"]), tuple(axes["noise"]), tuple(axes["d"]), tuple(axes["N_k"]),
                           succ.astype(int), tri.astype(int), succ / tri, lo, hi, med,
                           res.array("seconds_per_trial").reshape(shape), method, time.perf_counter() - t0)
