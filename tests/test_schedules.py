"""Schedules: identities between alpha, sigma, tau, their derivatives and the inverse map."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st_
from scipy.optimize import brentq

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


def test_tau_accumulates_the_sde_noise_and_snr_is_its_inverse(schedule):
    t = interior_times(schedule)
    tau = schedule.tau(t)
    # independent route: tau accumulates the forward SDE's noise, d tau = g(t)^2 / alpha(t)^2 dt
    # (x_t / alpha_t has increments g dW / alpha), integrated by Gauss-Legendre quadrature on pieces
    # between the kinks (the integer steps of a discrete schedule; else 400 equal pieces)
    t0 = schedule.t_min
    nodes, weights = np.polynomial.legendre.leggauss(20)

    def accumulated(ti):
        if isinstance(schedule, st.DiscreteVP):
            cuts = np.unique(np.concatenate([[t0], np.arange(np.ceil(t0), np.floor(ti) + 1), [ti]]))
        else:
            cuts = np.linspace(t0, ti, 401)
        a, b = cuts[:-1, None], cuts[1:, None]
        u = 0.5 * (a + b) + 0.5 * (b - a) * nodes                          # (pieces, 20)
        rate = schedule.diffusion_squared(u.ravel()) / schedule.alpha(u.ravel()) ** 2
        return float(np.sum(0.5 * (b - a) * weights * rate.reshape(u.shape)))
    accumulated = [accumulated(ti) for ti in t]
    np.testing.assert_allclose(tau - float(schedule.tau(t0)), accumulated, rtol=1e-9)
    np.testing.assert_allclose(schedule.snr(t), 1 / tau, rtol=1e-14)
    np.testing.assert_allclose(schedule.log_snr(t), -np.log(tau), rtol=1e-12, atol=1e-12)


def test_time_of_tau_against_root_finding(schedule):
    # independent route: bracketing root finder on the increasing map t -> tau(t)
    lo, hi = float(schedule.tau(schedule.t_min)), float(schedule.tau(schedule.t_max))
    for target in lo + (hi - lo) * np.geomspace(1e-6, 1.0, 9)[:-1]:
        root = brentq(lambda u: float(schedule.tau(u)) - target, schedule.t_min, schedule.t_max,
                      xtol=1e-14, rtol=1e-14)
        t = schedule.time_of_tau(target)
        assert isinstance(t, float) and t == pytest.approx(root, rel=1e-9, abs=1e-10)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@settings(max_examples=40, deadline=None)
@given(u=st_.floats(0.0, 1.0))
def test_time_of_tau_after_tau_round_trip(name, u):
    schedule = SCHEDULES[name]()
    t = schedule.t_min + u * (schedule.t_max - schedule.t_min)
    back = schedule.time_of_tau(schedule.tau(t))
    # tau is flat near t_min for some schedules: compare where tau resolves t (relative step of tau)
    assert float(schedule.tau(back)) == pytest.approx(float(schedule.tau(t)), rel=1e-10, abs=1e-300)
    assert back == pytest.approx(t, rel=1e-8, abs=1e-8 * (schedule.t_max - schedule.t_min))


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


def test_a_ddpm_schedule_beyond_the_machines_memory_is_refused_before_allocating():
    from conftest import refuses_allocation
    refuses_allocation(lambda: st.VP.ddpm_linear(2**50), "T")
    assert st.VP.ddpm_linear(7.0).steps == 7
