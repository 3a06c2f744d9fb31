"""Sweeps: grids, per-task seeds, executors (inline, process pool, Dask) and resume (the SQLite store
itself: test_store.py)."""
import hashlib
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import finished_rows, session_processes, wait_for_no_processes
from hypothesis import given, settings, strategies as hst

from spectral_theory import SpectralTheoryError
from validation.sweep import (SweepError, TaskFailedWarning, _ChunkSizer, grid, run_sweep,
                              task_key, task_seed)

CALLS = []  # parameters seen by _counted (in-process runs only)


# -- tasks (module level so that worker processes can import them) ----------------------------------
def _draw(params, rng):
    return {"x": rng.normal(size=3) * params["scale"], "u": rng.random(), "label": f"scale={params['scale']}"}


def _counted(params, rng):
    CALLS.append(params)
    return {"u": rng.random()}


def _fragile(params, rng):
    if params["k"] % 3 == 0:
        raise ZeroDivisionError(f"k={params['k']} is divisible by 3")
    return {"u": rng.random()}


def _fails_until_flag(params, rng):
    if not os.path.exists(params["flag"]):
        raise FileNotFoundError(params["flag"])
    return {"u": rng.random()}


def _bad_output(params, rng):
    return {"not_a_dict": [1.0], "complex": {"z": 1j}, "int_key": {1: 2.0}}[params["kind"]]


def _slow(params, rng):
    time.sleep(float(os.environ.get("SWEEP_TEST_DELAY", "0")))
    return {"u": rng.random(), "k": params["k"]}


def _dies(params, rng):
    if params["k"] == 5:
        os._exit(3)  # a worker process that crashes outright (segfault, OOM kill)
    time.sleep(0.02)
    return {"u": rng.random()}


def _file_digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- grids --------------------------------------------------------------------------------------------
def test_grid_is_the_cartesian_product_with_the_last_axis_fastest():
    g = grid(a=[1, 2], b=np.array([0.5, 1.0, 2.0]), c="fixed")
    assert g.shape == (2, 3, 1)
    assert g[:4] == [{"a": 1, "b": 0.5, "c": "fixed"}, {"a": 1, "b": 1.0, "c": "fixed"},
                     {"a": 1, "b": 2.0, "c": "fixed"}, {"a": 2, "b": 0.5, "c": "fixed"}]
    assert len(g) == 6
    assert all(type(p["b"]) is float and type(p["a"]) is int for p in grid(a=np.arange(2), b=np.float32(0.5)))


@pytest.mark.parametrize("axes, match", [
    ({}, "at least one axis"),
    ({"a": []}, "`a` is empty"),
    ({"a": [1, 2, 1]}, "repeats the value 1"),
    ({"a": {1, 2}}, "ordered"),
    ({"a": [[1, 2]]}, "JSON scalar"),
    ({"a": [1.0, float("nan")]}, "finite"),
    ({"a": np.zeros((2, 2))}, "1-D"),
    ({"a": object()}, "list, tuple"),
])
def test_invalid_grid_axes_are_refused(axes, match):
    with pytest.raises(SpectralTheoryError, match=match):
        grid(**axes)


@pytest.mark.parametrize("points, match", [
    ([], "empty"),
    ({"a": 1}, "list of parameter dicts"),
    ([{"a": 1}, 3], r"`grid`\[1\]"),
    ([{"a": 1, "b": 2}, {"b": 2, "a": 1}], "repeats the point"),
    ([{"a": [1]}], "JSON scalar"),
    ([{}], "non-empty dict"),
])
def test_invalid_grids_are_refused_before_anything_runs(points, match):
    with pytest.raises(SpectralTheoryError, match=match):
        run_sweep(_counted, points, seed=0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(seed=None), "explicit"),
    (dict(seed=np.random.default_rng(0)), "explicit"),
    (dict(seed=-1), "seed"),
    (dict(seed=0, workers=0), "workers"),
    (dict(seed=0, name=""), "name"),
])
def test_invalid_settings_are_refused(kwargs, match):
    with pytest.raises(SpectralTheoryError, match=match):
        run_sweep(_counted, grid(k=[1]), **kwargs)


