"""Sampler accuracy against the Gaussian model's closed forms (gaussian.md, conventions.md).

Measured on the model below (D = 12, rank 8, eigenvalues 5 .. 0.05, non-zero mean; 128 start points at
sigma = 80): RMS error per coordinate at sigma = 0 of Euler with 10 Karras steps ~0.2, of Heun with 50
steps ~4e-3 (about 50x smaller); the test asserts a factor 20.
"""
import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import SpectralTheoryError
from validation import samplers as S

SMAX = 80.0


@pytest.fixture(scope="module")
def gauss():
    rng = np.random.default_rng(0)
    V = np.linalg.qr(rng.standard_normal((12, 8)))[0]
    return st.Gaussian.from_eigen(rng.standard_normal(12), np.geomspace(5.0, 0.05, 8), V)


@pytest.fixture(scope="module")
def start(gauss):
    rng = np.random.default_rng(1)
    return gauss.sample(128, rng=rng) + SMAX * rng.standard_normal((128, gauss.dim))


def rms(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def test_heun_50_is_far_closer_to_the_closed_form_than_euler_10(gauss, start):
    exact = gauss.flow(start, SMAX, 0.0)
    e_euler = rms(S.edm_sampler(gauss.denoise, start, st.edm_sigmas(10), "euler").final, exact)
    e_heun = rms(S.edm_sampler(gauss.denoise, start, st.edm_sigmas(50), "heun").final, exact)
    assert e_heun < e_euler / 20 and e_heun < 0.01, (e_euler, e_heun)


@pytest.mark.parametrize("method, order", [("euler", 1), ("heun", 2)])
def test_edm_sampler_order(gauss, start, method, order):
    # error at the last positive level (the final jump to 0 is a fixed-size step whatever n is)
    exact = gauss.flow(start, SMAX, 0.002)
    e = [rms(S.edm_sampler(gauss.denoise, start, st.edm_sigmas(n), method, record=[-2]).states[0], exact)
         for n in (128, 256)]
    assert np.log2(e[0] / e[1]) == pytest.approx(order, abs=0.03)


def test_probability_flow_any_schedule_converges_with_heun_order_2(gauss, start):
    vp = st.VP()
    x_T = start / np.sqrt(SMAX**2 + 1)                             # some points at t = 1
    t_end = 1e-3
    exact = vp.alpha(t_end) * gauss.flow(x_T / vp.alpha(1.0), vp.sigma(1.0) / vp.alpha(1.0),
                                         vp.sigma(t_end) / vp.alpha(t_end))
    e = [rms(S.probability_flow(gauss.denoise, vp, x_T, np.linspace(1.0, t_end, n + 1), "heun").final, exact)
         for n in (400, 800)]
    assert e[1] < 2e-3 and np.log2(e[0] / e[1]) == pytest.approx(2, abs=0.2), e
    e_euler = rms(S.probability_flow(gauss.denoise, vp, x_T, np.linspace(1.0, t_end, 801), "euler").final, exact)
    assert e_euler > 2 * e[1]


def test_ddim_is_euler_in_ve_equivalent_variables(gauss, start):
    ddpm = st.VP.ddpm_linear(1000)
    x = start[:16] / SMAX
    tr = S.ddim(gauss.denoise, ddpm, x, 40)
    s = tr.sigmas[:-1] / tr.alphas[:-1]                             # the VE-equivalent grid, then 0
    ve = S.edm_sampler(gauss.denoise, x / tr.alphas[0], s, "euler")
    np.testing.assert_allclose(tr.final, ve.final, rtol=1e-9, atol=1e-9)


def test_ddim_converges_to_the_closed_form(gauss, start):
    ddpm = st.VP.ddpm_linear(1000)
    a, s = ddpm.alpha(1000.0), ddpm.sigma(1000.0)
    x = a * gauss.sample(128, rng=3) + s * np.random.default_rng(4).standard_normal((128, gauss.dim))
    exact = gauss.flow(x / a, s / a, 0.0)
    e = [rms(S.ddim(gauss.denoise, ddpm, x, n).final, exact) for n in (50, 200, 1000)]
    assert e[0] > 3 * e[1] > 3 * 3 * e[2] * 0.9 and e[2] < 5e-3, e


def _em_variance(lam, sched, times):
    """Exact variance of the Euler-Maruyama chain along an eigendirection (independent scalar recursion)."""
    v = sched.alpha(times[0]) ** 2 * lam + sched.sigma(times[0]) ** 2
    for t0, t1 in zip(times[:-1], times[1:]):
        dt = t1 - t0
        a = 1 + (sched.drift(t0) + sched.diffusion_squared(t0) / (sched.alpha(t0) ** 2 * lam + sched.sigma(t0) ** 2)) * dt
        v = a**2 * v + sched.diffusion_squared(t0) * -dt
    return v


def test_reverse_sde_covariance_within_sampling_error_plus_discretisation_bias():
    lam = np.array([4.0, 1.0, 0.25])
    model = st.Gaussian(np.zeros(3), np.diag(lam))
    vp = st.VP()
    n = 20000
    times = np.linspace(1.0, 0.0, 301)
    x_T = np.sqrt(vp.alpha(1.0) ** 2 * lam + vp.sigma(1.0) ** 2) * np.random.default_rng(5).standard_normal((n, 3))
    out = S.reverse_sde(model.denoise, vp, x_T, times, rng=6).final
    var = out.var(axis=0, ddof=1)
    em = np.array([_em_variance(l, vp, times) for l in lam])       # what the discretised chain produces
    se = em * np.sqrt(2 / (n - 1))                                   # Wishart standard error
    assert np.all(np.abs(var - em) < 4.5 * se), (var, em, se)
    bias = np.abs(em - lam)
    assert np.all(bias < 0.05 * lam)                                 # the discretisation bias is small ...
    finer = np.array([_em_variance(l, vp, np.linspace(1.0, 0.0, 1201)) for l in lam])
    assert np.all(np.abs(finer - lam) < 0.5 * bias)                  # ... and shrinks with the step
    assert np.all(np.abs(var - lam) < 4.5 * se + bias)


def test_reverse_sde_reproducible_with_rng(gauss, start):
    vp = st.VE(0.01, SMAX)
    times = np.linspace(1.0, 0.0, 21)
    a = S.reverse_sde(gauss.denoise, vp, start[:8], times, rng=3).final
    b = S.reverse_sde(gauss.denoise, vp, start[:8], times, rng=np.random.default_rng(3)).final
    c = S.reverse_sde(gauss.denoise, vp, start[:8], times, rng=4).final
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_recording_and_trajectory_fields(gauss, start):
    tr = S.edm_sampler(gauss.denoise, start[:5], st.edm_sigmas(10), "heun", record=[0, 3, -1])
    assert tr.states.shape == (3, 5, gauss.dim) and list(tr.record) == [0, 3, 10]
    np.testing.assert_array_equal(tr.states[0], start[:5])
    np.testing.assert_array_equal(tr.states[-1], tr.final)
    assert tr.times[-1] == 0 and tr.steps == 10 and tr.evaluations == 19
    # a point (D,) is a batch of one
    assert S.edm_sampler(gauss.denoise, start[0], st.edm_sigmas(5)).final.shape == (1, gauss.dim)


def test_forward_noising_has_the_marginal_covariance(gauss):
    vp = st.VP()
    x0, xt = S.forward(gauss, vp, 0.3, 20000, rng=0)
    a, s = vp.alpha(0.3), vp.sigma(0.3)
    C = a**2 * gauss.covariance() + s**2 * np.eye(gauss.dim)
    tr_se = np.sqrt(2 * np.sum(C**2) / 20000)
    assert abs(np.trace(np.cov(xt.T)) - np.trace(C)) < 4.5 * tr_se
    np.testing.assert_array_equal(S.forward(gauss, vp, 0.3, 5, rng=1)[1], S.forward(gauss, vp, 0.3, 5, rng=1)[1])


def test_bad_input(gauss, start):
    with pytest.raises(SpectralTheoryError, match="method"):
        S.edm_sampler(gauss.denoise, start, st.edm_sigmas(5), "rk4")
    with pytest.raises(SpectralTheoryError, match="decreasing"):
        S.edm_sampler(gauss.denoise, start, [1.0, 2.0])
    with pytest.raises(SpectralTheoryError, match="record"):
        S.edm_sampler(gauss.denoise, start, st.edm_sigmas(5), record=[99])
    with pytest.raises(SpectralTheoryError, match="DiscreteVP"):
        S.ddim(gauss.denoise, st.VP(), start, 10)
    with pytest.raises(SpectralTheoryError, match="shape"):
        S.edm_sampler(lambda x, s, a: x[:, :2], start, st.edm_sigmas(5))
    with pytest.raises(SpectralTheoryError, match="must lie in"):
        S.probability_flow(gauss.denoise, st.VP(), start, [1.0, 0.0, -0.5])
    with pytest.raises(SpectralTheoryError, match="t"):
        S.reverse_sde(gauss.denoise, st.VP(), start, [2.0, 1.0], rng=0)


def _diverging(after_calls):
    """A denoiser (like a trained network gone wrong) that returns NaN from call ``after_calls`` on."""
    calls = []

    def denoise(x, sigma, alpha):
        calls.append(sigma)
        return np.full_like(x, np.nan) if len(calls) > after_calls else 0.5 * x
    return denoise


@pytest.mark.parametrize("run", [
    lambda d, x: S.edm_sampler(d, x, st.edm_sigmas(8), method="euler"),
    lambda d, x: S.probability_flow(d, st.VP(), x, np.linspace(1.0, 0.0, 9)),
    lambda d, x: S.reverse_sde(d, st.VP(), x, np.linspace(1.0, 0.0, 9), rng=0),
    lambda d, x: S.ddim(d, st.VP.ddpm_linear(), x, 8),
], ids=["edm", "probability_flow", "reverse_sde", "ddim"])
def test_a_denoiser_returning_nan_stops_the_sampler_at_that_step_naming_step_and_sigma(run, start):
    with pytest.raises(S.NonFiniteError, match=r"step 3 \(sigma = ") as info:
        run(_diverging(3), start)
    assert info.value.step == 3 and info.value.sigma > 0
    assert isinstance(info.value, SpectralTheoryError)


def test_a_state_that_overflows_is_reported_at_its_step(start):
    huge = lambda x, sigma, alpha: np.full_like(x, -1e308)      # finite output, (x - D)/sigma overflows
    with pytest.raises(S.NonFiniteError, match="state became NaN or inf in the step from grid index 0"), \
            np.errstate(over="ignore", invalid="ignore"):                    # numpy's warning precedes the error
        S.edm_sampler(huge, start, [1e-3], method="euler")


def test_complex_starts_grids_and_denoiser_outputs_are_errors_not_truncated(gauss, start):
    with pytest.raises(SpectralTheoryError, match="`x_T` must be real"):
        S.edm_sampler(gauss.denoise, start + 1j, st.edm_sigmas(5))
    with pytest.raises(SpectralTheoryError, match="`sigmas` must be real"):
        S.edm_sampler(gauss.denoise, start, st.edm_sigmas(5) + 0j)
    with pytest.raises(SpectralTheoryError, match="`times` must be real"):
        S.probability_flow(gauss.denoise, st.VP(), start, np.linspace(1.0, 0.0, 5) + 0j)
    with pytest.raises(SpectralTheoryError, match="complex values at step 0"):
        S.edm_sampler(lambda x, s, a: x + 1j, start, st.edm_sigmas(5))


def test_recorded_states_beyond_the_machines_memory_are_refused_before_allocating():
    """Every grid index of a 2^16-step grid for 2^10 points of 2^8 coordinates: 128 GiB of states."""
    from conftest import refuses_allocation
    x_T = np.zeros((2**10, 2**8))
    sigmas = st.edm_sigmas(2**16)
    refuses_allocation(lambda: S.edm_sampler(lambda x, s, a=1.0: x, x_T, sigmas, "euler", record=np.arange(2**16)),
                       "record", limit=2**23)
