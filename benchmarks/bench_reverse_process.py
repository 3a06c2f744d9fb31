"""Reverse-process throughput with the Empirical (memorizing) model, against a plain matrix product.

Setting (issue 5): N = 5,000 training points in D = 1,000, batch B = 256, 100 Euler steps of the EDM
sampler.  One denoiser call is two GEMMs, (B x D)(D x N) for the distances and (B x N)(N x D) for the
posterior mean: 4 B N D flops.  Baseline: a plain ``numpy`` product of the same (B x D)(D x N) shape,
timed in the same run (flops 2 B N D).  Reported: achieved GFLOP/s of the sampler (counting only the
two GEMMs) and its ratio to the baseline (target: within 2x), and peak traced memory of one denoiser
call and of the whole run against the O(B N) working set (target: no D x D or N x D x B temporaries).

Run: ``python benchmarks/bench_reverse_process.py [--quick]``.
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import spectral_theory as st
from _timing import best_of
from validation.samplers import edm_sampler



def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="N=1000, D=200, 20 steps (a smoke run)")
    a = p.parse_args(argv)
    N, D, B, steps = (1000, 200, 256, 20) if a.quick else (5000, 1000, 256, 100)
    rng = np.random.default_rng(0)
    model = st.Empirical(rng.standard_normal((N, D)))
    x_T = 80.0 * rng.standard_normal((B, D))
    sigmas = st.edm_sigmas(steps, 0.002, 80.0)

    # baseline: one plain GEMM of the distance shape
    Y = model.points
    t_gemm = best_of(lambda: x_T @ Y.T, 5)
    gemm_gflops = 2 * B * N * D / t_gemm / 1e9

    # one denoiser call (two GEMMs) at a mid noise level, and its peak memory
    t_call = best_of(lambda: model.denoise(x_T, 1.0), 5)
    tracemalloc.start()
    model.denoise(x_T, 1.0)
    call_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    # the whole reverse process
    t = time.perf_counter()
    tracemalloc.start()
    tr = edm_sampler(model.denoise, x_T, sigmas, method="euler")
    run_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    t_run = time.perf_counter() - t
    # timing without tracemalloc overhead
    t_run = min(t_run, best_of(lambda: edm_sampler(model.denoise, x_T, sigmas, method="euler"), 1))
    flops = 4 * B * N * D * tr.evaluations
    run_gflops = flops / t_run / 1e9

    BN, BD = B * N * 8, B * D * 8
    rows = [
        ("plain numpy GEMM (B x D)(D x N)", f"{t_gemm * 1e3:.1f} ms", f"{gemm_gflops:.1f}", "1.00 (baseline)"),
        ("one Empirical.denoise call (2 GEMMs)", f"{t_call * 1e3:.1f} ms", f"{4 * B * N * D / t_call / 1e9:.1f}",
         f"{(4 * B * N * D / t_call / 1e9) / gemm_gflops:.2f}"),
        (f"EDM Euler sampler, {steps} steps", f"{t_run:.2f} s", f"{run_gflops:.1f}", f"{run_gflops / gemm_gflops:.2f}"),
    ]
    print(f"Empirical reverse process: N={N}, D={D}, batch={B}, steps={steps}")
    print(f"{'route':42s}{'time':>12s}{'GFLOP/s':>10s}{'ratio to GEMM':>17s}")
    for r in rows:
        print(f"{r[0]:42s}{r[1]:>12s}{r[2]:>10s}{r[3]:>17s}")
    print()
    print(f"peak traced memory, one denoiser call: {call_peak / 1e6:.1f} MB = {call_peak / BN:.2f} x (B x N floats); "
          f"B x D = {BD / 1e6:.1f} MB, D x D = {D * D * 8 / 1e6:.1f} MB, N x D x B = {N * D * B * 8 / 1e9:.1f} GB")
    print(f"peak traced memory, whole run:         {run_peak / 1e6:.1f} MB = {run_peak / BN:.2f} x (B x N floats)")
    verdict = "within" if run_gflops >= gemm_gflops / 2 else "NOT within"
    print(f"sampler throughput is {verdict} 2x of the plain GEMM")


if __name__ == "__main__":
    main()