def _scaled(params, rng, factor=1.0):
    return {"u": factor * rng.random()}


def test_partials_are_tasks_named_with_their_bound_arguments(tmp_path):
    import functools

    res = run_sweep(functools.partial(_scaled, factor=2.0), grid(k=[1]), seed=0, store=tmp_path / "s.sqlite")
    assert res.name == f"{_scaled.__module__}:_scaled(factor=2.0)"
    plain = run_sweep(_scaled, grid(k=[1]), seed=0)
    assert res.rows[0]["result"]["u"] == 2.0 * plain.rows[0]["result"]["u"]
    with pytest.raises(SpectralTheoryError, match="already holds"):
        run_sweep(functools.partial(_scaled, factor=3.0), grid(k=[1]), seed=0, store=tmp_path / "s.sqlite",
                  name=res.name)


def test_lambdas_and_nested_functions_are_refused_as_tasks():
    def nested(params, rng):
        return {}

    for bad in (lambda p, r: {}, nested):
        with pytest.raises(SpectralTheoryError, match="module-level"):
            run_sweep(bad, grid(k=[1]), seed=0)


# -- seeds --------------------------------------------------------------------------------------------
def test_a_task_stream_depends_only_on_the_seed_and_its_own_parameters():
    small = run_sweep(_draw, grid(scale=[1.0, 2.0]), seed=7)
    big = run_sweep(_draw, grid(scale=[3.0, 1.0, 0.5, 2.0]), seed=7)
    by_scale = {r["params"]["scale"]: r["result"] for r in big.rows}
    assert [r["result"] for r in small.rows] == [by_scale[1.0], by_scale[2.0]]
    # and differs between seeds and between points
    other = run_sweep(_draw, grid(scale=[1.0, 2.0]), seed=8)
    assert other.rows[0]["result"]["u"] != small.rows[0]["result"]["u"]
    assert small.rows[0]["result"]["u"] != small.rows[1]["result"]["u"]


def test_task_seed_and_the_stored_seed_reproduce_a_row_by_hand():
    res = run_sweep(_draw, grid(scale=[1.5, 2.5]), seed=np.random.SeedSequence(11, spawn_key=(4,)))
    for row in res.rows:
        ss = task_seed(np.random.SeedSequence(11, spawn_key=(4,)), row["params"])
        assert ss.spawn_key == tuple(row["seed"]["spawn_key"]) and ss.entropy == row["seed"]["entropy"]
        assert ss.spawn_key[:1] == (4,)  # a child of the given SeedSequence
        redo = json.loads(json.dumps(_draw(row["params"], np.random.default_rng(ss)), default=list))
        direct = _draw(row["params"], np.random.default_rng(np.random.SeedSequence(**row["seed"])))
        assert redo["u"] == row["result"]["u"] == direct["u"]
        assert np.array_equal(direct["x"], row["result"]["x"])
    assert task_key({"a": 1, "b": 2.0}) == task_key({"b": 2.0, "a": 1}) != task_key({"a": 1, "b": 2})


def test_a_seed_sequence_with_tuple_entropy_resumes_from_its_store(tmp_path):
    seed = np.random.SeedSequence((np.int64(3), 2**70), spawn_key=(1,))
    first = run_sweep(_draw, grid(scale=[1.0, 2.0]), seed=seed, store=tmp_path / "s.sqlite")
    again = run_sweep(_draw, grid(scale=[1.0, 2.0]), seed=seed, store=tmp_path / "s.sqlite")
    assert again.n_skipped == 2 and _results(again) == _results(first)
    assert first.rows[0]["seed"]["entropy"] == [3, 2**70]


def _results(res):
    return [(r["params"], r["result"], r["seed"]) for r in res.rows]


