"""Time `spectral-theory latex` on every derivation, cold and warm, and the compiled numeric kernels.

Cold: a fresh process with an empty kernel cache directory (sympy import, every derivation built,
document written). Warm: a fresh process reusing the cache. Acceptance: under 30 s on 2 cores.
Kernels: the generated numba kernel of the Marchenko-Pastur density against the baseline
`sympy.lambdify(..., "numpy")` of the same expression, on 10^6 points (first call excluded),
reported as a ratio measured in the same run.

Run: python benchmarks/bench_latex.py
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np


def _run_cli(out, cache):
    env = dict(os.environ, SPECTRAL_THEORY_CACHE=cache)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "validation.cli", "latex", "--out", out], check=True, env=env,
                   capture_output=True)
    return time.perf_counter() - start


def main():
    tmp = tempfile.mkdtemp(prefix="bench_latex_")
    cache = os.path.join(tmp, "cache")
    out = os.path.join(tmp, "derivations.tex")
    cold = _run_cli(out, cache)
    warm = min(_run_cli(out, cache) for _ in range(2))
    rows = [("latex CLI, cold (empty kernel cache)", cold), ("latex CLI, warm", warm)]
    if shutil.which("pdflatex"):
        from derivations.document import compile_pdf
        start = time.perf_counter()
        compile_pdf(out)
        rows.append(("pdflatex x2 on the document", time.perf_counter() - start))

    os.environ["SPECTRAL_THEORY_CACHE"] = cache
    import derivations
    d = derivations.derive("marchenko_pastur")
    fast, slow = d.numeric("density"), d.numeric("density", backend="numpy")
    xs = np.linspace(0.01, 3.0, 1_000_000)
    fast(xs, 0.5, 1.0), slow(xs, 0.5, 1.0)                      # compile / warm up
    t_fast = min(_timed(fast, xs) for _ in range(5))
    t_slow = min(_timed(slow, xs) for _ in range(5))
    print(f"{'task':<45}{'seconds':>10}")
    for name, sec in rows:
        print(f"{name:<45}{sec:>10.2f}")
    print(f"{'MP density, numba kernel, 1e6 points':<45}{t_fast:>10.4f}")
    print(f"{'MP density, lambdify numpy baseline':<45}{t_slow:>10.4f}")
    print(f"speed-up of the generated kernel over lambdify: {t_slow / t_fast:.1f}x")
    print(f"acceptance (< 30 s): cold {'PASS' if cold < 30 else 'FAIL'}, warm {'PASS' if warm < 30 else 'FAIL'}")
    shutil.rmtree(tmp, ignore_errors=True)


def _timed(f, xs):
    start = time.perf_counter()
    f(xs, 0.5, 1.0)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
