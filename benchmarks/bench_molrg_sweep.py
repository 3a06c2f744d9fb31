"""MoLRG phase-transition sweep: time per trial of K-subspaces and gradient training, and the full sweep.

Issue 9's benchmark.  Parts:
  1. time per trial (one training run on a fresh problem, n = 48) of
     * the package's K-subspaces (restarts batched: one eigh per cluster per iteration for 8 restarts,
       Gram-side eigenproblems, greedy seeds, certificate / patience stopping),
     * the baseline measured in the same run: textbook K-subspaces, one restart at a time, scatter-matrix
       ``eigh`` per cluster, the same greedy seeds and the same number of restarts as the package ran
       (so the ratio is the implementation's speed-up, not fewer restarts),
     * Riemannian gradient training (``method="gradient"``, greedy init, 2 restarts);
  2. the full sweep at the paper's scale (d = 2..8, N_k = 1..16, K = 1..3, 50 trials per cell, noiseless
     and small noise: 672 cells, 33,600 trainings) on ``validation.sweep.run_sweep`` with ``--workers``
     processes, against the 10-minute target; optionally the success heat map as a PNG (``--png``).

Run: python benchmarks/bench_molrg_sweep.py [--quick] [--workers 2] [--png DIR]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from spectral_theory import molrg
from validation.molrg_sweep import NOISY, draw_problem, phase_transition


def textbook_ksubspaces(X, dims, restarts, max_iter, rng):
    """Baseline: restarts one at a time, per-cluster PCA by a full n x n scatter eigh."""
    best = (None, -np.inf)
    for _ in range(restarts):
        bases = [b[0] for b in molrg.ksubspaces._greedy_init(X, dims, 1, rng)]
        labels = None
        for _ in range(max_iter):
            new = np.argmax(np.stack([np.sum((X @ U) ** 2, axis=1) for U in bases]), axis=0)
            if labels is not None and np.array_equal(new, labels):
                break
            labels = new
            for k, d in enumerate(dims):
                Xk = X[labels == k]
                if len(Xk):
                    bases[k] = np.linalg.eigh(Xk.T @ Xk)[1][:, ::-1][:, :d]
        obj = np.max(np.stack([np.sum((X @ U) ** 2, axis=1) for U in bases]), axis=0).mean()
        if obj > best[1]:
            best = (bases, obj)
    return best


def time_trials(cells, trials, rng):
    rows = []
    for K, d, Nk, eps in cells:
        problems = [draw_problem(48, d, K, Nk, eps, rng)[1] for _ in range(trials)]
        t0 = time.perf_counter()
        fits = [molrg.fit_subspaces(X, K, d, rng=rng) for X in problems]
        t_ks = (time.perf_counter() - t0) / trials
        t0 = time.perf_counter()
        for X, f in zip(problems, fits):
            textbook_ksubspaces(X, [d] * K, f.restarts, 100, rng)
        t_base = (time.perf_counter() - t0) / trials
        n_gd = max(1, trials // 10)
        t0 = time.perf_counter()
        for X in problems[:n_gd]:
            molrg.fit_subspaces(X, K, d, method="gradient", rng=rng, restarts=2)
        t_gd = (time.perf_counter() - t0) / n_gd
        rows.append((K, d, Nk, eps, np.mean([f.restarts for f in fits]), t_ks, t_base, t_gd))
    return rows


def heatmap_png(pt, folder):
    import os

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(folder, exist_ok=True)
    fig, axes = plt.subplots(len(pt.noises), len(pt.components), figsize=(4 * len(pt.components), 3.3 * len(pt.noises)),
                             squeeze=False, constrained_layout=True)
    for j, eps in enumerate(pt.noises):
        for i, K in enumerate(pt.components):
            ax = axes[j, i]
            im = ax.imshow(pt.success[i, j], origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis",
                           extent=(pt.samples[0] - 0.5, pt.samples[-1] + 0.5, pt.dims[0] - 0.5, pt.dims[-1] + 0.5))
            ax.plot(pt.dims, pt.dims, "w--", lw=1)
            ax.set_title(f"K={K}, {'noiseless' if eps == 0 else f'noise var {eps:g}'}", fontsize=9)
            ax.set_xlabel("N_k")
            ax.set_ylabel("d")
    fig.colorbar(im, ax=axes.ravel().tolist(), label="success probability")
    path = os.path.join(folder, "molrg_phase_transition_heatmap.png")
    fig.savefig(path, dpi=110)
    return path


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--png", default=None, help="folder for the success heat map")
    a = p.parse_args(argv)
    rng = np.random.default_rng(0)
    try:                                    # time both implementations single-threaded (as sweep workers run)
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass
    cells = [(1, 8, 16, 0.0), (2, 4, 8, 0.0), (2, 4, 8, NOISY), (3, 8, 9, 0.0), (3, 8, 16, NOISY)]
    rows = time_trials(cells, 10 if a.quick else 40, rng)
    print("time per trial (n = 48)")
    print(f"{'K':>2} {'d':>2} {'N_k':>4} {'noise':>7} {'restarts':>8} {'ksubspaces':>11} {'textbook':>10} {'speed-up':>8} {'gradient':>10}")
    for K, d, Nk, eps, R, tk, tb, tg in rows:
        print(f"{K:>2} {d:>2} {Nk:>4} {eps:>7.0e} {R:>8.1f} {tk * 1e3:>9.2f}ms {tb * 1e3:>8.2f}ms {tb / tk:>7.1f}x {tg * 1e3:>8.0f}ms")
    if a.quick:
        dims, samples, trials = (2, 5, 8), (1, 2, 5, 6, 8, 9, 16), 10
    else:
        dims, samples, trials = tuple(range(2, 9)), tuple(range(1, 17)), 50
    pt = phase_transition(dims, samples, (1, 2, 3), (0.0, NOISY), trials, seed=1, workers=a.workers,
                          name="bench_molrg_sweep")
    n_train = int(pt.trials.sum())
    print(f"\nphase-transition sweep: {pt.success.size} cells, {n_train} trainings, {a.workers} workers: "
          f"{pt.wall_seconds:.1f} s wall ({pt.wall_seconds / 600:.2f} of the 10-minute target), "
          f"{np.mean(pt.seconds_per_trial) * 1e3:.2f} ms mean training time per trial")
    for i, K in enumerate(pt.components):
        s = pt.success[i, 0]
        print(f"  noiseless K={K}: success rows d={pt.dims[0]}..{pt.dims[-1]} (N_k = {pt.samples[0]}..{pt.samples[-1]}):")
        for k, d in enumerate(pt.dims):
            print("    d=%d " % d + " ".join(f"{v:4.2f}" for v in s[k]))
    if a.png:
        print("heat map:", heatmap_png(pt, a.png))


if __name__ == "__main__":
    main()
