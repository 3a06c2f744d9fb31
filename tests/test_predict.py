"""`spectral-theory predict`: each quantity equals the numeric core's value; bad input is a clear error."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import spectral_theory as st
from validation.cli import main
from validation.predict import predict


def test_bbp_matches_the_core_and_json_output(capsys):
    assert main(["predict", "bbp", "spikes=3", "tau=1.5", "aspect=0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["spike"] == 2.0
    assert predict("bbp", dict(spike="2", aspect="0.5")) == out
    assert out["overlap"] == st.spiked.overlap(2.0, 0.5)
    assert out["top_eigenvalue"] == st.spiked.top_eigenvalue(2.0, 0.5)
    assert out["right_overlap"] == st.spiked.right_overlap(2.0, 0.5)


def test_emergence_time_inverts_the_schedule():
    out = predict("emergence", dict(spikes="4", aspect="0.25", schedule="vp"))
    assert out["tau"] == pytest.approx(4 / np.sqrt(0.25), rel=1e-14)
    assert st.VP().tau(out["time"]) == pytest.approx(out["tau"], rel=1e-10)


def test_gap_and_window_are_the_core_values():
    out = predict("gap", dict(a="0.5", b="4", threshold="0.1"))
    assert (out["tau_max"], out["gap_max"]) == st.gap_peak(0.5, 4.0)
    assert st.gap_profile(0.5, 4.0, out["window_lo"]) == pytest.approx(0.1, rel=1e-9)
    assert st.gap_profile(0.5, 4.0, out["window_hi"]) == pytest.approx(0.1, rel=1e-9)


def test_phases_spectrum_and_collapse_run(capsys):
    ph = predict("phases", dict(blocks="40:4,40:0.5", dim="400", threshold="0.1", schedule="ou"))
    assert ph["tau_trivial"] > ph["tau_manifold_gap"] > ph["tau_consolidation"]
    assert st.OU().tau(ph["t_trivial"]) == pytest.approx(ph["tau_trivial"], rel=1e-9)
    sp = predict("spectrum", dict(fractions="0.1,0.1", variances="4,0.5"))
    law = st.rmt.Silverstein([0.1, 0.1], [4.0, 0.5])
    assert [tuple(v) for k, v in sp.items() if k.startswith("bulk")] == [tuple(b) for b in law.support()]
    assert predict("collapse", dict(n_points="1000", dim="10"))["tau_collapse"] == st.collapse_tau(1000, 10)
    assert main(["predict", "help"]) == 0
    assert "phases" in capsys.readouterr().out


@pytest.mark.parametrize("argv,msg", [
    (["predict", "bpp", "spike=1"], "did you mean 'bbp'"),
    (["predict", "bbp", "spike=1"], "aspect"),
    (["predict", "bbp", "aspect=1"], "needs parameter spike="),
    (["predict", "bbp", "spike=1", "tau=1", "aspect=1"], "not both"),
    (["predict", "gap", "a=1", "b=2", "c=3"], "unknown parameter `c`; it takes a, b, threshold"),
    (["predict", "bbp", "spike=1", "aspect=-1"], "aspect"),
    (["predict", "gap", "a=1", "b"], "key=value"),
    (["predict", "emergence", "spikes=1", "aspect=1", "schedule=xx"], "schedule"),
    (["predict", "phases", "blocks=4-1", "dim=10"], "blocks"),
])
def test_bad_input_is_a_clear_error(argv, msg, capsys):
    assert main(argv) == 2
    assert msg in capsys.readouterr().err


def test_an_unknown_key_names_itself_and_lists_the_valid_ones(capsys):
    assert main(["predict", "bbp", "snrr=2", "aspect=0.5"]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter `snrr`" in err and "spike, spikes, tau, aspect" in err and "needs" not in err
    assert main(["predict", "bbp", "aspect=0.5"]) == 2
    assert "it takes spike, spikes, tau, aspect" in capsys.readouterr().err


def test_schedule_names_are_case_insensitive():
    lower = predict("emergence", dict(spikes="4", aspect="0.25", schedule="vp"))
    assert predict("emergence", dict(spikes="4", aspect="0.25", schedule="VP")) == lower
    assert predict("collapse", dict(n_points="1000", dim="10", schedule="Ou"))["time"] is not None


def test_phases_shows_the_separation_windows_the_api_returns(capsys):
    out = predict("phases", dict(blocks="50:4,50:0.5", dim="500", threshold="0.1", schedule="ou"))
    ph = st.phases(st.LinearManifold(500, [(50, 4.0), (50, 0.5)], rng=0), threshold=0.1)
    assert out["separation1_window"] == list(ph.separations[0].window)
    assert out["separation1_t_window"] == list(ph.in_time(st.OU()).separation_windows[0])
    assert main(["predict", "phases", "blocks=50:4,50:0.5", "dim=500", "schedule=OU"]) == 0
    assert "separation1_window" in capsys.readouterr().out


def test_version_and_help_without_rest_markup(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"spectral-theory {st.__version__}"
    assert main(["predict", "help"]) == 0
    out = capsys.readouterr().out
    assert "``" not in out and ":math:" not in out and "Keys: spike, spikes, tau, aspect" in out


@pytest.mark.parametrize("module", ["spectral_theory", "validation"])
def test_python_dash_m_runs_the_command_line(module):
    res = subprocess.run([sys.executable, "-m", module, "predict", "bbp", "spike=2", "aspect=0.5", "--json"],
                         capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["overlap"] == st.spiked.overlap(2.0, 0.5)
