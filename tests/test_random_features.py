"""spectral_theory.random_features: Gaussian-equivalence coefficients (quadrature vs mpmath vs erf closed forms)
and the two-timescale spectrum of the DSM-loss Hessian (formula vs the dense spectrum of the Gaussian-equivalent
matrix, and of the actual tanh features)."""
import mpmath
import numpy as np
import pytest

from spectral_theory import OU, SpectralTheoryError
from spectral_theory.random_features import feature_coefficients, training_timescales


def _mp_coefficients(phi, c, s):
    """mu1, v2, s2 by mpmath quadrature (an independent route to the nested Gauss-Hermite rule)."""
    g = lambda x: mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)
    E = lambda f: mpmath.quad(lambda x: f(x) * g(x), [-mpmath.inf, 0, mpmath.inf])
    gamma2 = c * c + s * s
    mu1 = E(lambda h: h * phi(mpmath.sqrt(gamma2) * h)) / mpmath.sqrt(gamma2)
    inner = lambda u: E(lambda z: phi(c * u + s * z))
    v2 = E(lambda u: inner(u) ** 2) - c * c * mu1**2
    s2 = E(lambda h: phi(mpmath.sqrt(gamma2) * h) ** 2) - gamma2 * mu1**2 - v2
    return float(mu1), float(v2), float(s2)


