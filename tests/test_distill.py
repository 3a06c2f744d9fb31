"""Linear distillation, the Wiener filter and the Gaussian model's closed forms, each against an
independent route (the model's own denoiser, an ODE solver, Monte Carlo with its standard error)."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import spectral_theory as st
from spectral_theory.distill import (distillation_rate, gaussian_denoiser_mse, gaussian_flow_denoiser,
                                     gaussian_sample_from_noise)

Z = 5.0   # z-score tolerance of the Monte Carlo checks (false-alarm rate ~ 6e-7 per check)


def random_cov(rng, D, rank=None):
    A = rng.standard_normal((D, rank or D))
    return A @ A.T / D


@pytest.mark.parametrize("alpha", [1.0, 0.6])
def test_wiener_filter_is_the_gaussian_models_denoiser(alpha):
    rng = np.random.default_rng(0)
    D = 8
    mu, C = rng.standard_normal(D), random_cov(rng, D, rank=5)
    W, b = st.wiener_filter(mu, C, 0.7, alpha)
    x = rng.standard_normal((20, D))
    np.testing.assert_allclose(x @ W.T + b, st.Gaussian(mu, C).denoise(x, 0.7, alpha), atol=1e-12)


def test_distilling_an_affine_denoiser_is_exact_in_high_dimension():
    # rank-deficient Gaussian fitted to N = 60 points in D = 500: its denoiser is affine, so the
    # least-squares fit must reproduce it to rounding error even though D is large
    rng = np.random.default_rng(1)
    D = 500
    X = rng.standard_normal((60, D)) * np.linspace(0.1, 3, D) + 0.5
    g = st.Gaussian.from_samples(X)
    fit = st.distill_linear(g, 0.3, 800, X, rng=2)
    W, b = fit
    Ws, bs = st.wiener_filter(g.mean_vector, g.covariance(), 0.3)
    assert np.abs(W - Ws).max() < 1e-9 and np.abs(b - bs).max() < 1e-9
    assert fit.residual_mse < 1e-12 * np.trace(g.covariance())
    assert fit.condition_lower_bound > 1


def test_distilled_mixture_denoiser_converges_to_wiener_at_the_predicted_rate():
    # non-Gaussian data: E|W_hat - W*|_F^2 = c/n (1 + O(D/n)), c from distillation_rate (sandwich)
    rng = np.random.default_rng(3)
    D, s, n, reps = 4, 1.0, 3000, 40
    m = st.GaussianMixture(rng.standard_normal((3, D)) * 1.5, np.stack([np.eye(D) * v for v in (0.3, 0.6, 1.0)]))
    rate = distillation_rate(m, s, 100_000, rng=4)
    Ws, _ = st.wiener_filter(m.mean_vector, m.covariance(), s)
    err = np.array([np.sum((st.distill_linear(m, s, n, m, rng=r).W - Ws) ** 2) for r in rng.spawn(reps)])
    measured, se = n * err.mean(), n * err.std(ddof=1) / np.sqrt(reps)
    finite = rate.constant * (D + 1) / (n - D - 2)
    assert abs(measured - rate.constant) < Z * np.hypot(se, rate.stderr) + finite
    assert rate.constant > 10 * rate.stderr          # the mixture denoiser is genuinely nonlinear


def test_distillation_rate_is_zero_for_gaussian_data():
    g = st.Gaussian(np.ones(3), np.diag([1.0, 0.5, 0.1]))
    assert distillation_rate(g, 0.5, 1000, rng=0).constant < 1e-20


def test_sample_from_noise_has_the_model_covariance_and_lies_on_the_support():
    rng = np.random.default_rng(5)
    D, n, sT = 6, 40_000, 80.0
    X = rng.standard_normal((4, D)) * 2                    # N = 4 < D: rank 3
    g = st.Gaussian.from_samples(X)
    x_T = g.mean_vector + g.sample(n, rng=rng) - g.mean_vector + sT * rng.standard_normal((n, D))
    x0 = gaussian_sample_from_noise(g, x_T, sT)
    z = (x0 - g.mean_vector) @ g.eigenvectors               # eigencoordinates
    off = (x0 - g.mean_vector) - z @ g.eigenvectors.T
    assert np.abs(off).max() < 1e-10 * sT
    var = z.var(axis=0, ddof=0)
    np.testing.assert_array_less(np.abs(var - g.eigenvalues), Z * g.eigenvalues * np.sqrt(2 / n))


def test_closed_form_flow_matches_an_ode_solver():
    # review of Gaussian.flow: dx/dsigma = (x - D(x; sigma))/sigma integrated by RK45 at rtol 1e-10
    rng = np.random.default_rng(6)
    D = 5
    g = st.Gaussian(rng.standard_normal(D), random_cov(rng, D, rank=3))
    x_T = rng.standard_normal(D) * 10
    sol = solve_ivp(lambda s, x: (x - g.denoise(x, s)) / s, (10.0, 0.05), x_T, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(g.flow(x_T, 10.0, 0.05), sol.y[:, -1], rtol=1e-8, atol=1e-9)


def test_flow_denoiser_is_the_denoiser_at_the_flowed_point():
    rng = np.random.default_rng(7)
    D = 6
    for g in (st.Gaussian(rng.standard_normal(D), random_cov(rng, D, rank=4)),
              st.SpikedCovariance(D, [3.0, 1.0], noise=0.2, rng=8)):
        x_T = rng.standard_normal((5, D)) * 4
        for st_ in (3.0, 0.4, 0.01):
            np.testing.assert_allclose(gaussian_flow_denoiser(g, x_T, 4.0, st_),
                                       g.denoise(g.flow(x_T, 4.0, st_), st_), atol=1e-12)


@pytest.mark.parametrize("sigma", [0.05, 0.8, 5.0])
def test_gaussian_denoiser_mse_formula_against_monte_carlo(sigma):
    rng = np.random.default_rng(9)
    D, n = 7, 50_000
    for g in (st.Gaussian(rng.standard_normal(D), random_cov(rng, D, rank=4)),
              st.SpikedCovariance(D, [3.0, 1.0], noise=0.3, rng=10)):
        x0, xt = g.noisy_sample(n, sigma, rng=rng)
        sq = np.sum((g.denoise(xt, sigma) - x0) ** 2, axis=1)
        pred = gaussian_denoiser_mse(g, sigma)
        assert abs(sq.mean() - pred) < Z * sq.std(ddof=1) / np.sqrt(n)


def test_bad_input():
    g = st.Gaussian(np.zeros(3), np.eye(3))
    X = np.ones((10, 3))
    with pytest.raises(st.SpectralTheoryError, match="n_fit"):
        st.distill_linear(g, 1.0, 4, g)
    with pytest.raises(st.SpectralTheoryError, match="sigma"):
        st.distill_linear(g, -1.0, 100, g)
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(st.SpectralTheoryError, match="NaN"):
        st.distill_linear(g, 1.0, 100, bad)
    with pytest.raises(st.SpectralTheoryError, match="at least 2"):
        st.distill_linear(g, 1.0, 100, X[:1])
    with pytest.raises(st.SpectralTheoryError, match="shape"):
        st.distill_linear(lambda x, s, a: x[:, :2], 1.0, 100, g)
    with pytest.raises(st.SpectralTheoryError, match="NaN"):
        st.distill_linear(lambda x, s, a: x * np.nan, 1.0, 100, g)
    with pytest.raises(st.SpectralTheoryError, match="sigma_t"):
        gaussian_flow_denoiser(g, np.zeros(3), 1.0, 2.0)
    with pytest.raises(st.SpectralTheoryError, match="sigma_t"):
        g.flow(np.zeros(3), 1.0, 2.0)
    with pytest.raises(st.SpectralTheoryError, match="last dimension"):
        gaussian_sample_from_noise(g, np.zeros(4), 1.0)
    with pytest.raises(st.SpectralTheoryError, match="Gaussian"):
        gaussian_denoiser_mse(st.Empirical(X), 1.0)
    with pytest.raises(st.SpectralTheoryError, match="at least 2"):
        st.Gaussian.from_samples(X[:1])
    with pytest.raises(st.SpectralTheoryError, match="shape"):
        st.wiener_filter(np.zeros(3), np.eye(4), 1.0)


def test_sizes_beyond_the_machines_memory_are_refused_before_allocating():
    from conftest import refuses_allocation
    g = st.Gaussian(np.zeros(3), np.eye(3))
    refuses_allocation(lambda: distillation_rate(g, 0.5, n_mc=2**50, rng=0), "n_mc")
    refuses_allocation(lambda: distillation_rate(g, 0.5, n_mc=2**40, batch=2**40, rng=0), "batch")
    refuses_allocation(lambda: st.distill_linear(g, 0.5, 2**40, g, batch=2**40, rng=0), "batch")
    with pytest.raises(st.SpectralTheoryError, match="`batch`"):
        distillation_rate(g, 0.5, n_mc=10, batch=0.5, rng=0)
