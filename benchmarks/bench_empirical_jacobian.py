"""Empirical-score Jacobian: analytic (weighted covariance, BLAS-shaped) vs central finite differences.

Issue 2's benchmark.  D = 1,000, N = 5,000, batch 64.  Baselines measured in the same run:
  * finite differences: the Jacobian column by column from 2 D evaluations of the score (what
    published code does for trained networks), timed on a sub-batch and reported per point;
  * a plain numpy matrix product of the analytic route's shape, (D x N) @ (N x D), for achieved GFLOP/s.
The noise level is chosen so that every training point keeps non-negligible posterior weight (no
pruning helps the analytic route): sigma = 3 sqrt(D) for unit-variance data.

Run: python benchmarks/bench_empirical_jacobian.py [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import spectral_theory as st
from _timing import best_of




def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    a = p.parse_args(argv)
    D, N, B, B_fd = (200, 1000, 16, 4) if a.quick else (1000, 5000, 64, 4)
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((N, D))
    model = st.Empirical(Y)
    sigma = 3 * np.sqrt(D)
    x = Y[rng.integers(0, N, B)] + sigma * rng.standard_normal((B, D))
    w = model.posterior_weights(x, sigma)
    ess = 1 / np.sum(w**2, axis=1)

    t_analytic = best_of(lambda: model.score_jacobian(x, sigma), 2) / B

    h = 1e-4 * sigma
    xf = x[:B_fd]

    def finite_difference():
        cols = [(model.score(xf + h * e, sigma) - model.score(xf - h * e, sigma)) / (2 * h) for e in np.eye(D)]
        return np.stack(cols, axis=2)

    t0 = time.perf_counter()
    J_fd = finite_difference()
    t_fd = (time.perf_counter() - t0) / B_fd
    J = model.score_jacobian(xf, sigma)
    fd_err = np.max(np.abs(0.5 * (J_fd + np.swapaxes(J_fd, 1, 2)) - J)) / np.max(np.abs(J))

    A = rng.standard_normal((N, D))
    t_gemm = best_of(lambda: A.T @ A.copy(), 3)
    flops = 2.0 * N * D * D
    print(f"Empirical score Jacobian, D={D}, N={N}, batch={B}, sigma={sigma:.1f} (median ESS {np.median(ess):.0f} of {N})")
    print(f"{'route':<34}{'s/point':>12}{'GFLOP/s':>10}")
    print(f"{'analytic (weighted covariance)':<34}{t_analytic:>12.4f}{flops / t_analytic / 1e9:>10.1f}")
    print(f"{'central finite differences':<34}{t_fd:>12.4f}{'':>10}")
    print(f"{'numpy (D x N)@(N x D) baseline':<34}{t_gemm:>12.4f}{flops / t_gemm / 1e9:>10.1f}")
    print(f"speed-up analytic vs finite differences: {t_fd / t_analytic:.1f}x   (target >= 20x)")
    print(f"analytic GFLOP/s relative to numpy matmul: {t_gemm / t_analytic:.2f}  (target >= 1/3)")
    print(f"max relative deviation of symmetrised FD Jacobian from analytic: {fd_err:.1e}")


if __name__ == "__main__":
    main()
