"""The validation suite end to end: CLI, report files, JSON round trip, seeds, bad names and folders."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import finished_rows, session_processes, wait_for_no_processes

from spectral_theory import SpectralTheoryError
from validation import experiment as E
from validation import report, suite
from validation.cli import main

FAST = "gaussian_trajectory"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    rc = main(["validate", FAST, "--out", str(out), "--quiet", "--seed", "7"])
    return out, rc


def test_validate_writes_the_report(report_dir, capsys):
    out, rc = report_dir
    assert rc == 0
    assert (out / "results.json").is_file() and (out / "report.md").is_file()
    assert (out / "figures" / "gaussian_trajectory_error.png").stat().st_size > 1000
    md = (out / "report.md").read_text()
    assert "## gaussian_trajectory" in md and "![" in md and "**Claim.**" in md


def test_results_json_round_trip(report_dir):
    out, _ = report_dir
    raw = json.loads((out / "results.json").read_text())            # strict JSON (no NaN)
    meta, records = report.load_results(out)                       # with run.json's timings merged back
    assert meta["seed"] == 7 and meta["preset"] == "quick" and meta["wall_seconds"] > 0
    assert [{k: v for k, v in r.items() if k not in report.RUN_RECORD} for r in records] == raw["experiments"]
    (rec,) = records
    assert rec["name"] == FAST and rec["verdict"] == "agree" and rec["seconds"] > 0
    for c in rec["checks"]:
        assert {"quantity", "predicted", "measured", "stderr", "tolerance", "verdict"} <= set(c)
    # a rewritten report from the loaded records is identical
    again = report.markdown(records, meta, {f["name"] for f in rec["figures"]})
    assert again == (out / "report.md").read_text()


def test_rerun_resumes_from_the_store(report_dir, capsys):
    out, _ = report_dir
    assert main(["validate", FAST, "--out", str(out), "--quiet", "--seed", "7"]) == 0
    assert "already finished" in capsys.readouterr().out


def test_a_change_of_library_code_invalidates_stored_results(monkeypatch):
    exp = E.registry()[FAST]
    before = suite._source_hash(exp)
    monkeypatch.setattr(suite, "_library_hash", lambda: "edited")
    assert suite._source_hash(exp) != before


def test_a_standard_error_from_few_replicates_gets_the_student_t_critical_value():
    from scipy.stats import norm, t
    z = 3.0
    assert E.Check("q", 0.0, 5.0, 1.0).verdict(z) == E.DISAGREE          # 5 standard errors
    few = E.Check("q", 0.0, 5.0, 1.0, dof=12)
    assert few.critical(z) == pytest.approx(t.isf(norm.sf(z), 12))       # same tail probability
    assert few.verdict(z) == E.DISAGREE and few.tolerance(z) > 3.5
    assert E.Check("q", 0.0, 5.0, 1.0, dof=10**6).critical(z) == pytest.approx(z, rel=1e-5)
    with pytest.raises(SpectralTheoryError, match="dof"):
        E.Check("q", 0.0, 0.0, 1.0, dof=0)


def test_fewer_than_ten_degrees_of_freedom_are_inconclusive():
    # Student-t with 3 dof at a Bonferroni tail is 13-19 standard errors: such a check cannot fail
    assert E.Check("q", 0.0, 50.0, 1.0, dof=E.MIN_DOF - 1).verdict(3.0) == E.INCONCLUSIVE
    assert E.Check("q", 0.0, 50.0, 1.0, dof=E.MIN_DOF).verdict(3.0) == E.DISAGREE


def test_detectable_error_is_the_tolerance_over_the_prediction():
    z = 3.0
    c = E.Check("q", 2.0, 2.1, 0.1, finite_size=0.05)                    # tolerance 0.35
    assert c.relative and c.detectable_error(z) == pytest.approx(0.35 / 2.0) and not c.qualitative(z)
    zero = E.Check("q", 0.0, 0.1, 0.1, finite_size=0.05)
    assert not zero.relative and zero.detectable_error(z) == pytest.approx(0.35) and not zero.qualitative(z)
    loose = E.Check("q", 0.5, 0.5, 0.1)                                  # 0.3 >= 50% of 0.5
    assert loose.qualitative(z)
    # the definition: a prediction moved by the detectable error sits exactly on the tolerance
    moved = E.Check("q", c.predicted * (1 + c.detectable_error(z)), c.predicted, 0.1, finite_size=0.05)
    assert abs(moved.measured - moved.predicted) == pytest.approx(c.tolerance(z))


def test_an_experiment_of_qualitative_checks_only_is_inconclusive():
    exp = E.Experiment("x", "claim", "src", lambda ctx: None)
    qual = E.Outcome([E.Check("q", 0.5, 0.5, 0.1), E.Check("r", 1.0, 1.0, 0.4)])
    res = E.ExperimentResult(exp, qual, 0.0, "quick")
    assert res.verdicts == [E.AGREE, E.AGREE] and res.verdict == E.INCONCLUSIVE
    assert res.power["qualitative"] == 2 and res.power["quantitative"] == 0
    mixed = E.ExperimentResult(exp, E.Outcome(qual.checks + [E.Check("s", 1.0, 1.0, 0.001)]), 0.0, "quick")
    assert mixed.verdict == E.AGREE and mixed.power["quantitative"] == 1
    # a qualitative check can still disagree
    bad = E.ExperimentResult(exp, E.Outcome([E.Check("q", 0.5, 5.0, 0.1)]), 0.0, "quick")
    assert bad.verdict == E.DISAGREE
    d = mixed.to_dict()
    assert d["power"]["median_detectable_error"] == pytest.approx(np.median(
        [c.detectable_error(mixed.critical_value) for c in mixed.outcome.checks]))
    assert {"detectable_error", "relative", "qualitative"} <= set(d["checks"][0])


def test_trained_experiments_are_submitted_first_and_records_keep_the_order_of_names(monkeypatch):
    from validation import experiment as experiment_module
    for name, tags in (("zz_fast", ()), ("zz_slow", ("trained",))):
        monkeypatch.setitem(E._REGISTRY, name, E.Experiment(name, "c", "s", lambda ctx: experiment_module.Outcome([]), tags))
    submitted = []
    real = suite.run_sweep

    def spy(task, points, **kw):
        submitted.extend(p["name"] for p in points)
        return real(task, points, **kw)
    monkeypatch.setattr(suite, "run_sweep", spy)
    records, _ = suite.run_experiments(["zz_fast", "zz_slow"], "quick", 0)
    assert submitted == ["zz_slow", "zz_fast"]
    assert [r["name"] for r in records] == ["zz_fast", "zz_slow"]


def test_same_seed_same_numbers_and_seeds_depend_on_the_name_only(tmp_path):
    a = suite.run_experiment(FAST, "quick", 3)
    b = suite.run_experiment(FAST, "quick", 3)
    assert [c["measured"] for c in a["checks"]] == [c["measured"] for c in b["checks"]]
    s1 = suite.experiment_seed(3, "x").generate_state(4)
    assert np.array_equal(s1, suite.experiment_seed(3, "x").generate_state(4))
    assert not np.array_equal(s1, suite.experiment_seed(3, "y").generate_state(4))
    assert not np.array_equal(s1, suite.experiment_seed(4, "x").generate_state(4))


def test_unknown_name_suggests_close_matches(tmp_path, capsys):
    with pytest.raises(SpectralTheoryError, match="did you mean gaussian_trajectory"):
        suite.resolve_names(["gausian_trajectory"], E.registry().keys())
    assert main(["validate", "gausian_trajectory", "--out", str(tmp_path)]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_unwritable_output_folder_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["validate", FAST, "--out", str(blocker / "sub"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot write the report folder" in err and str(blocker / "sub") in err


def test_failing_experiment_is_reported_not_fatal(monkeypatch, tmp_path):
    def boom(ctx):
        raise RuntimeError("kaboom")
    monkeypatch.setitem(E._REGISTRY, "zz_boom", E.Experiment("zz_boom", "fails", "test", boom))
    rec = suite.run_experiment("zz_boom", "quick", 0)
    assert rec["verdict"] == suite.ERROR and "kaboom" in rec["error"]
    table = suite.format_table([rec])
    assert "ERROR" in table
    paths = report.write_report(tmp_path, [rec], dict(preset="quick", seed=0))
    assert "kaboom" in paths["report"].read_text()


def test_report_without_matplotlib(monkeypatch, tmp_path, report_dir):
    out, _ = report_dir
    _, records = report.load_results(out)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)   # import now fails
    paths = report.write_report(tmp_path, records, dict(preset="quick", seed=7))
    assert paths["figures"] == [] and "![" not in paths["report"].read_text()
    assert report.load_results(tmp_path)[1] == records


def test_results_json_is_byte_identical_for_the_same_seed_and_preset_on_any_worker_layout(tmp_path):
    cheap = ["spiked_jacobian_alignment", "hidden_gaussian_memorization"]
    for sub, workers in (("a", "1"), ("b", "2")):
        assert main(["validate", *cheap, "--out", str(tmp_path / sub), "--quiet", "--workers", workers]) == 0
    a, b = ((tmp_path / sub / "results.json").read_bytes() for sub in "ab")
    assert a == b
    assert b"seconds" not in a and b"created" not in a            # the run's own data is in run.json
    run = json.loads((tmp_path / "b" / "run.json").read_text())
    assert run["meta"]["workers"] == 2 and set(run["seconds"]) == set(cheap)


def test_an_experiments_own_timings_go_to_run_json_not_results_json(monkeypatch, tmp_path):
    def timed(ctx):
        return E.Outcome([E.Check("q", 1.0, 1.0, 0.0)], timings=dict(seconds_per_trial=0.01))
    monkeypatch.setitem(E._REGISTRY, "zz_timed", E.Experiment("zz_timed", "times itself", "test", timed))
    report.write_report(tmp_path, [suite.run_experiment("zz_timed", "quick", 0)], dict(preset="quick", seed=0))
    assert b"seconds_per_trial" not in (tmp_path / "results.json").read_bytes()
    assert json.loads((tmp_path / "run.json").read_text())["timings"] == {"zz_timed": {"seconds_per_trial": 0.01}}
    assert report.load_results(tmp_path)[1][0]["timings"] == {"seconds_per_trial": 0.01}


def test_figures_are_redrawn_only_when_their_data_changes(tmp_path, report_dir):
    out, _ = report_dir
    _, records = report.load_results(out)
    first = report.write_report(tmp_path, records, dict(preset="quick", seed=7))["figures"]
    assert first
    stamps = {p: p.stat().st_mtime_ns for p in first}
    again = report.write_report(tmp_path, records, dict(preset="quick", seed=7))["figures"]
    assert sorted(again) == sorted(first) and all(p.stat().st_mtime_ns == stamps[p] for p in again)
    changed = json.loads(json.dumps(records))
    spec = changed[0]["figures"][0]
    spec["title"] += " (edited)"
    report.write_report(tmp_path, changed, dict(preset="quick", seed=7))
    redrawn = [p for p in first if p.stat().st_mtime_ns != stamps[p]]
    assert [p.stem for p in redrawn] == [spec["name"]]


def test_list_shows_experiments(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert FAST in out and "jacobian_spectrum" in out


def test_mutants_exit_code_is_one_iff_a_mutant_survives_and_the_table_names_the_catchers(monkeypatch, capsys):
    from validation import mutants as M
    caught = dict(name="m-caught", target="t", description="", caught_by=["exp_a"],
                  runs={"exp_a": dict(verdict="disagree", n_disagreeing=2), "exp_b": dict(verdict="agree")})
    survivor = dict(name="m-survivor", target="t", description="", caught_by=[],
                    runs={"exp_a": dict(verdict="agree"), "exp_b": dict(verdict="inconclusive")})
    monkeypatch.setattr(M, "run_mutants", lambda **kw: [caught])
    assert main(["validate", "--mutants"]) == 0
    out = capsys.readouterr().out
    assert "m-caught" in out and "exp_a (2 checks)" in out and "exp_b: agree" in out and "1 of 1 mutants caught" in out
    monkeypatch.setattr(M, "run_mutants", lambda **kw: [caught, survivor])
    assert main(["validate", "--mutants"]) == 1
    out = capsys.readouterr().out
    assert "SURVIVED" in out and "exp_b: inconclusive" in out and "1 of 2 mutants caught" in out
    assert "no mutant targets" in M.format_mutants([])


def _false_alarms(names, seeds, store):
    """Run ``names`` (quick preset) at every seed; return (number of disagreeing runs, number of runs,
    the disagreeing (seed, experiment) pairs, one-sided binomial p-value against FAMILY_LEVEL).  Each
    experiment of a correct theory disagrees with probability at most FAMILY_LEVEL."""
    from scipy.stats import binomtest
    bad, n = [], 0
    for seed in seeds:
        records, _ = suite.run_experiments(names, "quick", seed, workers=2, store_dir=store)
        assert not [r["name"] for r in records if r["verdict"] == suite.ERROR], seed
        bad += [(seed, r["name"]) for r in records if r["verdict"] == E.DISAGREE]
        n += len(records)
    return len(bad), n, bad, binomtest(len(bad), n, E.FAMILY_LEVEL, alternative="greater").pvalue


@pytest.mark.slow
@pytest.mark.seeds
def test_false_alarms_at_the_stated_level(tmp_path):
    """The quick suite without the trained networks over 20 seeds: the number of disagreeing
    experiments is consistent with the family level (one-sided binomial test at 0.1%).  An experiment
    that fails to run fails the test.  The trained experiments (one network trained per seed, most of
    the suite's time) have their own, smaller seed test below."""
    names = sorted(n for n, e in E.registry().items() if "trained" not in e.tags)
    k, n, bad, p = _false_alarms(names, range(20), tmp_path)
    print(f"false alarms: {k} disagreements in {n} experiment runs: {bad}")
    assert p > 1e-3, f"{k} disagreements in {n} experiment runs (expected at most {E.FAMILY_LEVEL * n:.1f}): {bad}"


@pytest.mark.slow
@pytest.mark.seeds
def test_false_alarms_of_the_trained_experiments(tmp_path):
    """The trained experiments over 5 seeds (each trains its networks again): at most the family level's
    share of disagreements (the same one-sided binomial test at 0.1%)."""
    names = sorted(n for n, e in E.registry().items() if "trained" in e.tags)
    k, n, bad, p = _false_alarms(names, range(5), tmp_path)
    print(f"false alarms (trained): {k} disagreements in {n} experiment runs: {bad}")
    assert p > 1e-3, f"{k} disagreements in {n} experiment runs (expected at most {E.FAMILY_LEVEL * n:.1f}): {bad}"


# -- killing a real `validate --workers 2` -------------------------------------------------------------
def _start_validate(out, *names):
    return subprocess.Popen([sys.executable, "-m", "validation.cli", "validate", *names, "--workers", "2",
                             "--out", str(out), "--quiet"], env=dict(os.environ), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait(condition, proc, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)


def _cleanup(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.stderr.close()


def test_sigkill_of_validate_leaves_no_worker_fork_server_or_resource_tracker(tmp_path):
    proc = _start_validate(tmp_path, "jacobian_spectrum", "molrg_phase_transition")   # two long experiments
    try:
        _wait(lambda: len(session_processes(proc.pid)) >= 5, proc, "pool")       # cli, tracker, server, 2 workers
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert wait_for_no_processes(proc.pid, timeout=5) == []
    finally:
        _cleanup(proc)


def test_sigterm_of_validate_keeps_the_store_consistent_and_a_rerun_resumes(tmp_path, capsys):
    cheap = ["spiked_jacobian_alignment", "hidden_gaussian_memorization"]
    proc = _start_validate(tmp_path, *cheap, "jacobian_spectrum")
    store = tmp_path / suite.STORE_NAME
    try:
        _wait(lambda: finished_rows(store) >= 2, proc, "finished experiment")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        assert "rerun the same command to resume" in proc.stderr.read().decode()
        assert wait_for_no_processes(proc.pid, timeout=5) == []
    finally:
        _cleanup(proc)
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    con.close()
    assert main(["validate", *cheap, "--out", str(tmp_path), "--quiet"]) == 0
    assert "2 of 2 experiments were already finished" in capsys.readouterr().out


def test_standard_error_is_the_sample_sd_over_root_n_and_infinite_for_one_value():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    assert E.standard_error(x) == pytest.approx(np.std(x, ddof=1) / 2, rel=1e-15)
    m = np.arange(12.0).reshape(3, 4) ** 2
    np.testing.assert_allclose(E.standard_error(m, axis=-1), m.std(axis=1, ddof=1) / 2, rtol=1e-15)
    np.testing.assert_allclose(E.standard_error(m), m.std(axis=0, ddof=1) / np.sqrt(3), rtol=1e-15)
    assert E.standard_error([3.0]) == np.inf
    assert np.all(E.standard_error(np.ones((1, 3))) == np.inf)
