"""Full phase diagram: the density of tau*J on 2,000 spectral points x 200 values of tau, three blocks.

Issue 7's benchmark.  The model: data on a linear manifold with three variance blocks
(m_k/D = 0.1 each, v = 1, 8, 64; Gaussian basis).  Routes, all measured in this run:

* **pushforward** (``st.jacobian_spectra``): the Silverstein law of C is solved once, its density
  interpolated once per bulk (Chebyshev in rho/sqrt((x-l)(h-x))), then every tau is a change of
  variables on the (tau, y) grid.  Timed from the model (law construction included), warm (numba
  kernels compiled and cached).
* **direct law** (no trick): ``st.jacobian_spectrum(model, tau).pdf(y)`` for each tau - the Stieltjes
  solver at every one of the 400,000 (tau, y) points.
* **sampling, one eigendecomposition**: sample F (D = 2,000), ``eigvalsh`` of C once, map the
  eigenvalues for each tau and histogram them on the same 2,000-point grid (the same pushforward
  trick applied to samples; a histogram of one matrix is much noisier than the density).
* **sampling, per tau**: ``eigvalsh`` of tau*J = -tau (C + tau I)^{-1} for each tau (what one would do
  without knowing the Jacobian shares C's eigenvectors); timed on 3 values of tau and scaled to 200
  (stated as such in the table).

Also reported: the interpolation error of the pushforward route against the direct solver (max over
the grid, relative to the max density).

Run: python benchmarks/bench_phase_diagram.py [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import spectral_theory as st


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="D = 500 for the sampling baselines (smoke run)")
    a = p.parse_args(argv)
    D = 500 if a.quick else 2000
    n_points, n_tau = 2000, 200
    blocks = [(D // 10, 1.0), (D // 10, 8.0), (D // 10, 64.0)]
    model = st.LinearManifold(D, blocks, rng=0)
    taus = np.geomspace(1e-3, 1e3, n_tau)
    y = np.linspace(-1.0, 0.0, n_points + 2)[1:-1]

    def pushforward():
        spectra = st.jacobian_spectra(st.covariance_spectrum(model))
        return spectra.density(y, taus), spectra

    pushforward()                                                   # warm-up: numba kernels
    t_push, (dens, spectra) = best_of(pushforward, 5)

    def direct():
        return np.stack([st.jacobian_spectrum(model, t).pdf(y) for t in taus])
    t_direct, dens_direct = best_of(direct, 1)
    err = float(np.max(np.abs(dens - dens_direct)) / np.max(dens_direct))

    rng = np.random.default_rng(1)
    edges_y = np.linspace(-1.0, 0.0, n_points + 1)

    def sample_once():
        F = rng.standard_normal((D, sum(m for m, _ in blocks))) / np.sqrt(D)
        v = np.concatenate([np.full(m, vk) for m, vk in blocks])
        C = (F * v) @ F.T
        lam = np.linalg.eigvalsh(C)
        ys = -taus[:, None] / (lam[None, :] + taus[:, None])          # (T, D)
        return np.stack([np.histogram(row, bins=edges_y, density=True)[0] for row in ys])
    t_sample, _ = best_of(sample_once, 2)

    F = rng.standard_normal((D, sum(m for m, _ in blocks))) / np.sqrt(D)
    C = (F * np.concatenate([np.full(m, vk) for m, vk in blocks])) @ F.T

    def per_tau(ts):
        for t in ts:
            np.linalg.eigvalsh(-t * np.linalg.inv(C + t * np.eye(D)))
    t3, _ = best_of(lambda: per_tau(taus[[0, n_tau // 2, -1]]), 1)
    t_per_tau = t3 / 3 * n_tau

    rows = [("pushforward (jacobian_spectra), warm", t_push),
            ("direct law: solver at every (tau, y)", t_direct),
            (f"sampling: one eigvalsh of C (D={D}) + 200 histograms", t_sample),
            (f"sampling: eigvalsh of tau*J per tau (D={D}; 3 timed, scaled to {n_tau})", t_per_tau)]
    print(f"phase diagram: {n_points} spectral points x {n_tau} tau, three blocks {blocks}, D={D}")
    print(f"{'route':<64} {'seconds':>9} {'ratio to pushforward':>22}")
    for name, t in rows:
        print(f"{name:<64} {t:9.3f} {t / t_push:22.1f}")
    print(f"pushforward vs direct solver: max |difference| / max density = {err:.2e}; "
          f"interpolation error estimate {spectra.interpolation_error:.1e}")
    print(f"acceptance (< 1 s warm): {'PASS' if t_push < 1.0 else 'FAIL'}")


if __name__ == "__main__":
    main()
