"""Parameter sweeps: one task per grid point, on a local process pool or a Dask cluster, stored in SQLite.

>>> from validation.sweep import grid, run_sweep
>>> points = grid(n=[100, 200], spike=[0.5, 1.0, 2.0])        # 6 points, last axis fastest
>>> res = run_sweep(my_task, points, seed=1, store="runs.sqlite", workers=4)   # doctest: +SKIP
>>> res.array("overlap", reshape=True).shape                     # doctest: +SKIP
(2, 3)

A task is a module-level function ``task(params: dict, rng: numpy.random.Generator) -> dict`` whose
output is JSON-serialisable (numpy scalars and arrays are converted to numbers and lists).

Reproducibility
---------------
Task ``p`` draws from ``SeedSequence(entropy, spawn_key=root_key + h(p))`` where ``(entropy, root_key)``
is the sweep seed and ``h(p)`` is four 32-bit words of the SHA-256 of the canonical JSON of ``p``
(sorted keys, shortest float repr).  A task's stream therefore depends only on the sweep seed and its
own parameters: the same seed gives identical results with 1 worker, N workers or Dask, in any
completion order, and adding grid points leaves the other points' streams unchanged.  These are
spawn-key children in the sense of ``SeedSequence.spawn`` (which uses ``spawn_key + (i,)``), indexed by
a parameter hash instead of a counter; :func:`task_seed` rebuilds one to rerun a task by hand.

Execution
---------
``workers=1`` runs tasks in this process (debuggable) and commits each as it finishes;
``workers=N`` uses a ``ProcessPoolExecutor`` started with ``forkserver`` (``spawn`` where that is
missing), which never forks the parent and so is safe with numba/BLAS/Dask threads there;
``scheduler="tcp://host:port"`` uses ``dask.distributed`` (optional extra ``dask``; the task's module
must be importable on the workers).  Small tasks are batched: the first tasks go one per submission
to measure their cost, after which each submission carries about ``_TARGET_CHUNK_SECONDS`` of work, so
the per-task overhead of thousands of millisecond tasks stays small (``benchmarks/bench_sweep.py``)
while a slow task is never held back behind others.

Storage and resume
------------------
With ``store=PATH`` (see :mod:`validation.store`), the parent process writes each finished chunk of
tasks in one short transaction as soon as it returns.  Rerunning the same sweep (same name, task and
seed) skips tasks already stored as finished and retries failed ones; a SIGKILL loses only tasks whose
results had not yet reached the parent.  The definition check covers the task's name, not its code:
give the sweep a new ``name`` after changing what a task computes.

A task that raises becomes a ``"failed"`` row holding the traceback (so does an output that is not a
JSON-serialisable dict); failures are listed in :attr:`SweepResult.failed` and announced with a
:class:`TaskFailedWarning`, never dropped.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import itertools
import json
import math
import multiprocessing
import numbers
import os
import pickle
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import warnings
from concurrent import futures as cf
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np
from threadpoolctl import threadpool_limits

from spectral_theory import __version__
from spectral_theory.checks import SpectralTheoryError, integer

from .store import FAILED, OK, SweepError, SweepStore, as_path

_TARGET_CHUNK_SECONDS = 0.2  # work per submission once task cost is known
_MAX_CHUNK = 512  # bound on tasks per submission
_CONNECT_TIMEOUT = 5.0  # seconds to wait for a Dask scheduler
_KEY_WORDS = 4  # 32-bit words of the parameter hash in the spawn key (128 bits)


class TaskFailedWarning(UserWarning):
    """Some tasks of a sweep raised; see ``SweepResult.failed``."""


# ----------------------------------------------------------------------------------------------------
# Grids and keys
# ----------------------------------------------------------------------------------------------------
def _scalar_param(value, where: str):
    """Convert a parameter value to a JSON scalar (None, bool, int, finite float, str) or raise."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            raise SpectralTheoryError(f"{where} must be finite; got {v}")
        return v
    raise SpectralTheoryError(
        f"{where} must be a JSON scalar (None, bool, int, float or str); got {type(value).__name__} {value!r}"
    )


