"""The derivations layer: every step checks, every numeric twin matches, LaTeX renders and compiles."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import derivations
from derivations.codegen import compile_expression
from derivations.core import Derivation, Eq, Result, Step
from derivations.document import build_document
from spectral_theory import SpectralTheoryError

EXPECTED = {"gaussian_tweedie", "marchenko_pastur", "multiblock_stieltjes", "intermediate_gap", "bbp",
            "gaussian_flow", "molrg_posterior"}
NAMES = derivations.names()


def test_catalogue_has_the_first_derivations():
    assert EXPECTED <= set(NAMES)
    assert all(e.title for e in derivations.catalogue())
    with pytest.raises(SpectralTheoryError, match="unknown derivation"):
        derivations.derive("no_such_derivation")


@pytest.mark.parametrize("name", NAMES)
def test_every_step_checks(name):
    d = derivations.derive(name)
    checks = d.check_steps(rng=20241016)
    assert len(checks) == len(d.steps) >= 3
    bad = [c for c in checks if not c.passed]
    assert not bad, f"{name}: steps failed {bad}"


@pytest.mark.parametrize("name", NAMES)
def test_numeric_twins_match_the_numeric_core(name):
    d = derivations.derive(name)
    assert d.twins, f"{name} has no numeric twin"
    for twin in d.twins:
        result = d.check_twin(twin, rng=7)
        if result.status == "unavailable":
            pytest.skip(f"target of twin {twin.name} not importable yet: {result.detail}")
        assert result.status == "passed", f"{name}/{twin.name}: error {result.error} > tol {result.tol}"


# -- the framework itself ----------------------------------------------------------------------
x, y = sp.symbols("x y", positive=True)


def _toy(claim, method="auto"):
    return Derivation(name="toy", title="toy", statement="s", symbols={x: "x", y: "y"},
                      steps=(Step(x, y, "why", "s1", claim=claim, method=method),),
                      results=(Result("r", y, sp.sqrt(x - 1), (x,), "r", regime=x > 1),),
                      references=("none",), domain={x: (0.1, 5), y: (0.1, 5)})


def test_a_false_step_is_caught_by_both_routes():
    assert _toy(Eq(sp.sqrt(x**2), x)).check_steps()[0].passed                       # true identity
    wrong = Eq(sp.sqrt(x**2 + y**2), x + y)
    assert not _toy(wrong).check_steps(rng=1)[0].passed                              # auto -> numeric
    assert not _toy(wrong, method="simplify").check_steps()[0].passed
    assert not _toy(wrong, method="numeric").check_steps(rng=1)[0].passed


def test_wrong_branch_of_marchenko_pastur_fails_the_inversion_check():
    d = derivations.derive("marchenko_pastur")
    step = next(s for s in d.steps if s.label == "inversion")
    g = sp.Symbol("g")
    lhs = step.claim.lhs
    # the density from the other sign of the square root is negative: the check must reject it
    flipped = Step(step.lhs, step.rhs, "", "flipped", claim=Eq(-lhs, step.claim.rhs), method="numeric",
                   where=step.where)
    assert not d.check_step(flipped, rng=3).passed
    assert g not in lhs.free_symbols


def test_numeric_out_of_regime_raises_or_returns_nan_on_request():
    d = _toy(Eq(x, x))
    f = d.numeric("r")
    assert f.backend == "numba" and "@numba.njit(cache=True)" in f.source
    assert f(5.0) == pytest.approx(2.0)
    with pytest.raises(SpectralTheoryError, match="derived only where"):
        f(np.array([2.0, 0.5]))
    out = d.numeric("r", out_of_regime="nan")(np.array([2.0, 0.5]))
    assert out[0] == 1.0 and np.isnan(out[1])
    with pytest.raises(SpectralTheoryError, match="must be > 0"):
        f(-1.0)
    with pytest.raises(SpectralTheoryError, match="missing"):
        f()
    # the complex branch is explicit and unchecked
    assert d.numeric("r", complex=True)(0.0) == pytest.approx(1j)


def test_nan_inside_the_regime_is_an_error():
    f = compile_expression(sp.log(x - 2), (x,), name="nan_inside", regime=x > 1)
    with pytest.raises(SpectralTheoryError, match="NaN inside its regime"):
        f(1.5)


@pytest.mark.parametrize("name", NAMES)
def test_numba_and_numpy_backends_agree(name):
    d = derivations.derive(name)
    rng = np.random.default_rng(5)
    for r in d.results:
        if any(not s.is_real and not s.is_positive and not s.is_negative for s in r.args):
            continue                                                   # complex-valued arguments
        fast, slow = d.numeric(r.name), d.numeric(r.name, backend="numpy")
        for _ in range(10):
            point = d.sample_point(rng, (d.regime if r.regime is None else r.regime))
            vals = [float(point[s]) for s in r.args]
            assert fast.backend == "numba" and slow.backend == "numpy"
            assert fast(*vals) == pytest.approx(slow(*vals), rel=1e-12, abs=1e-14)
            assert fast(*vals) == pytest.approx(float(r.expr.evalf(30, subs=point)), rel=1e-12, abs=1e-14)


def test_generated_module_is_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECTRAL_THEORY_CACHE", str(tmp_path))
    f = compile_expression(x**2 + 3 * x, (x,), name="cache_probe_poly")
    assert f(2.0) == 10.0
    files = list(tmp_path.glob("st_generated_cache_probe_poly_*.py"))
    assert len(files) == 1 and files[0].read_text() == f.source
    code = ("import sympy as sp; from derivations.codegen import compile_expression; "
            "x = sp.Symbol('x', positive=True); f = compile_expression(x**2 + 3*x, (x,), name='cache_probe_poly'); "
            "assert f(2.0) == 10.0")
    env = {"SPECTRAL_THEORY_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    assert list((tmp_path / "__pycache__").glob("*.nbi")), "numba wrote no on-disk cache index"


def test_latex_rendering_hooks():
    d = derivations.derive("bbp")
    text = d.latex()
    assert r"\begin{align}" in text and r"\label{eq:bbp:outlier}" in text and r"\section{" in text
    assert sp.latex(d).startswith(r"\begin{aligned}")
    assert d._repr_latex_().startswith("$$")
    assert d.result("overlap").name == "overlap"
    with pytest.raises(SpectralTheoryError, match="no result"):
        d.result("nope")


def test_document_contains_every_derivation():
    doc = build_document()
    for name in NAMES:
        assert rf"\label{{sec:{name}}}" in doc, f"derivation {name} missing from the document"
        for step in derivations.derive(name).steps:
            assert rf"\label{{eq:{name}:{step.label}}}" in doc
    labels = re.findall(r"\\label\{([^}]*)\}", doc)
    assert len(labels) == len(set(labels)), "LaTeX labels must be unique (no 'multiply defined')"
    assert doc.count(r"\section{") == len(NAMES)
    with pytest.raises(SpectralTheoryError):
        build_document(["no_such_derivation"])


def test_importing_spectral_theory_does_not_import_sympy():
    code = "import sys, spectral_theory; assert 'sympy' not in sys.modules, 'sympy was imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