def test_one_worker_four_workers_and_dask_give_identical_results():
    distributed = pytest.importorskip("distributed")
    points = grid(scale=np.linspace(0.5, 3.0, 24))
    inline = run_sweep(_draw, points, seed=2024)
    pooled = run_sweep(_draw, points, seed=2024, workers=4)
    assert _results(pooled) == _results(inline)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        dask = run_sweep(_draw, points, seed=2024, scheduler=cluster.scheduler_address)
    assert _results(dask) == _results(inline)


def test_chunks_start_at_one_task_and_grow_to_the_target_duration_but_balance_the_tail():
    sizer = _ChunkSizer(capacity=4, max_chunk=512)
    assert sizer.size(1000) == 1  # cost unknown: one task per submission
    sizer.observe([("k", "ok", "{}", None, 1e-3)] * 10)  # 1 ms tasks -> 200 per 0.2 s chunk
    assert sizer.size(10_000) == 200
    assert sizer.size(40) == 10  # 40 tasks left over 4 slots
    sizer.observe([("k", "ok", "{}", None, 10.0)])
    assert sizer.size(10_000) == 1  # slow tasks go one by one
    inline = _ChunkSizer(capacity=1, max_chunk=1)
    inline.observe([("k", "ok", "{}", None, 1e-6)])
    assert inline.size(10_000) == 1


# -- failures -----------------------------------------------------------------------------------------
def test_task_exceptions_become_failed_rows_with_tracebacks_and_a_warning():
    with pytest.warns(TaskFailedWarning, match="3 of 7 tasks .* failed.*ZeroDivisionError"):
        res = run_sweep(_fragile, grid(k=range(7)), seed=1)
    assert [r["params"]["k"] for r in res.failed] == [0, 3, 6]
    assert all("_fragile" in r["error"] and "divisible by 3" in r["error"] for r in res.failed)
    assert not res.ok
    u = res.array("u")
    assert np.isnan(u[[0, 3, 6]]).all() and np.isfinite(u[[1, 2, 4, 5]]).all()
    with pytest.raises(SweepError, match="3 of 7"):
        res.raise_for_failures()


def test_outputs_that_are_not_json_dicts_are_failed_rows():
    with pytest.warns(TaskFailedWarning):
        res = run_sweep(_bad_output, grid(kind=["not_a_dict", "complex", "int_key"]), seed=1)
    errors = [r["error"] for r in res.rows]
    assert all(e.startswith("invalid task output") for e in errors)
    assert "must return a dict" in errors[0] and "complex" in errors[1] and "strings" in errors[2]


def test_a_crashed_worker_process_is_a_clear_error_and_finished_rows_are_kept(tmp_path):
    path = tmp_path / "s.sqlite"
    with pytest.raises(SweepError, match="executor failed.*rerun to resume"):
        run_sweep(_dies, grid(k=range(40)), seed=1, store=path, workers=2, name="crash")
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        keys = {r[0] for r in con.execute("SELECT key FROM tasks WHERE status = 'ok'")}
    con.close()
    assert task_key({"k": 5}) not in keys and keys <= {task_key({"k": k}) for k in range(40)}


# -- results ------------------------------------------------------------------------------------------
def test_result_arrays_are_aligned_with_the_grid():
    points = grid(scale=[1.0, 2.0], k=[0, 1, 2])
    res = run_sweep(_draw, points, seed=3)
    assert res.array("x").shape == (6, 3)
    assert res.array("x", reshape=True).shape == (2, 3, 3)
    assert np.array_equal(res.param_array("scale", reshape=True)[:, 0], [1.0, 2.0])
    assert res.array("u", reshape=True)[1, 2] == res.rows[5]["result"]["u"]
    assert res.values("label") == ["scale=1.0"] * 3 + ["scale=2.0"] * 3
    with pytest.raises(SpectralTheoryError, match="missing"):
        res.array("nope")
    with pytest.raises(SpectralTheoryError, match="not numeric"):
        res.array("label")
    with pytest.raises(SpectralTheoryError, match="made by"):
        run_sweep(_draw, list(points), seed=3).array("u", reshape=True)