def canonical_params(params: dict) -> str:
    """The canonical JSON text of a parameter dict (sorted keys, no spaces): the task's identity."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _key_of(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).digest()[: 4 * _KEY_WORDS].hex()


def task_key(params: dict) -> str:
    """The stored key of a task: hex of the first 128 bits of SHA-256 of its canonical parameters."""
    return _key_of(canonical_params(params))


def _root_seed(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None or isinstance(seed, (bool, np.random.Generator)):
        raise SpectralTheoryError(
            "`seed` must be a non-negative integer or a numpy.random.SeedSequence (a sweep needs an explicit, "
            f"reproducible seed); got {seed!r}"
        )
    return np.random.SeedSequence(integer(seed, "seed", minimum=0))


def _seed_dict(ss: np.random.SeedSequence) -> dict:
    """The seed as JSON-ready plain ints (entropy: an int or a list of ints)."""
    e = ss.entropy
    entropy = int(e) if isinstance(e, numbers.Integral) else [int(x) for x in e]
    return {"entropy": entropy, "spawn_key": [int(k) for k in ss.spawn_key]}


def task_seed(seed, params: dict) -> np.random.SeedSequence:
    """The ``SeedSequence`` of the task with parameters ``params`` in a sweep seeded with ``seed``.

    ``task(params, np.random.default_rng(task_seed(seed, params)))`` reproduces a stored result.
    """
    root = _root_seed(seed)
    key = task_key(_check_point(params, "params"))
    return np.random.SeedSequence(root.entropy, spawn_key=_spawn_key(root, key))


def _spawn_key(root: np.random.SeedSequence, key: str) -> tuple:
    """The root's spawn key extended by the task key's four little-endian 32-bit words."""
    return tuple(int(k) for k in root.spawn_key) + struct.unpack(f"<{_KEY_WORDS}I", bytes.fromhex(key))


class _Point(NamedTuple):
    """A grid point prepared once: its key, parameters (and their JSON) and its stream's spawn key."""

    key: str
    params: dict
    params_json: str
    spawn_key: tuple


def _check_point(point, where: str) -> dict:
    if not isinstance(point, dict) or not point:
        raise SpectralTheoryError(f"{where} must be a non-empty dict of parameters; got {point!r}")
    out = {}
    for name, value in point.items():
        if not isinstance(name, str) or not name:
            raise SpectralTheoryError(f"{where} has a parameter name {name!r} that is not a non-empty string")
        out[name] = _scalar_param(value, f"{where}[{name!r}]")
    return out


class Grid(list):
    """A list of parameter dicts made by :func:`grid`, remembering its axes (``.axes``, ``.shape``)."""

    def __init__(self, points, axes: dict):
        super().__init__(points)
        self.axes = axes
        self.shape = tuple(len(v) for v in axes.values())


def grid(**axes) -> Grid:
    """The cartesian product of parameter axes, as a list of dicts (last axis varies fastest).

    Each axis is a list, tuple, range or 1-D array of distinct JSON scalars, or a single scalar
    (a fixed parameter).  ``grid(a=[1, 2], b=[0.5, 1.0])`` ->
    ``[{"a": 1, "b": 0.5}, {"a": 1, "b": 1.0}, {"a": 2, "b": 0.5}, {"a": 2, "b": 1.0}]``.
    """
    if not axes:
        raise SpectralTheoryError("`grid` needs at least one axis, e.g. grid(n=[100, 200])")
    clean = {}
    for name, values in axes.items():
        if isinstance(values, np.ndarray):
            if values.ndim > 1:
                raise SpectralTheoryError(f"grid axis `{name}` must be 1-D; got shape {values.shape}")
            values = values.reshape(-1).tolist()
        elif isinstance(values, (list, tuple, range)):
            values = list(values)
        elif isinstance(values, (set, frozenset, dict)) or not _is_scalar_like(values):
            raise SpectralTheoryError(
                f"grid axis `{name}` must be a list, tuple, range or 1-D array of values (ordered); "
                f"got {type(values).__name__}"
            )
        else:
            values = [values]
        if not values:
            raise SpectralTheoryError(f"grid axis `{name}` is empty")
        values = [_scalar_param(v, f"grid axis `{name}`[{i}]") for i, v in enumerate(values)]
        seen = {}
        for i, v in enumerate(values):
            k = json.dumps(v)
            if k in seen:
                raise SpectralTheoryError(f"grid axis `{name}` repeats the value {v!r} (positions {seen[k]} and {i})")
            seen[k] = i
        clean[name] = tuple(values)
    points = [dict(zip(clean, combo)) for combo in itertools.product(*clean.values())]
    return Grid(points, clean)


