"""Marchenko-Pastur: closed forms against independent routes (to 1e-12).

Routes: closed-form pdf/cdf/moments/Stieltjes (marchenko_pastur.py) vs the numba companion solver
(GeneralizedMarchenkoPastur with a one-atom population, Silverstein with one block), vs the generic
quadrature of SpectralDensity, vs the mpmath 50-digit reference, vs the textbook edges.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from spectral_theory import rmt
from spectral_theory.rmt import reference as ref

CASES = [(0.05, 1.0), (0.3, 2.0), (1.0, 1.0), (2.5, 0.7), (10.0, 3.0)]


@pytest.mark.parametrize("c,s", CASES)
def test_edges_and_atom(c, s):
    mp = rmt.MarchenkoPastur(c, s)
    (lo, hi), = mp.support()
    assert_allclose([lo, hi], [s * (1 - np.sqrt(c)) ** 2, s * (1 + np.sqrt(c)) ** 2], rtol=1e-15, atol=0)
    assert mp.atoms == ([(0.0, 1 - 1 / c)] if c > 1 else [])
    if c != 1.0:                                   # solver edges (critical points of z(s)) agree
        gmp = rmt.GeneralizedMarchenkoPastur([s], [1.0], c)
        assert_allclose(gmp.support()[0], (lo, hi), rtol=1e-12)
        ref_edges = [float(e) for e in ref.edges([c], [s])]
        assert_allclose(ref_edges, [lo, hi], rtol=1e-13)


@pytest.mark.parametrize("c,s", CASES)
def test_pdf_against_solver(c, s):
    mp = rmt.MarchenkoPastur(c, s)
    gmp = rmt.GeneralizedMarchenkoPastur([s], [1.0], c)
    (lo, hi), = mp.support()
    x = np.linspace(lo - 0.1, hi + 0.1, 301)[1:-1]
    x = x[x != 0]
    assert_allclose(gmp.pdf(x), mp.pdf(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("c,s", CASES)
def test_cdf_formula_vs_quadrature_and_derivative(c, s):
    mp = rmt.MarchenkoPastur(c, s)
    (lo, hi), = mp.support()
    x = np.linspace(lo - 0.05, hi + 0.05, 97)
    assert_allclose(mp.cdf(x), mp.cdf(x, method="quadrature"), atol=1e-12, rtol=0)
    # the antiderivative differentiates to the pdf (independent check of the closed-form cdf)
    xi = np.linspace(lo, hi, 41)[1:-1]
    h = 1e-5 * (hi - lo)
    deriv = (mp.cdf(xi + h) - mp.cdf(xi - h)) / (2 * h)
    assert_allclose(deriv, mp.pdf(xi), rtol=1e-6, atol=1e-8)
    assert mp.cdf(hi) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("c,s", CASES)
def test_moments_narayana_vs_quadrature_and_trace(c, s):
    mp = rmt.MarchenkoPastur(c, s)
    for k in range(7):
        assert mp.moment(k) == pytest.approx(mp.moment(k, method="quadrature"), rel=1e-12)
    # trace formulas: (1/p) E tr S = s, (1/p) E tr S^2 = s^2 (1 + c), third: s^3 (1 + 3c + c^2)
    assert_allclose([mp.moment(1), mp.moment(2), mp.moment(3)],
                    [s, s * s * (1 + c), s ** 3 * (1 + 3 * c + c * c)], rtol=1e-14)
    gmp = rmt.GeneralizedMarchenkoPastur([s], [1.0], c)
    assert_allclose([gmp.moment(k) for k in range(7)], [mp.moment(k) for k in range(7)], rtol=1e-12)


@pytest.mark.parametrize("c,s", CASES)
def test_stieltjes_closed_form_vs_mpmath(c, s):
    mp = rmt.MarchenkoPastur(c, s)
    rng = np.random.default_rng(1)
    hi = mp.support()[0][1]
    z = rng.uniform(-0.5, 1.5 * hi, 6) + 1j * np.r_[rng.uniform(1e-3, 2.0, 5), 1e-9]
    got = mp.stieltjes(z)
    want = np.array([complex(ref.law_stieltjes(zi, [c], [s], c)) for zi in z])
    assert_allclose(got, want, rtol=1e-12)
    assert np.all(got.imag < 0)


def test_boundary_value_is_density():
    mp = rmt.MarchenkoPastur(0.4, 1.5)
    (lo, hi), = mp.support()
    x = np.linspace(lo, hi, 50)
    assert_allclose(-mp.boundary_stieltjes(x).imag / np.pi, mp.pdf(x), rtol=1e-13, atol=1e-15)


def test_one_block_silverstein_is_marchenko_pastur():
    # spectral_gaps.md: one block of C = F diag(v) F^T: edges v (1 -/+ sqrt(alpha))^2, atom 1 - alpha
    alpha, v = 0.35, 2.5
    law = rmt.Silverstein([alpha], [v])
    mp = rmt.MarchenkoPastur(1 / alpha, alpha * v)
    assert_allclose(law.support()[0], (v * (1 - np.sqrt(alpha)) ** 2, v * (1 + np.sqrt(alpha)) ** 2), rtol=1e-13)
    assert law.atoms[0] == (0.0, pytest.approx(1 - alpha, abs=1e-15))
    x = np.linspace(*law.support()[0], 200)
    assert_allclose(law.pdf(x), mp.pdf(x), rtol=1e-12, atol=1e-13)
    assert_allclose(law.cdf(x), mp.cdf(x), atol=1e-12)