# -- scheduler ----------------------------------------------------------------------------------------
def test_a_scheduler_that_does_not_answer_fails_within_seconds():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    with pytest.raises(SpectralTheoryError, match="does not answer"):
        run_sweep(_counted, grid(k=[1]), seed=1, scheduler=f"tcp://127.0.0.1:{port}")
    assert time.perf_counter() - start < 6.0
    for bad in ("", "tcp://", "tcp://host:notaport", 8786):
        with pytest.raises(SpectralTheoryError, match="scheduler"):
            run_sweep(_counted, grid(k=[1]), seed=1, scheduler=bad)


# -- progress -----------------------------------------------------------------------------------------
class _FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal_and_only_when_asked(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    run_sweep(_counted, grid(k=range(3)), seed=1, progress=True, name="plain")  # stderr is not a terminal
    err = capsys.readouterr().err
    assert "\r" not in err and err.splitlines()[-1].startswith("plain: 3/3 tasks, ")  # whole lines only
    fake = _FakeTerminal()
    monkeypatch.setattr(sys, "stderr", fake)
    run_sweep(_counted, grid(k=range(3)), seed=1, progress=False)
    assert fake.getvalue() == ""
    run_sweep(_counted, grid(k=range(3)), seed=1, progress=True, name="bar")
    assert "bar" in fake.getvalue() and "3/3" in fake.getvalue()


# -- SIGKILL mid-sweep --------------------------------------------------------------------------------
_KILLED_SWEEP = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from test_sweep import _slow
    from validation.sweep import grid, run_sweep
    if __name__ == "__main__":
        run_sweep(_slow, grid(k=range({n})), seed=5, store={path!r}, workers=2, name="killed")
""")


def test_sigkill_mid_sweep_loses_no_finished_row_and_the_rerun_completes_the_rest(tmp_path):
    n = 60
    path = tmp_path / "killed.sqlite"
    script = tmp_path / "run.py"
    script.write_text(_KILLED_SWEEP.format(tests=str(Path(__file__).parent), n=n, path=str(path)))
    env = dict(os.environ, SWEEP_TEST_DELAY="0.1")
    proc = subprocess.Popen([sys.executable, str(script)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while finished_rows(path) < 6:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep stored nothing within 60 s"
            time.sleep(0.05)
        assert len(session_processes(proc.pid)) >= 4   # the sweep, fork server, resource tracker, workers
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        # the workers die with the sweep; then the fork server and the resource tracker exit
        assert wait_for_no_processes(proc.pid, timeout=5) == []
    finally:
        try:  # the pool workers, if still alive, belong to the killed process's session
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.stderr.close()

    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    stored = con.execute("SELECT params, seed, status, result, error FROM tasks WHERE sweep = 'killed'").fetchall()
    con.close()
    n_before = len(stored)
    assert 6 <= n_before < n
    for params, seed, status, result, error in stored:  # every row is whole and right
        params, seed = json.loads(params), json.loads(seed)
        assert status == "ok" and error is None
        expect = _slow(params, np.random.default_rng(task_seed(5, params)))
        assert json.loads(result) == expect and seed["spawn_key"] == list(task_seed(5, params).spawn_key)

    res = run_sweep(_slow, grid(k=range(n)), seed=5, store=path, workers=1, name="killed")
    assert (res.n_skipped, res.n_run) == (n_before, n - n_before) and res.ok
    assert _results(res) == _results(run_sweep(_slow, grid(k=range(n)), seed=5))


_values = hst.one_of(hst.integers(-10**6, 10**6), hst.floats(allow_nan=False, allow_infinity=False),
                     hst.text(max_size=5), hst.booleans())


@settings(max_examples=60, deadline=None)
@given(params=hst.dictionaries(hst.text(min_size=1, max_size=6), _values, min_size=1, max_size=8), order=hst.randoms())
def test_task_key_and_seed_do_not_depend_on_dict_order(params, order):
    items = list(params.items())
    order.shuffle(items)
    shuffled = dict(items)
    assert task_key(shuffled) == task_key(params)
    assert task_seed(7, shuffled).spawn_key == task_seed(7, params).spawn_key