def _is_scalar_like(value) -> bool:
    return value is None or isinstance(value, (str, bool, numbers.Number, np.generic))


def _check_grid(points, root: np.random.SeedSequence) -> list[_Point]:
    if isinstance(points, dict) or not isinstance(points, (list, tuple)):
        raise SpectralTheoryError(
            f"`grid` must be a list of parameter dicts (see validation.sweep.grid); got {type(points).__name__}"
        )
    if not points:
        raise SpectralTheoryError("`grid` is empty: nothing to run")
    out, first = [], {}
    for i, p in enumerate(points):
        params = _check_point(p, f"`grid`[{i}]")
        text = canonical_params(params)
        key = _key_of(text)
        if key in first:
            raise SpectralTheoryError(f"`grid` repeats the point {params} (positions {first[key]} and {i})")
        first[key] = i
        out.append(_Point(key, params, text, _spawn_key(root, key)))
    return out


def _task_name(task) -> str:
    if not callable(task):
        raise SpectralTheoryError(f"`task` must be a function task(params, rng) -> dict; got {task!r}")
    try:
        pickle.dumps(task)
    except Exception as e:
        raise SpectralTheoryError(
            f"`task` {getattr(task, '__qualname__', task)!r} must be a module-level function so that worker "
            f"processes can import it (lambdas and nested functions cannot be sent): {e}"
        ) from e
    return _describe(task)


def _describe(task) -> str:
    """A stable name for the task: ``module:qualname``, with the bound arguments of a partial."""
    if isinstance(task, functools.partial):
        kwargs = ", ".join(f"{k}={v!r}" for k, v in sorted(task.keywords.items()))
        args = ", ".join(map(repr, task.args))
        return f"{_describe(task.func)}({', '.join(x for x in (args, kwargs) if x)})"
    return f"{getattr(task, '__module__', '?')}:{getattr(task, '__qualname__', type(task).__qualname__)}"


# ----------------------------------------------------------------------------------------------------
# The worker side
# ----------------------------------------------------------------------------------------------------
def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"a value of type {type(obj).__name__} is not JSON-serialisable")


def _encode_output(out) -> str:
    if not isinstance(out, dict):
        raise TypeError(f"the task must return a dict; it returned {type(out).__name__}")
    bad = [k for k in out if not isinstance(k, str)]
    if bad:
        raise TypeError(f"the task's output keys must be strings; got {bad[:3]}")
    return json.dumps(out, default=_json_default, allow_nan=True)


def _run_chunk(task, entropy, items):
    """Run ``items`` = [(key, params, spawn_key)] in order; return [(key, status, result, error, seconds)].

    Runs in the worker.  Task exceptions and invalid outputs become failed rows with the traceback.
    """
    rows = []
    for key, params, spawn_key in items:
        rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=spawn_key))
        start = time.perf_counter()
        try:
            out = task(dict(params), rng)
            seconds = time.perf_counter() - start
            try:
                result = _encode_output(out)
            except (TypeError, ValueError) as e:
                rows.append((key, FAILED, None, f"invalid task output: {e}", seconds))
                continue
            rows.append((key, OK, result, None, seconds))
        except Exception as e:  # the traceback from the task's own frame down
            text = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
            rows.append((key, FAILED, None, text, time.perf_counter() - start))
    return rows


# ----------------------------------------------------------------------------------------------------
# Executors: submit(chunk) -> future; wait_any(futures) -> done futures; close(error)
# ----------------------------------------------------------------------------------------------------
class _Done:
    """An already-computed result with the future interface."""

    def __init__(self, fn, *args):
        self._value = fn(*args)

    def result(self):
        return self._value


class _InlineExecutor:
    capacity = 1
    max_chunk = 1  # one task at a time, committed as soon as it finishes

    def submit(self, *args):
        return _Done(_run_chunk, *args)

    def wait_any(self, pending):
        return list(pending)

    def close(self, error: bool):
        pass


