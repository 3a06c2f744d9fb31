"""Bad input to the validation layer's public functions: a SpectralTheoryError naming the parameter,
or a correct (finite) result - never another exception type, a NaN or a silently truncated complex.

The input classes are those of issue 14: NaN, inf, negative, zero, 1e300, 1e-300, complex (scalar and
array), bool, str, None, object, empty and mis-shaped arrays.
"""
import json
import warnings

import numpy as np
import pytest

import derivations
import spectral_theory as st
from spectral_theory import SpectralTheoryError
from validation import jacobians as J
from validation import report
from validation import samplers as S
from validation.store import SweepStore
from validation.suite import experiment_seed
from validation.sweep import grid, load_sweep, run_sweep, task_seed

BAD = dict(nan=np.nan, inf=np.inf, negative=-1.0, zero=0.0, huge=1e300, tiny=1e-300, complex=1 + 1j,
           complex_array=np.ones((2, 4)) + 1j, bool=True, str="a", none=None, object=object(),
           empty=np.zeros((0,)), misshaped=np.ones((2, 3, 4)))

G = st.Gaussian(np.zeros(4), np.diag([1.0, 2.0, 3.0, 4.0]))
X = np.ones((2, 4))
OVERLAP = derivations.derive("bbp").numeric("overlap")


def _task(params, rng):
    return {"u": rng.random()}


#: name -> (call with the bad value, the parameter the error must name)
CASES = {
    "edm_sampler x_T": (lambda v: S.edm_sampler(G.denoise, v, st.edm_sigmas(4)), "x_T"),
    "edm_sampler sigmas": (lambda v: S.edm_sampler(G.denoise, X, v), "sigmas"),
    "edm_sampler method": (lambda v: S.edm_sampler(G.denoise, X, st.edm_sigmas(4), method=v), "method"),
    "edm_sampler record": (lambda v: S.edm_sampler(G.denoise, X, st.edm_sigmas(4), record=v), "record"),
    "probability_flow times": (lambda v: S.probability_flow(G.denoise, st.VP(), X, v), "times"),
    "probability_flow schedule": (lambda v: S.probability_flow(G.denoise, v, X, [1.0, 0.0]), "schedule"),
    "reverse_sde x_T": (lambda v: S.reverse_sde(G.denoise, st.VP(), v, [1.0, 0.0], rng=0), "x_T"),
    "reverse_sde rng": (lambda v: S.reverse_sde(G.denoise, st.VP(), X, [1.0, 0.0], rng=v), "rng"),
    "ddim steps": (lambda v: S.ddim(G.denoise, st.VP.ddpm_linear(), X, v), "steps"),
    "forward t": (lambda v: S.forward(G, st.VP(), v, 3, rng=0), "t"),
    "analytic x": (lambda v: J.analytic(G, v, 1.0), "x"),
    "finite_difference x": (lambda v: J.finite_difference(G.score, v, 1.0), "x"),
    "finite_difference h": (lambda v: J.finite_difference(G.score, X, 1.0, h=v), "h"),
    "lanczos_extreme x": (lambda v: J.lanczos_extreme(G.score, v, 1.0, k=2), "x"),
    "lanczos_extreme k": (lambda v: J.lanczos_extreme(G.score, np.ones(4), 1.0, k=v), "k"),
    "lanczos_extreme which": (lambda v: J.lanczos_extreme(G.score, np.ones(4), 1.0, k=2, which=v), "which"),
    "lanczos_extreme tol": (lambda v: J.lanczos_extreme(G.score, np.ones(4), 1.0, k=2, tol=v), "tol"),
    "lanczos_extreme maxiter": (lambda v: J.lanczos_extreme(G.score, np.ones(4), 1.0, k=2, maxiter=v), "maxiter"),
    "spectra_along trajectory": (lambda v: J.spectra_along(v, model=G), "trajectory"),
    "run_sweep seed": (lambda v: run_sweep(_task, grid(a=[1]), seed=v), "seed"),
    "run_sweep workers": (lambda v: run_sweep(_task, grid(a=[1]), seed=1, workers=v), "workers"),
    "run_sweep store": (lambda v: run_sweep(_task, grid(a=[1]), seed=1, store=v), "store"),
    "run_sweep progress": (lambda v: run_sweep(_task, grid(a=[1]), seed=1, progress=v), "progress"),
    "run_sweep grid value": (lambda v: run_sweep(_task, [{"a": v}], seed=1), "grid"),
    "task_seed seed": (lambda v: task_seed(v, {"a": 1}), "seed"),
    "SweepStore path": (lambda v: SweepStore(v), "store"),
    "load_sweep store": (lambda v: load_sweep(v, "x"), "store"),
    "load_results path": (lambda v: report.load_results(v), "path"),
    "experiment_seed seed": (lambda v: experiment_seed(v, "x"), "seed"),
    "experiment_seed name": (lambda v: experiment_seed(1, v), "name"),
    "derived overlap ell": (lambda v: OVERLAP(v, 0.5), "ell"),
    "derived overlap gamma": (lambda v: OVERLAP(2.0, v), "gamma"),
    "derive name": (lambda v: derivations.derive(v), "name"),
}

