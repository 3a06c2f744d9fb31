"""The validation suite end to end: CLI, report files, JSON round trip, seeds, bad names and folders."""
import json
import sys

import numpy as np
import pytest

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
    meta, records = report.load_results(out)
    assert meta["seed"] == 7 and meta["preset"] == "quick" and records == raw["experiments"]
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


def test_list_shows_experiments(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert FAST in out and "jacobian_spectrum" in out


@pytest.mark.slow
def test_false_alarms_at_the_stated_level():
    """The quick suite over 20 seeds: the number of disagreeing experiments is consistent with the
    family level (each experiment disagrees with probability at most FAMILY_LEVEL under a correct
    theory; one-sided binomial test at 0.1%).  An experiment that fails to run fails the test."""
    from scipy.stats import binomtest
    names = sorted(E.registry())
    outcomes = []
    for seed in range(20):
        records, _ = suite.run_experiments(names, "quick", seed, workers=2)
        assert not [r["name"] for r in records if r["verdict"] == suite.ERROR], seed
        outcomes += [r["verdict"] for r in records]
    k = sum(v == E.DISAGREE for v in outcomes)
    p = binomtest(k, len(outcomes), E.FAMILY_LEVEL, alternative="greater").pvalue
    assert p > 1e-3, f"{k} disagreements in {len(outcomes)} experiment runs (expected at most {E.FAMILY_LEVEL * len(outcomes):.1f})"