def _pool_context(task_module: str):
    """A fork-free start method: ``forkserver`` where available (else ``spawn``).

    Neither forks the (possibly multi-threaded: numba, BLAS, Dask) parent.  The fork server imports
    this module and the task's module once, and forks every worker from itself, so a pool starts in
    a fraction of the time ``spawn`` needs to import numpy/scipy in each worker; later pools in the
    same process reuse the running server.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    from multiprocessing import forkserver

    preload = list(getattr(forkserver._forkserver, "_preload_modules", ["__main__"]))
    missing = [m for m in (__name__, task_module) if m not in preload]
    if missing:  # only read when the server starts; harmless afterwards
        ctx.set_forkserver_preload(preload + missing)
    return ctx


def _init_worker(threads: int, sweep_pid: int):
    """Pool-worker initializer: the worker dies with the sweep's process; each worker's BLAS/OpenMP
    gets its share of the cores (oversubscribed OpenBLAS threads spin and can make the small dense
    products of typical tasks 10-100x slower)."""
    _die_with(sweep_pid)
    threadpool_limits(threads)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_WATCH_SECONDS = 0.5  # how often the fallback watchdog looks at the sweep's process


def _die_with(sweep_pid: int):
    """End this worker as soon as the process running the sweep ends, however it ends (SIGKILL too).

    A worker's parent is the fork server, not the sweep's process, and the fork server (with the
    resource tracker after it) exits only once every worker has: so the workers must notice the
    sweep's death themselves.  On Linux ``PR_SET_PDEATHSIG`` kills the worker with its parent, and a
    daemon thread waits on a pidfd of the sweep's process (woken at its exit); elsewhere the thread
    polls ``os.getppid()`` and ``os.kill(pid, 0)`` every ``_WATCH_SECONDS``.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no libc symbol: the watchdog below still covers it
            pass
    parent = os.getppid()
    if parent != sweep_pid and not _alive(sweep_pid):      # died before we got here
        os._exit(1)
    threading.Thread(target=_watch, args=(sweep_pid, parent), name="sweep-watchdog", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the pid reused by another user's process
        return False
    return True


def _watch(sweep_pid: int, parent: int):
    try:
        pidfd = os.pidfd_open(sweep_pid)                      # Linux >= 5.3: readable once it has exited
    except (AttributeError, OSError):
        pidfd = None
    while True:
        if pidfd is not None:
            if select.select([pidfd], [], [], _WATCH_SECONDS)[0]:
                os._exit(1)
        else:
            time.sleep(_WATCH_SECONDS)
            if not _alive(sweep_pid):
                os._exit(1)
        if os.getppid() != parent:                            # the fork server died: we were re-parented
            os._exit(1)


class _PoolExecutor:
    def __init__(self, workers: int, task_module: str):
        self.capacity = 2 * workers  # keep every worker busy while the parent stores results
        self.max_chunk = _MAX_CHUNK
        threads = max(1, (os.cpu_count() or 1) // workers)
        self._pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(task_module),
                                            initializer=_init_worker, initargs=(threads, os.getpid()))

    def submit(self, *args):
        return self._pool.submit(_run_chunk, *args)

    def wait_any(self, pending):
        return cf.wait(pending, return_when=cf.FIRST_COMPLETED).done

    def close(self, error: bool):
        if error:  # interrupted or failed: stop the running tasks now rather than wait for them
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                proc.terminate()
        self._pool.shutdown(wait=not error, cancel_futures=error)


class _DaskExecutor:
    def __init__(self, address: str):
        _probe(address)
        try:
            import distributed
        except ImportError as e:
            raise SpectralTheoryError(
                "`scheduler` needs dask.distributed: pip install 'spectral-theory[dask]'"
            ) from e
        self._distributed = distributed
        try:
            self._client = distributed.Client(address, timeout=_CONNECT_TIMEOUT, set_as_default=False)
        except Exception as e:  # a non-Dask server answering can raise anything while handshaking
            raise SpectralTheoryError(
                f"`scheduler` {address!r}: could not connect to a Dask scheduler within {_CONNECT_TIMEOUT:g} s "
                f"({type(e).__name__}: {e})"
            ) from e
        threads = sum(self._client.nthreads().values())
        self.capacity = 2 * max(threads, 1)
        self.max_chunk = _MAX_CHUNK

    def submit(self, *args):
        return self._client.submit(_run_chunk, *args, pure=False)

    def wait_any(self, pending):
        with self._client.as_current():  # wait() looks for the current client
            return self._distributed.wait(list(pending), return_when="FIRST_COMPLETED").done

    def close(self, error: bool):
        self._client.close()


def _probe(address: str):
    """Fail within ``_CONNECT_TIMEOUT`` seconds if nothing listens at a tcp:// scheduler address."""
    if not isinstance(address, str) or not address:
        raise SpectralTheoryError(f"`scheduler` must be an address like 'tcp://host:8786'; got {address!r}")
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return  # other transports (tls, inproc, ucx): leave the check to distributed
    try:
        port = parts.port
    except ValueError as e:
        raise SpectralTheoryError(f"`scheduler` {address!r} has an invalid port") from e
    if not parts.hostname or port is None:
        raise SpectralTheoryError(f"`scheduler` must be an address like 'tcp://host:8786'; got {address!r}")
    try:
        socket.create_connection((parts.hostname, port), timeout=_CONNECT_TIMEOUT).close()
    except OSError as e:
        raise SpectralTheoryError(
            f"`scheduler` {address!r} does not answer ({e}); is a Dask scheduler running there?"
        ) from e


class _ChunkSizer:
    """Tasks per submission: 1 until the task cost is measured, then about ``_TARGET_CHUNK_SECONDS``."""

    def __init__(self, capacity: int, max_chunk: int):
        self._capacity = capacity
        self._max_chunk = max_chunk
        self._seconds = 0.0
        self._count = 0

    def observe(self, rows):
        self._seconds += sum(r[4] for r in rows)
        self._count += len(rows)

    def size(self, n_pending: int) -> int:
        if self._count == 0:
            return 1
        per_task = max(self._seconds / self._count, 1e-6)
        size = min(round(_TARGET_CHUNK_SECONDS / per_task), self._max_chunk)
        return max(1, min(size, math.ceil(n_pending / self._capacity)))  # balance the tail


# ----------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepResult:
    """The rows of a sweep, aligned with its grid.

    Attributes
    ----------
    name : the sweep's name (its key in the store).
    rows : one dict per grid point, in grid order: ``params``, ``result`` (dict, None if failed),
        ``status`` ("ok"/"failed"), ``error`` (traceback or None), ``seconds`` (task wall time),
        ``seed`` ({"entropy", "spawn_key"}: ``numpy.random.SeedSequence(**seed)`` is the task's stream),
        ``key``, ``version`` (package version that computed it).
    n_run, n_skipped : tasks computed by this call / found finished in the store.
    seconds : wall time of this call.
    store : path of the SQLite file, or None.
    axes : the grid's axes when it came from :func:`grid` (enables ``reshape=True``), else None.
    """

    name: str
    rows: tuple
    n_run: int
    n_skipped: int
    seconds: float
    store: str | None = None
    axes: dict | None = field(default=None, repr=False)

    @property
    def failed(self) -> list[dict]:
        """Rows of tasks that raised (or returned invalid output), with their tracebacks."""
        return [r for r in self.rows if r["status"] != OK]

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self):
        """Raise :class:`SweepError` describing the failed tasks, if any."""
        bad = self.failed
        if bad:
            raise SweepError(_failure_summary(self.name, bad, len(self.rows)))

    def values(self, field_name: str) -> list:
        """``result[field_name]`` for every grid point (None where the task failed)."""
        out = []
        for r in self.rows:
            if r["status"] != OK:
                out.append(None)
            elif field_name not in r["result"]:
                raise SpectralTheoryError(
                    f"result field `{field_name}` is missing for params {r['params']}; fields: {sorted(r['result'])}"
                )
            else:
                out.append(r["result"][field_name])
        return out

    def array(self, field_name: str, *, reshape: bool = False) -> np.ndarray:
        """``result[field_name]`` as a float64 array aligned with the grid; NaN where a task failed.

        Shape ``(n_points, *value_shape)``, or ``(*grid.shape, *value_shape)`` with ``reshape=True``
        (grids made by :func:`grid` only).
        """
        values = self.values(field_name)
        try:
            present = [np.asarray(v, dtype=np.float64) for v in values if v is not None]
        except (TypeError, ValueError) as e:
            raise SpectralTheoryError(f"result field `{field_name}` is not numeric ({e}); use .values()") from e
        shapes = {a.shape for a in present}
        if len(shapes) > 1:
            raise SpectralTheoryError(
                f"result field `{field_name}` has different shapes across tasks {sorted(shapes)}; use .values()"
            )
        value_shape = shapes.pop() if shapes else ()
        out = np.full((len(values),) + value_shape, np.nan)
        for i, v in enumerate(values):
            if v is not None:
                out[i] = v
        return self._reshape(out, reshape)

    def param_array(self, name: str, *, reshape: bool = False) -> np.ndarray:
        """The parameter ``name`` of every grid point, aligned with :meth:`array`."""
        out = np.asarray([r["params"].get(name) for r in self.rows])
        return self._reshape(out, reshape)

    def _reshape(self, out: np.ndarray, reshape: bool) -> np.ndarray:
        if not reshape:
            return out
        if self.axes is None:
            raise SpectralTheoryError("reshape=True needs a grid made by validation.sweep.grid(...)")
        return out.reshape(tuple(len(v) for v in self.axes.values()) + out.shape[1:])


