"""validation.store: the SQLite store of a sweep - rows with their metadata, resume and retry, refusal
(and no change) of foreign, corrupt, mismatched or unwritable files."""
import json
import os
import sqlite3

import pytest

from spectral_theory import SpectralTheoryError, __version__
from test_sweep import CALLS, _counted, _draw, _fails_until_flag, _file_digest, _results  # the sweep tests' tasks
from validation import store as store_mod
from validation.sweep import TaskFailedWarning, grid, load_sweep, run_sweep


def test_rows_are_stored_with_their_metadata_and_a_rerun_skips_them(tmp_path):
    path = tmp_path / "sub" / "sweep.sqlite"
    CALLS.clear()
    first = run_sweep(_counted, grid(k=range(5)), seed=9, store=path, name="demo")
    assert len(CALLS) == 5 and (first.n_run, first.n_skipped) == (5, 0)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA application_id").fetchone()[0] == store_mod.APPLICATION_ID
    rows = con.execute("SELECT sweep, params, seed, status, result, error, seconds, version, finished "
                       "FROM tasks ORDER BY rowid").fetchall()
    con.close()
    assert len(rows) == 5
    for (sweep, params, seed, status, result, error, seconds, version, finished), row in zip(rows, first.rows):
        assert (sweep, status, error, version) == ("demo", "ok", None, __version__)
        assert json.loads(params) == row["params"] and json.loads(result) == row["result"]
        assert json.loads(seed) == row["seed"] and seconds >= 0 and finished.startswith("20")
    CALLS.clear()
    again = run_sweep(_counted, grid(k=range(7)), seed=9, store=path, name="demo")
    assert [p["k"] for p in CALLS] == [5, 6] and (again.n_run, again.n_skipped) == (2, 5)
    assert _results(again)[:5] == _results(first)
    assert _results(again) == _results(run_sweep(_counted, grid(k=range(7)), seed=9))
    assert len(load_sweep(path, "demo").rows) == 7


def test_failed_tasks_are_retried_on_rerun(tmp_path):
    flag = tmp_path / "flag"
    points = grid(flag=[str(flag)], k=[1, 2])
    with pytest.warns(TaskFailedWarning):
        first = run_sweep(_fails_until_flag, points, seed=0, store=tmp_path / "s.sqlite")
    assert len(first.failed) == 2 and "FileNotFoundError" in first.failed[0]["error"]
    flag.touch()
    second = run_sweep(_fails_until_flag, points, seed=0, store=tmp_path / "s.sqlite")
    assert second.ok and second.n_run == 2
    with sqlite3.connect(tmp_path / "s.sqlite") as con:
        assert con.execute("SELECT COUNT(*), MIN(status) FROM tasks").fetchone() == (2, "ok")


def test_a_store_of_another_sweep_definition_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "s.sqlite"
    default_name = f"{_counted.__module__}:_counted"
    run_sweep(_counted, grid(k=[1, 2]), seed=1, store=path)
    before = _file_digest(path)
    with pytest.raises(SpectralTheoryError, match="already holds sweep .*seed"):
        run_sweep(_counted, grid(k=[1, 2]), seed=2, store=path)
    with pytest.raises(SpectralTheoryError, match="already holds sweep .*task"):
        run_sweep(_draw, grid(scale=[1.0]), seed=1, store=path, name=default_name)
    assert _file_digest(path) == before
    run_sweep(_counted, grid(k=[1, 2]), seed=2, store=path, name="another")  # a new name is fine
    with store_mod.SweepStore(path) as db:
        sweeps = db.sweeps()
    assert set(sweeps) == {default_name, "another"}
    assert sweeps["another"]["seed"] == {"entropy": 2, "spawn_key": []} and sweeps["another"]["n_ok"] == 2


def _make_foreign(path):
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (x)")
        con.execute("INSERT INTO t VALUES (1)")
    con.close()


def _make_corrupt_store(path):
    run_sweep(_counted, grid(k=range(50)), seed=1, store=path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 512] = os.urandom(512)  # clobber a page; the header stays
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("make, match", [
    (lambda p: p.write_text("a, b\n1, 2\n"), "not an SQLite database"),
    (lambda p: p.write_bytes(os.urandom(4096)), "not an SQLite database"),
    (_make_foreign, "another application"),
    (_make_corrupt_store, "corrupt"),
])
def test_foreign_or_corrupt_files_are_refused_and_left_unchanged(tmp_path, make, match):
    path = tmp_path / "s.sqlite"
    make(path)
    before = _file_digest(path)
    CALLS.clear()
    with pytest.raises(SpectralTheoryError, match=match):
        run_sweep(_counted, grid(k=[1]), seed=1, store=path)
    assert CALLS == [] and _file_digest(path) == before
    assert sorted(os.listdir(tmp_path)) == ["s.sqlite"]


def test_an_empty_file_is_adopted_as_a_new_store(tmp_path):
    path = tmp_path / "s.sqlite"
    path.touch()
    assert run_sweep(_counted, grid(k=[1]), seed=1, store=path).n_run == 1


def test_unwritable_store_locations_are_refused(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(SpectralTheoryError, match="cannot be created"):
        run_sweep(_counted, grid(k=[1]), seed=1, store=blocker / "s.sqlite")
    with pytest.raises(SpectralTheoryError, match="is a directory"):
        run_sweep(_counted, grid(k=[1]), seed=1, store=tmp_path)
    with pytest.raises(SpectralTheoryError, match="does not exist"):
        load_sweep(tmp_path / "missing.sqlite", "x")
