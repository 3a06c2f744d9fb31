"""Free additive / multiplicative convolution by subordination, against independent routes.

* closed form: semicircle boxplus semicircle = semicircle (variances and centers add);
* free Poisson: GeneralizedMarchenkoPastur(t, h, c) = AtomicLaw(t, h) boxtimes MarchenkoPastur(c)
  (S = Sigma^{1/2} Z Z^T Sigma^{1/2} / N), solved by the companion equation of :mod:`.silverstein`;
* asymptotic freeness: Silverstein([a1, a2], [v1, v2]) (C = F1 v1 F1^T + F2 v2 F2^T) equals
  Silverstein([a1], [v1]) boxplus Silverstein([a2], [v2]);
* moments: free cumulants add (closed-form cumulants of semicircle and MP); for products
  phi(abab) = phi(a^2) phi(b)^2 + phi(a)^2 phi(b^2) - phi(a)^2 phi(b)^2;
* sampled matrices A + Q B Q^T and A^{1/2} Q B Q^T A^{1/2} (Haar Q by QR with sign fix): KS distance
  below the DKW bound at delta = 1e-6 plus O(1/D) finite-size terms (as in test_rmt_simulation.py).
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import spectral_theory as st
from spectral_theory import rmt
from spectral_theory.rmt.free import free_cumulants

DELTA = 1e-6


@pytest.fixture(scope="module")
def semi_sum():
    return rmt.free_additive_convolution(rmt.Semicircle(1.0), rmt.Semicircle(2.0, 0.5))


def test_semicircle_plus_semicircle_is_semicircle(semi_sum):
    exact = rmt.Semicircle(3.0, 0.5)
    assert_allclose(semi_sum.support(), exact.support(), rtol=1e-9)
    x = np.linspace(-3.5, 4.5, 801)
    assert_allclose(semi_sum.pdf(x), exact.pdf(x), atol=1e-12)
    z = x + 1j * np.geomspace(1e-6, 10.0, x.size)
    res = semi_sum.stieltjes_result(z)
    assert np.all(res.converged) and np.max(res.residual) <= 1e-9
    assert_allclose(res.value, exact.stieltjes(z), rtol=1e-11)
    # subordination identities with the inputs' exact transforms
    w1, w2 = semi_sum.subordination(z)
    assert_allclose(rmt.Semicircle(1.0).stieltjes(w1), res.value, rtol=1e-11)
    assert_allclose(rmt.Semicircle(2.0, 0.5).stieltjes(w2), res.value, rtol=1e-11)
    assert_allclose(w1 + w2, z + 1 / res.value, rtol=1e-11)
    assert np.all(w1.imag >= z.imag * (1 - 1e-12)) and np.all(w2.imag >= z.imag * (1 - 1e-12))


def test_mass_positivity_herglotz(semi_sum):
    assert semi_sum.integrated_mass() == pytest.approx(1.0, abs=1e-10)
    lo, hi = semi_sum.support()[0]
    assert np.all(semi_sum.pdf(np.linspace(lo, hi, 501)) >= 0)
    z = np.linspace(-6, 6, 50) + 0.3j
    g = semi_sum.stieltjes(z)
    assert np.all(g.imag < 0) and np.all(np.abs(g) <= 1 / z.imag)
    assert_allclose(semi_sum.stieltjes(np.conj(z)), np.conj(g), rtol=1e-14)
    # real z outside the support: real transform, equal to the closed form
    xo = np.array([-5.0, -3.0, 4.0, 9.0])
    assert_allclose(semi_sum.stieltjes(xo), rmt.Semicircle(3.0, 0.5).stieltjes(xo), rtol=1e-11)


def test_gmp_is_population_times_marchenko_pastur():
    t, h, c = [1.0, 4.0], [0.5, 0.5], 0.1
    conv = rmt.free_multiplicative_convolution(rmt.AtomicLaw(t, h), rmt.MarchenkoPastur(c))
    gmp = rmt.GeneralizedMarchenkoPastur(t, h, c)
    assert len(conv.support()) == len(gmp.support()) == 2
    assert_allclose(conv.support(), gmp.support(), rtol=1e-9)
    assert conv.atoms == gmp.atoms == []
    x = np.concatenate([np.linspace(lo, hi, 200)[1:-1] for lo, hi in gmp.support()])
    assert_allclose(conv.pdf(x), gmp.pdf(x), rtol=1e-9, atol=1e-12)
    z = np.linspace(0.1, 8, 40) + 0.05j
    assert_allclose(conv.stieltjes(z), gmp.stieltjes(z), rtol=1e-11)
    assert conv.integrated_mass() == pytest.approx(1.0, abs=1e-10)


def test_two_block_silverstein_is_free_sum_of_single_blocks():
    a, v = [0.2, 0.3], [1.0, 10.0]
    conv = rmt.free_additive_convolution(rmt.Silverstein([a[0]], [v[0]]), rmt.Silverstein([a[1]], [v[1]]))
    law = rmt.Silverstein(a, v)
    # atom at 0: (1 - a1) + (1 - a2) - 1 = 1 - a1 - a2
    assert conv.atoms == [(0.0, pytest.approx(1 - sum(a), abs=1e-15))]
    assert_allclose(conv.support(), law.support(), rtol=1e-9)
    x = np.concatenate([np.linspace(lo, hi, 150)[1:-1] for lo, hi in law.support()])
    assert_allclose(conv.pdf(x), law.pdf(x), rtol=1e-8, atol=1e-12)
    assert conv.integrated_mass() == pytest.approx(1.0, abs=1e-10)


def test_free_cumulants_add():
    s2, c, s = 0.7, 0.4, 1.5
    conv = rmt.free_additive_convolution(rmt.Semicircle(s2), rmt.MarchenkoPastur(c, s))
    # closed-form free cumulants: semicircle (0, s2, 0, 0); MP(c, s): kappa_n = s^n c^(n-1)
    k1, k2, k3, k4 = s, s2 + s * s * c, s ** 3 * c ** 2, s ** 4 * c ** 3
    exact = [k1, k2 + k1 ** 2, k3 + 3 * k1 * k2 + k1 ** 3,
             k4 + 4 * k1 * k3 + 2 * k2 ** 2 + 6 * k1 ** 2 * k2 + k1 ** 4]
    assert_allclose([conv.moment(k, method="quadrature") for k in (1, 2, 3, 4)], exact, rtol=1e-10)
    assert_allclose([conv.moment(k) for k in (1, 2, 3, 4)], exact, rtol=1e-12)
    assert_allclose(free_cumulants([1.0] + exact)[1:], [k1, k2, k3, k4], rtol=1e-12)


def test_product_moments_and_free_poisson():
    a, b = rmt.MarchenkoPastur(0.3, 2.0), rmt.MarchenkoPastur(0.5)
    conv = rmt.free_multiplicative_convolution(a, b)
    a1, a2, b1, b2 = a.moment(1), a.moment(2), b.moment(1), b.moment(2)
    assert conv.moment(1) == pytest.approx(a1 * b1, rel=1e-10)
    assert conv.moment(2) == pytest.approx(a2 * b1 ** 2 + a1 ** 2 * b2 - a1 ** 2 * b1 ** 2, rel=1e-10)
    assert conv.integrated_mass() == pytest.approx(1.0, abs=1e-10)


def test_atoms_of_convolutions():
    # additive: atom at x + y iff a{x} + b{y} > 1: 0 + 0 (0.7 + 0.6 - 1) and 0 + 2 (0.7 + 0.4 - 1)
    add = rmt.free_additive_convolution(rmt.AtomicLaw([0.0, 1.0], [0.7, 0.3]), rmt.AtomicLaw([0.0, 2.0], [0.6, 0.4]))
    assert add.atoms == [(0.0, pytest.approx(0.3)), (2.0, pytest.approx(0.1))]
    assert add.integrated_mass() == pytest.approx(1.0, abs=1e-10)
    # product of free projections of ranks p, q: atoms max(1-p, 1-q) at 0 and max(0, p+q-1) at 1
    p, q = 0.6, 0.7
    prod = rmt.free_multiplicative_convolution(rmt.AtomicLaw([0.0, 1.0], [1 - p, p]), rmt.AtomicLaw([0.0, 1.0], [1 - q, q]))
    assert prod.atoms == [(0.0, pytest.approx(0.4)), (1.0, pytest.approx(0.3))]
    assert prod.integrated_mass() == pytest.approx(1.0, abs=1e-10)
    assert prod.moment(1, method="quadrature") == pytest.approx(p * q, rel=1e-10)   # tr(PQ) = p q


def test_bad_input():
    with pytest.raises(st.SpectralTheoryError, match="first"):
        rmt.free_additive_convolution([1.0], rmt.Semicircle())
    with pytest.raises(st.SpectralTheoryError, match="second"):
        rmt.free_multiplicative_convolution(rmt.MarchenkoPastur(0.5), rmt.Semicircle())
    with pytest.raises(st.SpectralTheoryError, match="weights"):
        rmt.AtomicLaw([1.0, 2.0], [0.5, 0.6])


# ---- against sampled matrices -------------------------------------------------------------------

def _haar(D, rng):
    q, r = np.linalg.qr(rng.standard_normal((D, D)))
    return q * np.sign(np.diag(r))


def _ks(law, eig):
    eig = np.sort(eig)
    F = law.cdf(eig)
    n = eig.size
    upper = np.arange(1, n + 1) / n
    return max(np.max(upper - F), np.max(F - (upper - 1 / n)))


def _bound(law, n):
    # DKW at delta (conservative for eigenvalues), O(1) displaced eigenvalues per edge, and the
    # 1/n cdf error of representing a continuous input by its n quantiles
    return np.sqrt(np.log(2 / DELTA) / (2 * n)) + (2 * len(law.support()) + 2) / n + 1 / n


@pytest.mark.parametrize("kind", ["additive", "multiplicative"])
def test_against_sampled_matrices(kind):
    D = 500
    rng = np.random.default_rng(2024 if kind == "additive" else 7)
    a, b = rmt.MarchenkoPastur(0.3), rmt.AtomicLaw([1.0, 4.0], [0.5, 0.5])
    A = a.quantile((np.arange(D) + 0.5) / D)
    B = np.repeat([1.0, 4.0], D // 2)
    Q = _haar(D, rng)
    QB = (Q * B) @ Q.T
    if kind == "additive":
        law = rmt.free_additive_convolution(a, b)
        M = np.diag(A) + QB
    else:
        law = rmt.free_multiplicative_convolution(a, b)
        r = np.sqrt(A)
        M = r[:, None] * QB * r[None, :]
    eig = np.linalg.eigvalsh(M)
    assert _ks(law, eig) <= _bound(law, D)
