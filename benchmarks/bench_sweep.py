"""Per-task overhead of ``validation.sweep.run_sweep`` for many small tasks.

Baseline: a plain loop in this process that builds each task's generator from its ``task_seed`` and
calls the task (the work a sweep cannot avoid).  Each row runs the same tasks through ``run_sweep``
and reports its time, its ratio to the baseline, and the overhead per task
``(t - t_baseline) / n_tasks``.  Pool and Dask rows include starting the pool / connecting, but
not the one-off start of the fork server (printed first: later sweeps in the same process reuse it).
The in-process SQLite route commits every task on its own (nothing finished is ever lost); the pool
and Dask routes commit a chunk of tasks per transaction.

    python benchmarks/bench_sweep.py [--tasks 2000]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from validation.sweep import grid, run_sweep, task_seed

SEED = 12345


def tiny(params, rng):
    """Almost no work: measures the machinery alone."""
    return {"u": rng.random()}


def small(params, rng):
    """About a millisecond: eigenvalues of a 40 x 40 sample covariance."""
    x = rng.standard_normal((80, 40))
    return {"top": float(np.linalg.eigvalsh(x.T @ x / 80)[-1])}


def baseline(task, points) -> float:
    start = time.perf_counter()
    for p in points:
        task(p, np.random.default_rng(task_seed(SEED, p)))
    return time.perf_counter() - start


def timed(task, points, **kwargs) -> float:
    start = time.perf_counter()
    res = run_sweep(task, points, seed=SEED, **kwargs)
    elapsed = time.perf_counter() - start
    assert res.ok and res.n_run == len(points)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    points = grid(i=range(args.tasks))
    n = len(points)
    try:
        import distributed
    except ImportError:
        distributed = None

    start = time.perf_counter()
    run_sweep(tiny, grid(i=[0, 1]), seed=SEED, workers=2)
    print(f"first process pool in this process (fork server start): {time.perf_counter() - start:.2f} s")
    print(f"{n} tasks per row; overhead = (t - t_baseline) / n\n")
    print(f"{'task':<6} {'route':<34} {'seconds':>8} {'x baseline':>10} {'overhead/task':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        for task in (tiny, small):
            t0 = baseline(task, points)
            rows = [("plain loop (baseline)", t0)]
            rows.append(("run_sweep, in process, no store", timed(task, points)))
            rows.append(("run_sweep, in process, SQLite", timed(task, points, store=Path(tmp) / f"{task.__name__}1.db")))
            rows.append(("run_sweep, 2 processes, SQLite",
                         timed(task, points, workers=2, store=Path(tmp) / f"{task.__name__}2.db")))
            if distributed is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                                  protocol="tcp", host="127.0.0.1",
                                                  dashboard_address=None, silence_logs=40) as cluster:
                        rows.append(("run_sweep, Dask (2 threads), SQLite",
                                     timed(task, points, scheduler=cluster.scheduler_address,
                                           store=Path(tmp) / f"{task.__name__}3.db")))
            for route, t in rows:
                print(f"{task.__name__:<6} {route:<34} {t:8.3f} {t / t0:10.2f} {1e6 * (t - t0) / n:11.1f} us")
            print()


if __name__ == "__main__":
    main()
