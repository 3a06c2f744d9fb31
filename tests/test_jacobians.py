"""Score-Jacobian spectra: exact Jacobians against central differences and matrix-free Lanczos."""
import tracemalloc

import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import SpectralTheoryError
from validation import jacobians as J
from validation import samplers as S


def _points(model, n, sigma, alpha=1.0, seed=0):
    return model.noisy_sample(n, sigma, alpha, rng=seed)[1]


@pytest.mark.parametrize("make", [
    lambda: st.LinearManifold(40, [(8, 4.0), (8, 0.5)], rng=0),
    lambda: st.SpikedCovariance(30, [5.0, 2.0], noise=0.5, rng=0),
    lambda: st.Empirical(np.random.default_rng(0).standard_normal((50, 20))),
    lambda: st.GaussianMixture([np.zeros(10), 2 * np.ones(10)], [np.eye(10), 0.5 * np.eye(10)]),
])
def test_finite_differences_match_the_exact_jacobian(make):
    model = make()
    x = _points(model, 3, 0.6, 0.8)
    exact = J.analytic(model, x, 0.6, 0.8)
    fd = J.finite_difference(model.score, x, 0.6, 0.8)
    scale = np.abs(exact).max()
    # central differences: truncation O(h^2) + rounding O(eps |s| / h) with h = eps^(1/3) sigma/alpha
    np.testing.assert_allclose(fd, exact, atol=1e-7 * scale)
    Jfd = J.finite_difference_matrix(model.score, x[0], 0.6, 0.8)
    assert np.abs(Jfd - Jfd.T).max() < 1e-7 * scale               # the Jacobian is symmetric


def test_analytic_broadcasts_the_constant_gaussian_jacobian():
    g = st.LinearManifold(30, [(5, 2.0)], rng=1)
    x = _points(g, 4, 0.3)
    lam = J.analytic(g, x, 0.3)
    assert lam.shape == (4, 30) and np.all(lam == lam[0])
    # -1/(lambda_C + sigma^2): the atom -1/sigma^2 with multiplicity D - m, the rest from C's eigenvalues
    expected = np.sort(np.concatenate([-1 / (g.eigenvalues + 0.09), np.full(25, -1 / 0.09)]))
    np.testing.assert_allclose(lam[0], expected, rtol=1e-12)


@pytest.mark.parametrize("which", ["largest", "smallest"])
def test_lanczos_matches_the_dense_spectrum(which):
    model = st.Empirical(np.random.default_rng(2).standard_normal((60, 25)))
    x = _points(model, 1, 0.7, seed=3)[0]
    dense = J.analytic(model, x, 0.7)
    want = dense[-4:] if which == "largest" else dense[:4]
    exact = J.lanczos_extreme(J.model_jvp(model), x, 0.7, k=4, which=which, jvp=True, rng=0)
    fd = J.lanczos_extreme(model.score, x, 0.7, k=4, which=which, rng=0)
    np.testing.assert_allclose(exact.eigenvalues, want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fd.eigenvalues, want, rtol=1e-6, atol=1e-8 * np.abs(dense).max())
    assert exact.eigenvectors.shape == (25, 4) and exact.matvecs > 0


def test_lanczos_never_forms_a_dense_matrix_at_large_dimension():
    D = 3000
    model = st.LinearManifold(D, [(150, 4.0), (150, 0.5)], rng=0)
    x = model.sample(1, rng=1)[0] + 0.5 * np.random.default_rng(2).standard_normal(D)
    tracemalloc.start()
    top = J.lanczos_extreme(J.model_jvp(model), x, 0.5, k=3, which="largest", jvp=True, rng=0)
    fd = J.lanczos_extreme(model.score, x, 0.5, k=3, which="largest", rng=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < D * D * 8 / 10, f"peak {peak / 1e6:.1f} MB: a D x D matrix would be {D * D * 8 / 1e6:.0f} MB"
    expected = -1 / (model.eigenvalues[:3][::-1] + 0.25)          # the closed form -1/(lambda + sigma^2)
    np.testing.assert_allclose(top.eigenvalues, expected, rtol=1e-10)
    np.testing.assert_allclose(fd.eigenvalues, expected, rtol=1e-6)


def test_model_jvp_matches_the_dense_jacobian():
    for model in (st.SpikedCovariance(20, [3.0], noise=0.2, rng=0), st.LinearManifold(20, [(4, 2.0)], rng=0),
                  st.Empirical(np.random.default_rng(0).standard_normal((15, 20)))):
        x = _points(model, 1, 0.4, 0.9)[0]
        V = np.random.default_rng(1).standard_normal((20, 3))
        np.testing.assert_allclose(J.model_jvp(model)(x, V, 0.4, 0.9), model.score_jacobian(x, 0.4, 0.9) @ V,
                                   rtol=1e-10, atol=1e-10)
    mix = st.GaussianMixture([np.zeros(3), np.ones(3)], [np.eye(3), np.diag([2.0, 1.0, 0.0])])
    x, V = np.array([0.3, 0.6, 0.2]), np.random.default_rng(2).standard_normal((3, 2))
    np.testing.assert_allclose(J.model_jvp(mix)(x, V, 0.5), mix.score_jacobian(x, 0.5) @ V, rtol=1e-10, atol=1e-10)
    with pytest.raises(SpectralTheoryError, match="no exact JVP"):
        J.model_jvp(object())                           # a score without an exact JVP


def test_spectra_along_a_trajectory():
    model = st.Empirical(np.random.default_rng(4).standard_normal((30, 8)))
    x_T = 10 * np.random.default_rng(5).standard_normal((3, 8))
    tr = S.edm_sampler(model.denoise, x_T, st.edm_sigmas(8, 0.05, 10.0), "heun", record=[1, 4, 7])
    dense = J.spectra_along(tr, model)
    fd = J.spectra_along(tr, model, method="finite_difference")
    top = J.spectra_along(tr, model, method="lanczos", k=2, which="largest")
    assert dense.shape == (3, 3, 8) and top.shape == (3, 3, 2)
    np.testing.assert_allclose(fd, dense, atol=1e-6 * np.abs(dense).max())
    np.testing.assert_allclose(top, dense[..., -2:], rtol=1e-8)
    with pytest.raises(SpectralTheoryError, match="sigma = 0"):
        J.spectra_along(S.edm_sampler(model.denoise, x_T, [1.0, 0.5], record=[-1]), model)


def test_bad_input():
    model = st.LinearManifold(10, [(2, 1.0)], rng=0)
    x = model.sample(1, rng=0)[0]
    with pytest.raises(SpectralTheoryError, match="which"):
        J.lanczos_extreme(model.score, x, 0.5, k=2, which="top")
    with pytest.raises(SpectralTheoryError, match="sigma"):
        J.finite_difference(model.score, x, -1.0)
    with pytest.raises(SpectralTheoryError, match="method"):
        J.spectra_along(S.edm_sampler(model.denoise, x, [1.0, 0.5], record=[0]), model, method="qr")