#: (case, input class) pairs that are correct results, not errors
CORRECT = {
    ("edm_sampler record", "none"), ("reverse_sde rng", "none"), ("finite_difference h", "none"),
    ("finite_difference h", "tiny"),
    ("lanczos_extreme maxiter", "none"),
    *(("run_sweep seed", c) for c in ("zero", "huge")), ("run_sweep workers", "huge"), ("run_sweep progress", "bool"),
    ("run_sweep store", "str"), ("SweepStore path", "str"), ("experiment_seed name", "str"),   # "a": a relative path, a name
    *(("lanczos_extreme tol", c) for c in ("zero", "huge", "tiny")),           # 0 = machine precision
    ("forward t", "zero"), ("forward t", "tiny"),
    *(("run_sweep grid value", c) for c in ("negative", "zero", "huge", "tiny", "bool", "str", "none")),
    ("run_sweep store", "none"),                                                # None: in memory
    *(("task_seed seed", c) for c in ("zero", "huge")), *(("experiment_seed seed", c) for c in ("zero", "huge")),
    *(("derived overlap ell", c) for c in ("tiny", "empty", "misshaped")),      # broadcasting arrays
    ("derived overlap ell", "huge"),   # an error naming the point (the closed form overflows) or 1
    *(("derived overlap gamma", c) for c in ("tiny", "huge", "empty", "misshaped")),   # huge: below BBP, 0
}

def _finite(out) -> bool:
    for attr in ("final", "eigenvalues"):
        out = getattr(out, attr, out)
    if isinstance(out, tuple):
        out = out[-1]
    try:
        return bool(np.all(np.isfinite(np.asarray(out, dtype=float))))
    except (TypeError, ValueError):
        return True                                         # not numeric (a store, a result object)


@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_an_error_naming_the_parameter_or_a_correct_result(case, bad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                              # stores given as relative paths land here
    call, param = CASES[case]
    try:
        # a truncated complex fails here; floating-point warnings are not the subject (NaN/inf results are)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            out = call(BAD[bad])
    except SpectralTheoryError as e:
        assert f"`{param}`" in str(e) or param in str(e), f"{case} / {bad}: error does not name `{param}`: {e}"
        return
    assert (case, bad) in CORRECT, f"{case} / {bad}: accepted, returned {str(out)[:120]}"
    assert _finite(out), f"{case} / {bad}: non-finite result"


def test_store_paths_are_not_file_descriptors(tmp_path):
    with pytest.raises(SpectralTheoryError, match="`store` must be a file path"):
        SweepStore(3)


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", '{"experiments": []}', '{"meta": 1, "experiments": []}'])
def test_corrupt_results_files_are_clear_errors(tmp_path, text):
    (tmp_path / "results.json").write_text(text)
    with pytest.raises(SpectralTheoryError, match="is not a results.json"):
        report.load_results(tmp_path)


def test_a_corrupt_run_file_is_a_clear_error_and_a_missing_one_is_fine(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"meta": {"seed": 1}, "experiments": [{"name": "a"}]}))
    assert report.load_results(tmp_path) == ({"seed": 1}, [{"name": "a"}])
    (tmp_path / "run.json").write_text("[]")
    with pytest.raises(SpectralTheoryError, match="is not a run.json"):
        report.load_results(tmp_path)


def test_a_score_returning_nan_is_an_error_not_nan_eigenvalues():
    nan_score = lambda x, s, a: np.full_like(x, np.nan)
    with pytest.raises(SpectralTheoryError, match="score returned NaN or inf"):
        J.finite_difference(nan_score, X, 1.0)
    with pytest.raises(SpectralTheoryError, match="score returned NaN or inf"):
        J.lanczos_extreme(nan_score, np.ones(4), 1.0, k=2)
    with pytest.raises(SpectralTheoryError, match="complex"):
        J.finite_difference(lambda x, s, a: x + 1j, X, 1.0)