def _failure_summary(name: str, bad: list, total: int) -> str:
    first = bad[0]
    last_line = (first["error"] or "").strip().splitlines()[-1:] or ["?"]
    return (f"{len(bad)} of {total} tasks of sweep {name!r} failed; first: params {first['params']}: "
            f"{last_line[0]} (full tracebacks in SweepResult.failed)")


# ----------------------------------------------------------------------------------------------------
# The driver
# ----------------------------------------------------------------------------------------------------
def run_sweep(task, grid, *, seed, store=None, workers=1, scheduler=None, progress=False, name=None) -> SweepResult:
    """Run ``task(params, rng)`` on every point of ``grid``; store rows as they finish; resume.

    Parameters
    ----------
    task : module-level function ``task(params: dict, rng: numpy.random.Generator) -> dict`` with a
        JSON-serialisable output (numpy scalars/arrays allowed).
    grid : list of parameter dicts (JSON scalar values, no repeated point), e.g. from :func:`grid`.
    seed : int >= 0 or ``numpy.random.SeedSequence``; with the parameters it fixes every task's stream.
    store : path of an SQLite file for the rows (created if missing); None keeps them in memory only.
    workers : local worker processes (1 = run in this process); ignored when ``scheduler`` is given.
    scheduler : Dask scheduler address ``"tcp://host:port"``; an address that does not answer fails
        within ~5 s.
    progress : report progress on stderr: a tqdm bar on a terminal (when tqdm is installed), else
        plain lines (at most one every 2 s, and the last).
    name : the sweep's name in the store (default ``"module:function"`` of ``task``).

    Returns
    -------
    SweepResult with one row per grid point, in grid order.

    Raises
    ------
    SpectralTheoryError : invalid task, grid, seed, workers, scheduler or store (before any task runs).
    SweepError : a worker process or the cluster failed mid-sweep (finished rows are already stored).
    """
    started = time.perf_counter()
    task_name = _task_name(task)
    root = _root_seed(seed)
    points = _check_grid(grid, root)
    workers = integer(workers, "workers", minimum=1)
    if not isinstance(progress, (bool, np.bool_)):
        raise SpectralTheoryError(f"`progress` must be True or False; got {progress!r}")
    name = task_name if name is None else name
    if not isinstance(name, str) or not name:
        raise SpectralTheoryError(f"`name` must be a non-empty string; got {name!r}")
    by_key = {pt.key: pt for pt in points}
    seed_info = _seed_dict(root)
    entropy = seed_info["entropy"]

    db = SweepStore(store) if store is not None else None
    try:
        rows = {}  # key -> public row
        if db is not None:
            db.register(name, task_name, seed_info, __version__)
            done = db.finished_keys(name) & by_key.keys()
            rows.update((k, _public_row(r)) for k, r in db.read(name, done).items())
        todo = [pt for pt in points if pt.key not in rows]
        if todo:
            executor = _make_executor(task, workers, scheduler, len(todo))
            bar = _progress_bar(progress, len(points), len(rows), name)
            entropy_json = json.dumps(entropy)
            try:
                for finished in _execute(executor, task, entropy, todo):
                    records = [_record(by_key[r[0]], entropy_json, r) for r in finished]
                    if db is not None:
                        db.write(name, records)
                    rows.update((rec["key"], _fresh_row(by_key[rec["key"]], entropy, rec)) for rec in records)
                    if bar is not None:
                        bar.update(len(finished))
            finally:
                if bar is not None:
                    bar.close()
    finally:
        if db is not None:
            db.close()

    rows = tuple(rows[pt.key] for pt in points)
    done = len(points) - len(todo)
    result = SweepResult(name=name, rows=rows, n_run=len(todo), n_skipped=done,
                         seconds=time.perf_counter() - started,
                         store=None if store is None else str(store), axes=getattr(grid, "axes", None))
    if result.failed:
        warnings.warn(_failure_summary(name, result.failed, len(rows)), TaskFailedWarning, stacklevel=2)
    return result


