"""Numba solver vs the mpmath 50-digit reference (polynomial roots + Herglotz root selection).

Random points in the upper half plane, on the real axis inside and outside the support, and within
1e-6 (relative to the spectral scale) of every edge on both sides; agreement to 1e-10 relative.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from spectral_theory import rmt
from spectral_theory.rmt import reference as ref

CASES = [
    rmt.Silverstein([0.2, 0.3], [1.0, 10.0]),
    rmt.Silverstein([0.1, 0.2, 0.15], [0.5, 5.0, 40.0]),
    rmt.Silverstein([0.45, 0.05], [1.0, 3.0]),
    rmt.GeneralizedMarchenkoPastur([1.0, 3.0, 9.0], [0.2, 0.5, 0.3], 2.5),
    rmt.GeneralizedMarchenkoPastur([1.0, 6.0], [0.5, 0.5], 0.1),
]


def _reference(law, z):
    return complex(ref.law_stieltjes(z, law._eq.a, law._eq.v, law._c, dps=50))


@pytest.mark.parametrize("law", CASES, ids=repr)
def test_edges_match_mpmath(law):
    want = [float(e) for e in ref.edges(law._eq.a, law._eq.v, dps=50)]
    assert_allclose(law._eq.edges, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("law", CASES, ids=repr)
def test_stieltjes_matches_mpmath(law):
    rng = np.random.default_rng(42)
    edges = law._eq.edges
    scale = edges[-1]
    pts = list(rng.uniform(-0.2, 1.3, 8) * scale + 1j * 10 ** rng.uniform(-6, 0, 8) * scale)
    pts += list(rng.uniform(-0.2, 1.3, 8) * scale + 0j)                          # real axis
    for e in edges:                                                                  # near edges
        pts += [e + 1e-6 * scale + 0j, e - 1e-6 * scale + 0j, e + 1e-6j * scale]
    pts = np.array([p for p in pts if p != 0])
    got = np.empty(pts.size, dtype=complex)
    real = pts.imag == 0
    got[~real] = law.stieltjes(pts[~real])
    got[real] = law.boundary_stieltjes(pts[real].real)
    want = np.array([_reference(law, p) for p in pts])
    assert_allclose(got, want, rtol=1e-10)
    # the density on the axis is the same number: -Im g / pi
    inside = real & law.in_support(pts.real)
    assert_allclose(law.pdf(pts[inside].real), -want[inside].imag / np.pi, rtol=1e-10, atol=1e-14)


def test_solver_diagnostics_reported():
    law = CASES[0]
    res = law.stieltjes_result(np.array([1.0 + 1e-3j, 30.0 + 0j]))
    assert res.converged.all() and np.all(res.residual < 1e-12)
    assert np.all(res.iterations >= 1)
