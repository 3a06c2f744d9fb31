"""Benchmark: density of a two-block law on a 10,000-point grid (python benchmarks/bench_rmt.py).

Law: generalised Marchenko-Pastur, population 0.4 delta_1 + 0.6 delta_10, ratio c = 0.5 (two bulks
with a gap; its companion is Silverstein([0.2, 0.3], [1, 10])). Routes, all in this run:

* ``spectral_theory.rmt`` (numba, prange): cold = first call in a fresh process with an empty numba
  cache (includes compilation), cold-cached = first call in a fresh process with the on-disk cache,
  warm = best of 5 repeated calls;
* baseline: plain per-point ``scipy.optimize.root`` (hybr) on (Re g, Im g) of the companion
  equation from the starting guess 1/(x + i), xtol=1e-14;
* ``freealg.distributions.DeformedMarchenkoPastur(t, w, c).density(x, eta)`` (if installed), at its
  default eta = 1e-3 and at eta = 1e-10.

Accuracy: max |rho - rho_ref| / max rho_ref over 200 random grid points, against the mpmath 50-digit
reference (spectral_theory.rmt.reference).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

T, W, C = [1.0, 10.0], [0.4, 0.6], 0.5
N_GRID = 10_000

_COLD_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
from spectral_theory import rmt
law = rmt.GeneralizedMarchenkoPastur({T}, {W}, {C})
lo, hi = law.support()[0][0], law.support()[-1][1]
x = np.linspace(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), {N})
law.pdf(x)
print(time.perf_counter() - t0)
"""


def _fresh_process_time(cache_dir: str | None) -> float:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    code = _COLD_SNIPPET.format(T=T, W=W, C=C, N=N_GRID)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _best(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def _scipy_density(x, a, v, c):
    from scipy.optimize import root

    def fun(p, xi):
        g = p[0] + 1j * p[1]
        r = np.sum(a * v / (1.0 - v * g))
        f = g * (xi - r) - 1.0
        return [f.real, f.imag]

    out = np.empty(x.size)
    for i, xi in enumerate(x):
        g0 = 1.0 / (xi + 1j)
        sol = root(fun, [g0.real, g0.imag], args=(xi,), method="hybr", options={"xtol": 1e-14})
        out[i] = max(-sol.x[1] / (np.pi * c), 0.0)
    return out


def main():
    from spectral_theory import rmt
    from spectral_theory.rmt import reference as ref

    law = rmt.GeneralizedMarchenkoPastur(T, W, C)
    lo, hi = law.support()[0][0], law.support()[-1][1]
    x = np.linspace(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), N_GRID)
    a, v = law._eq.a, law._eq.v

    with tempfile.TemporaryDirectory() as empty_cache:
        cold = _fresh_process_time(empty_cache)
    cold_cached = _fresh_process_time(None)
    t_ours, rho = _best(lambda: law.pdf(x))

    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(N_GRID, 200, replace=False))
    rho_ref = np.array([
        0.0 if not law.in_support(x[i]) else
        float(-ref.law_stieltjes(x[i], a, v, C, dps=50).imag / np.pi) for i in idx])
    scale = rho_ref.max()

    def err(r):
        return float(np.max(np.abs(r[idx] - rho_ref)) / scale)

    rows = [("spectral_theory.rmt (warm, best of 5)", t_ours, err(rho)),
            ("spectral_theory.rmt cold: compile + import + solve", cold, np.nan),
            ("spectral_theory.rmt cold: cached compile + import + solve", cold_cached, np.nan)]

    t_scipy, rho_scipy = _best(lambda: _scipy_density(x, a, v, C), repeat=1)
    rows.append(("scipy.optimize.root per point (baseline)", t_scipy, err(rho_scipy)))

    freealg_note = ""
    try:
        from freealg.distributions import DeformedMarchenkoPastur
        fa = DeformedMarchenkoPastur(np.array(T), np.array(W), C)
        for eta in (1e-3, 1e-10):
            t_fa, rho_fa = _best(lambda: fa.density(x, eta=eta), repeat=1)
            rows.append((f"freealg DeformedMarchenkoPastur.density eta={eta:g}", t_fa, err(np.asarray(rho_fa))))
    except ImportError:
        freealg_note = "freealg is not installed: `pip install freealg` to include it"

    print(f"density of GMP(t={T}, w={W}, c={C}) on {N_GRID} points; accuracy vs mpmath 50 digits at 200 points")
    print(f"{'route':60s} {'time [s]':>10s} {'ratio':>10s} {'max rel err':>12s}")
    for name, t, e in rows:
        print(f"{name:60s} {t:10.4f} {t / t_ours:10.1f} {e:12.2e}")
    print(f"speed-up vs scipy per-point root: {t_scipy / t_ours:.0f}x (target >= 100x)")
    if freealg_note:
        print(freealg_note)


if __name__ == "__main__":
    main()