def _make_executor(task, workers: int, scheduler, n_tasks: int):
    if scheduler is not None:
        return _DaskExecutor(scheduler)
    if workers == 1 or n_tasks == 1:
        return _InlineExecutor()
    return _PoolExecutor(min(workers, n_tasks), task.__module__)


def _execute(executor, task, entropy, points):
    """Yield lists of finished rows as chunks complete, keeping ``executor.capacity`` chunks in flight."""
    sizer = _ChunkSizer(executor.capacity, executor.max_chunk)
    queue = list(reversed(points))  # pop() from the end = grid order
    pending = set()
    error = True
    try:
        while queue or pending:
            while queue and len(pending) < executor.capacity:
                chunk = [queue.pop() for _ in range(min(sizer.size(len(queue)), len(queue)))]
                pending.add(executor.submit(task, entropy, [(pt.key, pt.params, pt.spawn_key) for pt in chunk]))
            for fut in executor.wait_any(pending):
                pending.discard(fut)
                try:
                    rows = fut.result()
                except Exception as e:
                    raise SweepError(
                        f"the sweep's executor failed ({type(e).__name__}: {e}); rows already finished are "
                        f"stored, rerun to resume"
                    ) from e
                sizer.observe(rows)
                yield rows
        error = False
    finally:
        executor.close(error)


