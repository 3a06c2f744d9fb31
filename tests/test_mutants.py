"""Built-in mutants: every target resolves, patches reach every binding and are undone, a mutant is
caught by a disagreeing experiment, and no tolerance depends on the function under test."""
import pytest

import spectral_theory as st
from spectral_theory import SpectralTheoryError, spiked
from validation import mutants as M
from validation.cli import main
from validation.experiment import registry
from validation.suite import run_experiment


def test_every_target_resolves_and_every_experiment_has_two_mutants():
    reg = registry()
    for m in M.MUTANTS:
        M.resolve(m.target)
        assert any(m.target in e.compares for e in reg.values()), f"no experiment compares {m.target} ({m.name})"
    assert len({m.name for m in M.MUTANTS}) == len(M.MUTANTS)
    for name, exp in reg.items():
        assert exp.compares, f"{name} names no compared function"
        for c in exp.compares:
            M.resolve(c)
        assert len(M.targets_of(name)) >= 2, f"{name} has fewer than two mutants"
    with pytest.raises(SpectralTheoryError, match="resolve"):
        M.resolve("spectral_theory.spiked.no_such_function")


def test_a_patch_reaches_every_binding_and_is_undone():
    original = spiked.overlap
    mutant = M.mutants()["overlap-dropped-denominator"]
    ell, gamma = 2.0, 0.5
    with M.patched(mutant):
        assert spiked.overlap is not original
        assert spiked.overlap(ell, gamma) == pytest.approx(1 - gamma / ell**2)
        # looked up through module globals by the library's own callers
        assert spiked.predict([ell], 1.0, gamma).overlaps[0] == pytest.approx(1 - gamma / ell**2)
        if hasattr(st, "overlap"):
            assert st.overlap is spiked.overlap
    assert spiked.overlap is original
    assert spiked.predict([ell], 1.0, gamma).overlaps[0] == pytest.approx(original(ell, gamma))


def test_a_method_patch_is_undone():
    cls = st.Gaussian
    before = cls.__dict__["flow"]
    with M.patched(M.mutants()["gaussian-flow-variance-ratio"]):
        assert cls.__dict__["flow"] is not before
    assert cls.__dict__["flow"] is before


def test_mutants_are_caught_on_the_command_line(capsys):
    assert main(["validate", "gaussian_trajectory", "--mutants"]) == 0
    out = capsys.readouterr().out
    assert "heun-order-1" in out and "3 of 3 mutants caught" in out


def test_an_unknown_mutant_is_a_clear_error():
    with pytest.raises(SpectralTheoryError, match="unknown mutant"):
        M.run_mutants(["no-such-mutant"])


def _allowances(rec):
    return {c["quantity"]: (c["measured"], c["stderr"], c["finite_size"]) for c in rec["checks"]}


def _same_allowances(name, seed=1):
    """Run ``name`` plain and under each of its mutants: every check whose measurement the mutant left
    unchanged keeps its standard error and finite-size allowance (a tolerance never evaluates the
    compared function).  A mutant of a function that is also the measured route (an exact denoiser,
    a fitting algorithm) changes the measurement itself; those checks are not compared."""
    base = _allowances(run_experiment(name, "quick", seed))
    assert base, name
    compared = 0
    for m in M.targets_of(name):
        with M.patched(m):
            rec = run_experiment(name, "quick", seed)
        assert rec["error"] is None, (m.name, rec["error"])
        for q, (meas, se, fs) in _allowances(rec).items():
            if q in base and meas == base[q][0]:
                compared += 1
                assert (se, fs) == pytest.approx(base[q][1:], rel=1e-12, abs=1e-300), (name, m.name, q)
    return compared


@pytest.mark.parametrize("name", ["gaussian_trajectory", "hidden_gaussian_wiener_distillation",
                                  "spiked_mean_projection"])
def test_allowances_do_not_depend_on_the_prediction(name):
    assert _same_allowances(name) > 0


@pytest.mark.slow
def test_allowances_of_every_experiment_do_not_depend_on_the_prediction():
    for name in registry():
        _same_allowances(name)
