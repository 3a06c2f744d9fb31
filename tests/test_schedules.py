"""Schedules: identities between alpha, sigma, tau, their derivatives and the inverse map."""
import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import SpectralTheoryError

SCHEDULES = {
    "VE": lambda: st.VE(0.01, 50.0),
    "VP": lambda: st.VP(0.1, 20.0),
    "DDPM": lambda: st.VP.ddpm_linear(1000),
    "OU": lambda: st.OU(t_max=10.0),
    "EDM": lambda: st.EDM(),
}


def interior_times(s, n=25):
    lo, hi = s.t_min, s.t_max
    return lo + (hi - lo) * np.linspace(0.03, 0.97, n)


@pytest.fixture(params=list(SCHEDULES))
def schedule(request):
    return SCHEDULES[request.param]()


def test_tau_is_sigma_over_alpha_squared_and_snr_its_inverse(schedule):
    t = interior_times(schedule)
    tau = schedule.tau(t)
    np.testing.assert_allclose(tau, (schedule.sigma(t) / schedule.alpha(t)) ** 2, rtol=1e-14)
    np.testing.assert_allclose(schedule.snr(t), 1 / tau, rtol=1e-14)
    np.testing.assert_allclose(schedule.log_snr(t), -np.log(tau), rtol=1e-12, atol=1e-12)


def test_time_of_tau_inverts_tau(schedule):
    t = interior_times(schedule)
    np.testing.assert_allclose(schedule.time_of_tau(schedule.tau(t)), t, rtol=1e-10, atol=1e-10)
    assert isinstance(schedule.time_of_tau(schedule.tau(t[3])), float)


def test_derivatives_match_central_differences(schedule):
    t = interior_times(schedule)
    if isinstance(schedule, st.DiscreteVP):
        t = np.floor(t) + 0.5            # piecewise-linear in log abar: differentiate inside a step
    h = 1e-6 * max(1.0, schedule.t_max - schedule.t_min)
    for f, df in [(schedule.alpha, schedule.d_alpha), (schedule.sigma, schedule.d_sigma), (schedule.tau, schedule.d_tau)]:
        fd = (f(t + h) - f(t - h)) / (2 * h)
        np.testing.assert_allclose(df(t), fd, rtol=1e-6, atol=1e-9)


def test_sde_coefficients_reproduce_marginal_variance(schedule):
    # forward SDE dx = f x dt + g dW has d(sigma^2)/dt = 2 f sigma^2 + g^2, and g^2 = alpha^2 dtau/dt
    t = interior_times(schedule)
    if isinstance(schedule, st.DiscreteVP):
        t = np.floor(t) + 0.5
    a, s = schedule.alpha(t), schedule.sigma(t)
    g2 = schedule.diffusion_squared(t)
    np.testing.assert_allclose(g2, a**2 * schedule.d_tau(t), rtol=1e-10)
    rhs = 2 * schedule.drift(t) * s**2 + g2
    scale = np.abs(2 * schedule.drift(t) * s**2) + g2          # the sum cancels at large OU times
    np.testing.assert_allclose(2 * s * schedule.d_sigma(t), rhs, rtol=1e-10, atol=1e-13 * scale.max())


def test_vp_tau_is_one_minus_abar_over_abar():
    s = st.VP(0.1, 20.0)
    t = np.linspace(0.01, 1, 50)
    abar = np.exp(-(0.1 * t + 0.5 * 19.9 * t**2))
    np.testing.assert_allclose(s.tau(t), (1 - abar) / abar, rtol=1e-12)
    np.testing.assert_allclose(s.alpha(t) ** 2 + s.sigma(t) ** 2, 1.0, rtol=1e-14)


def test_ddpm_matches_cumulative_product_at_integer_steps():
    s = st.VP.ddpm_linear(1000)
    betas = np.linspace(1e-4, 0.02, 1000)
    abar = np.cumprod(1 - betas)
    n = np.arange(1, 1001)
    np.testing.assert_allclose(s.alpha(n.astype(float)) ** 2, abar, rtol=1e-12)
    np.testing.assert_allclose(s.alphas_cumprod(), abar, rtol=1e-12)
    np.testing.assert_allclose(s.tau(n.astype(float)), (1 - abar) / abar, rtol=1e-10)
    np.testing.assert_allclose(s.time_of_tau((1 - abar) / abar), n, rtol=1e-10)


def test_ou_tau_is_exp_2t_minus_one():
    s = st.OU()
    t = np.linspace(0.001, 5, 40)
    np.testing.assert_allclose(s.tau(t), np.expm1(2 * t), rtol=1e-12)


def test_edm_grid_against_karras_formula():
    n, lo, hi, rho = 18, 0.002, 80.0, 7.0
    i = np.arange(n)
    want = (hi ** (1 / rho) + i / (n - 1) * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho
    np.testing.assert_allclose(st.edm_sigmas(n), want, rtol=1e-13)
    np.testing.assert_allclose(st.EDM().grid(n), want, rtol=1e-13)
    assert st.edm_sigmas(n)[0] == hi and st.edm_sigmas(n)[-1] == lo
    assert np.all(np.diff(st.edm_sigmas(n)) < 0)


def test_ve_is_geometric():
    s = st.VE(0.01, 50.0)
    np.testing.assert_allclose(s.sigma(np.array([0.0, 0.5, 1.0])), [0.01, np.sqrt(0.01 * 50), 50.0], rtol=1e-14)
    assert s.alpha(0.3) == 1.0


@pytest.mark.parametrize("bad", [
    lambda: st.VE(1.0, 0.5), lambda: st.VE(-1, 2), lambda: st.VP(-0.1, 20), lambda: st.VP(5, 1),
    lambda: st.EDM(sigma_min=0), lambda: st.VP.ddpm_linear(0), lambda: st.VP.ddpm_linear(10, beta_end=1.5),
    lambda: st.edm_sigmas(1), lambda: st.OU(t_max=-1), lambda: st.VP().alpha(1.5), lambda: st.VP().tau(-0.1),
    lambda: st.VE().sigma(np.nan), lambda: st.OU(t_max=2).time_of_tau(1e6), lambda: st.EDM().sigma(100.0),
])
def test_bad_input_raises_clear_error(bad):
    with pytest.raises(SpectralTheoryError):
        bad()


def test_error_names_the_parameter():
    with pytest.raises(SpectralTheoryError, match="`t`"):
        st.VP().sigma(2.0)
    with pytest.raises(SpectralTheoryError, match="`sigma_max`"):
        st.VE(2.0, 1.0)