def _record(point: _Point, entropy_json: str, row) -> dict:
    """A store row (JSON text columns) from a worker row."""
    key, status, result, error, seconds = row
    seed = f'{{"entropy": {entropy_json}, "spawn_key": [{", ".join(map(str, point.spawn_key))}]}}'
    return dict(key=key, params=point.params_json, seed=seed, status=status,
                result=result, error=error, seconds=float(seconds), version=__version__)


def _fresh_row(point: _Point, entropy, rec: dict) -> dict:
    """The public row of a task just stored as ``rec`` (decoded as a stored row would be)."""
    return dict(params=dict(point.params), result=None if rec["result"] is None else json.loads(rec["result"]),
                status=rec["status"], error=rec["error"], seconds=rec["seconds"],
                seed={"entropy": entropy, "spawn_key": list(point.spawn_key)}, key=rec["key"],
                version=rec["version"])


def _public_row(rec: dict) -> dict:
    return {k: rec[k] for k in ("params", "result", "status", "error", "seconds", "seed", "key", "version")}


_PLAIN_PROGRESS_SECONDS = 2.0  # at most one plain progress line per this interval (and the last one)


class _PlainProgress:
    """Progress as whole lines (``name: 5/23 tasks, 12.3 s``) for a pipe or a file, where a
    carriage-return bar would leave a mess; also the fallback on a terminal without tqdm."""

    def __init__(self, total: int, initial: int, name: str):
        self._total, self._done, self._name = total, initial, name
        self._start = self._last = time.monotonic()

    def update(self, n: int):
        self._done += n
        now = time.monotonic()
        if self._done >= self._total or now - self._last >= _PLAIN_PROGRESS_SECONDS:
            self._last = now
            print(f"{self._name}: {self._done}/{self._total} tasks, {now - self._start:.1f} s",
                  file=sys.stderr, flush=True)

    def close(self):
        pass


def _progress_bar(progress: bool, total: int, initial: int, name: str):
    """A tqdm bar on a terminal, plain lines otherwise (None without ``progress``)."""
    if not progress:
        return None
    if sys.stderr.isatty():
        try:
            from tqdm.auto import tqdm
            return tqdm(total=total, initial=initial, desc=name, unit="task", file=sys.stderr)
        except ImportError:
            pass
    return _PlainProgress(total, initial, name)


def load_sweep(store, name: str) -> SweepResult:
    """Read every stored row of sweep ``name`` from ``store`` (in no particular grid order)."""
    if not as_path(store).is_file():
        raise SpectralTheoryError(f"`store` {str(store)!r} does not exist")
    with SweepStore(store) as db:
        if name not in db.sweeps():
            raise SpectralTheoryError(f"`store` {str(store)!r} has no sweep {name!r}; it has {sorted(db.sweeps())}")
        stored = db.read(name)
    rows = tuple(_public_row(r) for r in stored.values())
    return SweepResult(name=name, rows=rows, n_run=0, n_skipped=len(rows), seconds=0.0, store=str(store))
