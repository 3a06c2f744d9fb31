"""Matrix-free Jacobian spectra (issue 16): SLQ density of tau J at image scale against dense eigvalsh.

Operator: tau J of a two-block ``LinearManifold`` (Gaussian basis, blocks (m/2, 4.0), (m/2, 0.25)) at
tau = 0.1, exact products (``model_operator``: the model's ``score_jvp``, O(D m) per vector).  Measured in
one run:

* the error-bar rule: ``slq_density(..., tol=0.01)`` for each probe count of ``PROBES`` stops at the
  first checked step whose bar ``ks_bar`` = 2 x sup stderr + the Markov-Krein resolution
  ``cdf_resolution`` (an upper bound of the bar of ``ks_distance`` to any law; the checks timed with the
  SLQ run) is <= 0.01; the chosen configuration is the fastest of these (the steps come from the bars,
  the probes from the measured cost, memory-bound products making extra probes cheap), re-timed
  (best of 3); its KS distance to the exact eigenvalues (``model.eigenvalues`` pushed forward) and to
  the law ``st.jacobian_spectrum``;
* dense ``numpy.linalg.eigvalsh`` of a D0 x D0 tau J (D0 = 4,096), scaled by (D/D0)^3 (stated), or at
  D0 = D itself with ``--dense-full``;
* memory: tracemalloc peak of ``slq_density`` against D x (steps + 1) x probes floats (the basis);
* the estimator's own time (orthogonalisation, tridiagonal eigenproblems, checks) over the matvec time;
* one batched matvec against the plain GEMMs of the same shapes ((k, D) @ (D, r), (k, r) @ (r, D));
* anchor: matfree (JAX) ``decomp.tridiag_sym(steps, reortho="full")`` vmapped over the same probes plus
  ``eigh`` (skipped with a message if matfree/jax is not installed): time and KS side by side.

Run: python benchmarks/bench_matfree.py [--quick] [--m-fraction 0.25] [--threads 1] [--dense-full]
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import spectral_theory as st
from _timing import best_of
from spectral_theory import ConvergenceError
from validation.jacobians import model_operator, slq_density
from validation.spectral_estimates import SLQEstimate, _probes

TAU = 0.1
PROBES = (4, 6, 8, 12, 16, 24)
MAX_STEPS = 300


def tau_jacobian(model):
    """tau J at a VE point with sigma^2 = tau (J does not depend on x for a Gaussian model)."""
    op = model_operator(model, np.zeros(model.dim), np.sqrt(TAU))
    return lambda V: TAU * op(V)


def exact_eigenvalues(model):
    lam = -TAU / (model.eigenvalues + TAU)
    return np.concatenate([lam, np.full(model.dim - lam.size, -1.0)])


def anchor_matfree(U, shrink, D, k, m, seed):
    """matfree's Lanczos (full reorthogonalisation) per probe, vmapped, then eigh: nodes and weights."""
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        from matfree import decomp
    except ImportError as e:
        return None, f"anchor skipped: {e} (pip install matfree jax)"
    Uj, sj = jnp.asarray(U), jnp.asarray(shrink)

    def matvec(v):
        return -v - Uj @ ((Uj.T @ v) * sj)

    tridiag = decomp.tridiag_sym(m, reortho="full", materialize=True)

    @jax.jit
    def run(V):
        def one(v):
            _, T, residual, _ = tridiag(matvec, v / jnp.linalg.norm(v))
            theta, Y = jnp.linalg.eigh(T)
            # Ritz residuals beta_m |e_m^T y| and the tridiagonal: our ks_distance's bracket needs them
            beta_m = jnp.linalg.norm(residual)
            return (theta, Y[0] ** 2, beta_m * jnp.abs(Y[-1]), jnp.diag(T),
                    jnp.append(jnp.diag(T, 1), beta_m))
        return jax.vmap(one)(V)
    V = jnp.asarray(_probes("rademacher", k, D, seed))
    t0 = time.perf_counter()
    jax.block_until_ready(run(V))                      # compile + run
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = jax.block_until_ready(run(V))
    t_run = time.perf_counter() - t0
    nodes, weights, residuals, alpha, beta = (np.asarray(v) for v in out)
    est = SLQEstimate(D, k, k * m, "rademacher", nodes, weights, residuals, m, np.nan, alpha, beta)
    return (t_run, t_compile, est), None


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="D = 3,072 (CIFAR) instead of 12,288")
    p.add_argument("--m-fraction", type=float, default=0.1, help="intrinsic dimension m / D (issue: 0.1, 0.25)")
    p.add_argument("--target", type=float, default=0.01, help="KS bar to reach")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads for numpy (ours and the dense baseline alike); on an oversubscribed "
                        "machine 1 avoids spinning threads")
    p.add_argument("--dense-full", action="store_true",
                   help="time dense eigvalsh at the full D (about 2 minutes and 1.2 GB at D = 12,288) instead of at "
                        "D = 4,096 scaled by (D/4,096)^3")
    a = p.parse_args(argv)
    if a.threads is not None:
        from threadpoolctl import threadpool_limits
        threadpool_limits(a.threads)
        print(f"numpy BLAS limited to {a.threads} thread(s); JAX keeps its own pool")
    D = 3072 if a.quick else 12288
    D0 = D if a.dense_full else min(D, 4096)
    m = int(round(a.m_fraction * D))
    blocks = [(m // 2, 4.0), (m - m // 2, 0.25)]

    t0 = time.perf_counter()
    model = st.LinearManifold(D, blocks, rng=0)
    law = st.jacobian_spectrum(model, TAU)
    lam = exact_eigenvalues(model)
    print(f"tau J of a two-block LinearManifold, D={D}, m={m} (blocks {blocks}), tau={TAU}; "
          f"setup {time.perf_counter() - t0:.1f} s")
    op = tau_jacobian(model)
    spent = [0.0]

    def timed(V):
        t = time.perf_counter()
        out = op(V)
        spent[0] += time.perf_counter() - t
        return out

    print(f"error-bar rule: slq_density(tol={a.target}), bar = 2 sup stderr + Markov-Krein resolution")
    print(f"{'probes':>6}{'steps':>6}{'time s':>9}{'matvec s':>9}{'KS eig':>9}{'KS law':>9}{'stderr':>9}"
          f"{'MK res':>9}{'bar':>8}")
    runs = []
    for k in PROBES:
        spent[0] = 0.0
        t = time.perf_counter()
        try:
            est = slq_density(timed, D, n_probes=k, n_steps=min(MAX_STEPS, D), tol=a.target, rng=1)
        except ConvergenceError as e:
            print(f"{k:>6}  not reached: {e}")
            continue
        t = time.perf_counter() - t
        ks_e, ks_l = est.ks_distance(lam), est.ks_distance(law)
        print(f"{k:>6}{est.n_steps:>6}{t:>9.2f}{spent[0]:>9.2f}{ks_e.value:>9.4f}{ks_l.value:>9.4f}"
              f"{est.cdf_stderr_max:>9.4f}{est.cdf_resolution:>9.4f}{est.ks_bar():>8.4f}")
        runs.append((t, k, est, ks_e))
    if not runs:
        print(f"no probe count of {PROBES} reached a bar <= {a.target} within {MAX_STEPS} steps")
        return
    _, k, est, ks_e = min(runs, key=lambda r: r[0])
    steps, bar = est.n_steps, est.ks_bar()

    repeats = []                                       # the chosen configuration re-timed: best of 3
    for _ in range(3):
        spent[0] = 0.0
        t = time.perf_counter()
        slq_density(timed, D, n_probes=k, n_steps=min(MAX_STEPS, D), tol=a.target, rng=1)
        repeats.append((time.perf_counter() - t, spent[0]))
    t_slq, t_mv = min(repeats)

    # dense baseline
    m0 = int(round(a.m_fraction * D0))
    small = st.LinearManifold(D0, [(m0 // 2, 4.0), (m0 - m0 // 2, 0.25)], rng=0)
    A = TAU * small.score_jacobian(np.zeros(D0), np.sqrt(TAU))
    t = time.perf_counter()
    np.linalg.eigvalsh(A)
    t_dense0 = time.perf_counter() - t
    del A
    t_dense = t_dense0 * (D / D0) ** 3

    # memory
    tracemalloc.start()
    slq_density(op, D, n_probes=k, n_steps=steps, rng=1)               # the chosen configuration
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    basis = D * (steps + 1) * k * 8

    # one matvec vs the plain GEMMs of the same shapes
    V = np.random.default_rng(2).standard_normal((k, D))
    U, r = model.eigenvectors, model.eigenvectors.shape[1]
    B = np.random.default_rng(3).standard_normal((D, r))

    t_one = best_of(lambda: op(V))
    t_gemm = best_of(lambda: (V @ B) @ B.T)

    print(f"\nchosen by the error-bar rule: {k} probes x {steps} steps (bar {bar:.4f} <= {a.target}), "
          f"KS to the exact eigenvalues {ks_e.value:.4f}; SLQ {t_slq:.2f} s (best of 3), dense eigvalsh "
          f"{t_dense:.1f} s{' at the full D' if D == D0 else ' (scaled)'}: {t_dense / t_slq:.0f}x")
    print(f"{'measure':<58}{'value':>12}{'target':>12}")
    rows = [
        ("SLQ time (s)", f"{t_slq:.2f}", ""),
        (f"dense eigvalsh at D={D0} (s)" + (f", x (D/{D0})^3 = {t_dense:.0f} s" if D != D0 else ""),
         f"{t_dense0:.2f}", ""),
        ("speed-up vs dense eigvalsh at D (bar-certified configuration)", f"{t_dense / t_slq:.0f}x", ">= 100x"),
        ("memory: tracemalloc peak / basis D x (steps+1) x probes", f"{peak / basis:.2f}", "O(1)"),
        ("estimator time / matvec time", f"{(t_slq - t_mv) / t_mv:.2f}", "<= 0.5"),
        ("one batched matvec / plain GEMMs of the same shapes", f"{t_one / t_gemm:.2f}", "<= 2"),
    ]
    for name, val, tgt in rows:
        print(f"{name:<58}{val:>12}{tgt:>12}")

    res, msg = anchor_matfree(U, TAU * (1 / (TAU + model.eigenvalues) - 1 / TAU), D, k, steps, 1)
    if res is None:
        print(msg)
        return
    t_run, t_compile, anchor = res
    ks_a = anchor.ks_distance(lam)
    from importlib.metadata import version
    print(f"\nanchor matfree {version('matfree')} (JAX, same {k} Rademacher probes x {steps} steps, "
          f"full reorthogonalisation)")
    print(f"{'route':<32}{'time s':>10}{'KS eig':>10}")
    print(f"{'ours (slq_density)':<32}{t_slq:>10.2f}{ks_e.value:>10.4f}")
    print(f"{'matfree (after jit)':<32}{t_run:>10.2f}{ks_a.value:>10.4f}")
    print(f"{'matfree (first call, with jit)':<32}{t_compile:>10.2f}{'':>10}")
    print(f"matfree / ours time: {t_run / t_slq:.2f}")


if __name__ == "__main__":
    main()