@pytest.mark.parametrize("alpha, sigma", [(0.99, 0.14), pytest.param(0.4, 0.9, marks=pytest.mark.slow)])
def test_tanh_coefficients_match_mpmath(alpha, sigma):
    co = feature_coefficients(alpha, sigma, "tanh")
    with mpmath.workdps(12):                            # local: the global precision is other tests' too
        ref = _mp_coefficients(mpmath.tanh, alpha, sigma)
    np.testing.assert_allclose([co.mu1, co.v2, co.s2], ref, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("alpha, sigma, vx", [(0.99, 0.14, 1.0), (0.5, 0.8, 2.0), (1.0, 0.05, 0.3)])
def test_erf_coefficients_match_closed_forms(alpha, sigma, vx):
    """erf: E_z erf(k u + s z) = erf(k u / sqrt(1 + 2 s^2)), E erf(a) erf(b) = (2/pi) asin(2 C_ab /
    sqrt((1 + 2 C_aa)(1 + 2 C_bb))), E erf'(h) = (2/sqrt(pi)) / sqrt(1 + 2 Var h) (Williams 1997)."""
    co = feature_coefficients(alpha, sigma, "erf", data_variance=vx)
    c2 = alpha**2 * vx
    g2 = c2 + sigma**2
    mu1 = 2 / np.sqrt(np.pi) / np.sqrt(1 + 2 * g2)
    k2 = c2 / (1 + 2 * sigma**2)                            # variance of the noise-averaged preactivation
    v2 = 2 / np.pi * np.arcsin(2 * k2 / (1 + 2 * k2)) - c2 * mu1**2
    s2 = 2 / np.pi * np.arcsin(2 * g2 / (1 + 2 * g2)) - g2 * mu1**2 - v2
    np.testing.assert_allclose([co.mu1, co.v2, co.s2, co.gamma2], [mu1, v2, s2, g2], rtol=1e-9, atol=1e-13)


def test_gaussian_equivalent_spectrum_has_the_predicted_groups():
    """Dense eigenvalues of U = G G^T/n + mu1^2 sigma^2 W W^T + s^2 I, G = mu1 alpha W X + v Omega: the top d
    average lambda_gen, ranks d+1..n average lambda_mem, the rest s^2 (leading order: allowances the dropped
    orders d/n, n/p)."""
    d, p, n = 25, 2000, 250
    alpha, sigma = float(OU().alpha(0.01)), float(OU().sigma(0.01))
    pred = training_timescales(d, p, n, alpha, sigma)
    co = pred.coefficients
    rng = np.random.default_rng(3)
    W = rng.standard_normal((p, d)) / np.sqrt(d)
    G = co.mu1 * alpha * W @ rng.standard_normal((d, n)) + np.sqrt(co.v2) * rng.standard_normal((p, n))
    U = G @ G.T / n + co.mu1**2 * sigma**2 * W @ W.T + co.s2 * np.eye(p)
    ev = np.linalg.eigvalsh(U)[::-1]
    assert ev[:d].mean() == pytest.approx(pred.lambda_gen, rel=d / n + n / p)
    assert ev[d:n].mean() == pytest.approx(pred.lambda_mem, rel=d / n)
    assert ev[n:].mean() == pytest.approx(pred.lambda_rest, rel=d / n)     # W W^T leaks outside range(G)
    assert ev[n - 1] > 3 * ev[n]                            # separated groups: ranking assigns them
    assert ev[d - 1] > 3 * ev[d]


def test_timescales_scale_as_claimed():
    alpha, sigma = float(OU().alpha(0.01)), float(OU().sigma(0.01))
    a, b = (training_timescales(32, 4096, n, alpha, sigma) for n in (128, 256))
    assert a.tau_gen == b.tau_gen
    # lambda_mem = v^2 p/n + s^2: doubling n halves v^2 p/n
    assert b.tau_mem / a.tau_mem == pytest.approx(2 * a.lambda_mem / (a.lambda_mem + a.lambda_rest))
    assert 0.95 < a.mem_exponent < 1
    assert a.tau_gen == pytest.approx(32 / (2 * sigma**2 * a.lambda_gen))


@pytest.mark.parametrize("kwargs, name", [
    (dict(dim=10, features=100, samples=5), "samples"), (dict(dim=10, features=50, samples=60), "features"),
    (dict(dim=0, features=50, samples=20), "dim"), (dict(dim=10, features=50, samples=20, sigma=0.0), "sigma"),
    (dict(dim=10, features=50, samples=20, alpha=-1.0), "alpha"),
    (dict(dim=10, features=50, samples=20, activation="relu"), "activation"),
    (dict(dim=10, features=50, samples=20, data_variance=np.nan), "data_variance"),
    (dict(dim=10, features=50, samples=20, alpha=1e200, sigma=1e200), "alpha"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    args = dict(alpha=0.9, sigma=0.3) | kwargs
    with pytest.raises(SpectralTheoryError, match=name):
        training_timescales(**args)


def test_without_signal_memorization_is_set_by_the_noise_alone():
    """alpha = 0: the features carry nothing of the training points (v^2 = 0), the memorization group sits at s^2
    and its time no longer grows with n."""
    out = training_timescales(10, 100, 20, 0.0, 1.0)
    assert out.coefficients.v2 == 0 and out.lambda_mem == out.lambda_rest > 0
    assert out.mem_exponent == 0


def test_gradient_flow_of_the_experiment_matches_explicit_gradient_descent():
    """validation.experiments.timescales.gradient_flow (closed form in U's eigenbasis) against small explicit
    gradient-descent steps on the same quadratic loss, with the same evaluation points."""
    from validation.experiments.timescales import gradient_flow, hessian
    d, p, n = 6, 60, 20
    alpha, sigma = 0.9, 0.4
    rng = np.random.default_rng(5)
    W = rng.standard_normal((p, d)) / np.sqrt(d)
    X = rng.standard_normal((n, d))
    U, c = hessian(X, W, alpha, sigma, 50, rng)
    lr, steps = 0.2 * d / (2 * sigma**2 * np.linalg.eigvalsh(U)[-1]), 400
    err, gap = gradient_flow(U, c, W, alpha, sigma, np.array([lr * steps]), np.random.default_rng(9), n_eval=2000)
    C = sigma * c[:, None] * W                           # E[phi eta^T] (p x d), Stein
    A = np.zeros((d, p))
    for _ in range(steps):                               # gradient of sigma^2/d tr(A U A^T) + 2 sigma/d tr(A C)
        A -= lr * 2 / d * (sigma**2 * A @ U + sigma * C.T)
    ev = np.random.default_rng(9)
    var = alpha**2 + sigma**2
    y = np.sqrt(var) * ev.standard_normal((2000, d))
    # gradient_flow uses E|y|^2 = d var exactly: the same constant here
    direct = np.mean((np.tanh(y @ W.T) @ A.T + y / var) ** 2) * var - np.mean(y**2) / var + 1
    x_te, eta_te = ev.standard_normal((2000, d)), ev.standard_normal((2000, d))
    F_te = np.tanh((alpha * x_te + sigma * eta_te) @ W.T)
    C_te = sigma * (1 - F_te**2).mean(axis=0)[:, None] * W

    def loss(M2, C_):
        return sigma**2 / d * np.sum((A @ M2) * A) + 2 * sigma / d * np.sum(A * C_.T)
    direct_gap = loss(F_te.T @ F_te / 2000, C_te) - loss(U, C)
    # descent at step lr vs flow: (1 - lr r)^s vs e^(-lr r s), 1e-4 here (measured: 400 -> 6,400 steps)
    assert err[0] == pytest.approx(direct, rel=1e-3)
    assert gap[0] == pytest.approx(direct_gap, rel=1e-3)
