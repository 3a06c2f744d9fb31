"""Benchmark: free convolution by subordination (python benchmarks/bench_rmt_free.py).

Cases: MP(0.3) boxplus 0.5(delta_1 + delta_4) (the case the discrete-image solver could not do),
Silverstein([0.2], [1]) boxplus Silverstein([0.3], [10]) (equal to the two-block law), and
0.5(delta_1 + delta_4) boxtimes MP(0.1). Per case, in this run (warm = best of 3, after a first
call that compiles / loads the numba cache):

* build: constructing the convolution with exact support edges (critical points of the inverse map,
  the default), and with the 2,048-cell scan + bisection (``edges="grid"``) for comparison;
* grid: the density on a 2,000-point grid across the support hull;
* baseline: the generic route of the same class, used for laws without an exact kernel: the
  discrete image of the inputs (atoms + bulk quadrature nodes) in the kernel, then Newton polish and
  an exact numpy continuation with the inputs' own transforms (forced by ``_exact = False``).

Accuracy: max |g - g_ref| / |g_ref| on the grid at Im z = 1e-3 between the two routes, and the
number of grid points where the solver reports failure.
"""
from __future__ import annotations

import time

import numpy as np

from spectral_theory import rmt
from spectral_theory.rmt.free import FreeConvolution


def _best(f, repeat=3):
    out, best = None, np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def _grid_route(law, exact, z):
    law._exact = exact
    try:
        g, _, _, _, _, ok = law._solve(z)
    finally:
        law._exact = law._exact_default
    return g, ok


def main():
    cases = {
        "MP(0.3) + atoms{1,4}": lambda: rmt.free_additive_convolution(rmt.MarchenkoPastur(0.3),
                                                                      rmt.AtomicLaw([1.0, 4.0])),
        "Silv(0.2,1) + Silv(0.3,10)": lambda: rmt.free_additive_convolution(rmt.Silverstein([0.2], [1.0]),
                                                                            rmt.Silverstein([0.3], [10.0])),
        "atoms{1,4} x MP(0.1)": lambda: rmt.free_multiplicative_convolution(rmt.AtomicLaw([1.0, 4.0]),
                                                                            rmt.MarchenkoPastur(0.1)),
    }
    print(f"{'case':28s} {'build s':>8s} {'scan s':>8s} {'grid s':>8s} {'baseline s':>10s} {'ratio':>7s} "
          f"{'fail/base fail':>14s} {'max rel diff':>12s}")
    for name, make in cases.items():
        make()                                           # compile / load the cache
        t_build, law = _best(make)
        t_scan, _ = _best(lambda: FreeConvolution(law.first, law.second, law.kind, edges="grid"))
        law._exact_default = law._exact
        lo, hi = law._hull
        x = lo + (np.arange(2000) + 0.5) * (hi - lo) / 2000 + 0j      # cell midpoints: never on an atom
        t_grid, (g, ok) = _best(lambda: _grid_route(law, True, x))
        t_base, (gb, okb) = _best(lambda: _grid_route(law, False, x))
        zi = x + 1e-3j
        ga, _ = _grid_route(law, True, zi)
        gr, okr = _grid_route(law, False, zi)
        diff = np.max(np.abs(ga[okr] - gr[okr]) / np.abs(gr[okr]))
        print(f"{name:28s} {t_build:8.3f} {t_scan:8.3f} {t_grid:8.3f} {t_base:10.3f} {t_base / t_grid:7.1f} "
              f"{int((~ok).sum()):>6d}/{int((~okb).sum()):<7d} {diff:12.1e}")


if __name__ == "__main__":
    main()
