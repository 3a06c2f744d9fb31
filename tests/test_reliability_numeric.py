"""Regression tests of issue 14 (numeric side): each test is named after the bug it pins down."""
import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import SpectralTheoryError, schedules, spiked


# ---- schedules -------------------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", [st.VP(), st.OU(), st.VP.ddpm_linear(), st.VE(), st.EDM()],
                         ids=["VP", "OU", "DDPM", "VE", "EDM"])
def test_schedule_derivatives_at_t0_are_the_one_sided_limit(schedule):
    """d_tau and g^2 were NaN at t = 0 (0 * inf in 2 sigma sigma'); now d(sigma^2)/dt is the primitive.
    Against a one-sided finite difference of tau and of sigma^2 at t_min (second order)."""
    t0, h = schedule.t_min, 1e-6 * (schedule.t_max - schedule.t_min)
    for value, derivative in [(schedule.tau, schedule.d_tau)]:
        fd = (-3 * value(t0) + 4 * value(t0 + h) - value(t0 + 2 * h)) / (2 * h)
        assert np.isfinite(derivative(t0))
        np.testing.assert_allclose(derivative(t0), fd, rtol=1e-6)
    s2 = lambda t: schedule.sigma(t) ** 2                                      # noqa: E731
    d_s2 = (-3 * s2(t0) + 4 * s2(t0 + h) - s2(t0 + 2 * h)) / (2 * h)
    g2 = d_s2 - 2 * schedule.drift(t0) * s2(t0)
    np.testing.assert_allclose(schedule.diffusion_squared(t0), g2, rtol=1e-6, atol=1e-12)


def test_vp_diffusion_squared_is_beta():
    """g^2 = beta(t) for VP, exactly (the identity the cancellation-free form rests on)."""
    t = np.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(st.VP().diffusion_squared(t), st.VP().beta(t), rtol=1e-12)
    np.testing.assert_allclose(st.OU().diffusion_squared(np.linspace(0, 5, 7)), 2.0, rtol=1e-12)


def test_edm_sigmas_extreme_rho_and_size_limit():
    """rho = 1e-300 raised OverflowError; 10**9 steps tried to allocate 8 GB."""
    ref = lambda n, lo, hi, r: (hi ** (1 / r) + np.arange(n) / (n - 1) * (lo ** (1 / r) - hi ** (1 / r))) ** r  # noqa
    np.testing.assert_allclose(st.edm_sigmas(12), ref(12, 0.002, 80.0, 7.0), rtol=1e-13)
    s = st.edm_sigmas(10, rho=1e-300)
    assert np.all(np.isfinite(s)) and s[0] == 80.0 and s[-1] == 0.002
    # rho -> infinity: the geometric grid
    np.testing.assert_allclose(st.edm_sigmas(5, rho=1e300), np.geomspace(80.0, 0.002, 5), rtol=1e-12)
    with pytest.raises(SpectralTheoryError, match=r"`n` must be <= 10000000"):
        st.edm_sigmas(10**9)


def test_schedule_names_resolve_case_insensitively():
    """emergence_time(4.0, 0.5, "vp") raised AttributeError: one resolver, as_schedule."""
    t = spiked.emergence_time(4.0, 0.5, "VP")
    assert t == spiked.emergence_time(4.0, 0.5, st.VP())
    assert schedules.as_schedule("ddpm").steps == 1000
    phases = st.phases(st.LinearManifold(10, [(3, 2.0)], rng=0))
    assert phases.in_time("ou").t_trivial == phases.in_time(st.OU()).t_trivial
    assert st.collapse_time("Ou", 100, 10.0) == st.collapse_time(st.OU(), 100, 10.0)
    with pytest.raises(SpectralTheoryError, match=r"`schedule` must be a Schedule or one of"):
        spiked.emergence_time(4.0, 0.5, "vpp")


def test_time_of_sigma_ve_names_sigma_ve():
    with pytest.raises(SpectralTheoryError, match=r"`sigma_ve` of VE must lie in"):
        st.VE().time_of_sigma_ve(1e300)


# ---- spiked ------------------------------------------------------------------------------------------
def test_overlap_of_huge_spike_is_one():
    """overlap(1e200, 0.5) was NaN (inf/inf)."""
    assert spiked.overlap(1e200, 0.5) == 1.0
    assert spiked.right_overlap(1e200, 0.5) == 1.0
    np.testing.assert_allclose(spiked.overlap(3.0, 0.5), (9 - 0.5) / (3 * 3.5), rtol=1e-15)
    np.testing.assert_allclose(spiked.right_overlap(3.0, 0.5), (9 - 0.5) / (3 * 4.0), rtol=1e-15)


def test_predict_at_tiny_tau():
    """predict([4, 2], tau=1e-300, aspect=0.5).overlaps was [nan, nan]; eigenvalues -> the spikes."""
    p = spiked.predict([4.0, 2.0], tau=1e-300, aspect=0.5)
    np.testing.assert_array_equal(p.overlaps, 1.0)
    np.testing.assert_allclose(p.eigenvalues, [4.0, 2.0], rtol=1e-15)
    q = spiked.predict([4.0, 0.1], tau=0.5, aspect=0.5)        # unchanged at ordinary values
    np.testing.assert_allclose(q.eigenvalues, 0.5 * np.array([spiked.top_eigenvalue(8.0, 0.5),
                                                              spiked.top_eigenvalue(0.2, 0.5)]), rtol=1e-14)


def test_spiked_overflow_is_an_error_or_exact():
    assert np.isfinite(spiked.spike_from_eigenvalue(1e300, 0.5))
    np.testing.assert_allclose(spiked.spike_from_eigenvalue(spiked.top_eigenvalue(5.0, 0.3), 0.3), 5.0, rtol=1e-13)
    with pytest.raises(SpectralTheoryError, match="`spike`"):
        spiked.outlier_variance(1e200, 0.5)


# ---- models ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [1e-170, 1e160])
def test_models_at_extreme_sigma_raise_a_range_error(sigma):
    """ZeroDivisionError / OverflowError at sigma 1e-170 / 1e160 (31 cases): now the range is stated."""
    model = st.Gaussian(np.zeros(3), np.eye(3))
    for method in (model.denoise, model.score, model.score_jacobian, model.log_density):
        with pytest.raises(SpectralTheoryError, match="`sigma` must be"):
            method(np.ones(3), sigma)
    assert np.all(np.isfinite(model.score_jacobian(np.ones(3), 1e-40)))   # inside the range: finite


def test_molrg_without_components_is_an_error():
    with pytest.raises(SpectralTheoryError, match="`subspace_dims` must not be empty"):
        st.MoLRG(12, [])
    with pytest.raises(SpectralTheoryError, match="`bases`"):
        st.MoLRG.from_bases(3.0)


def test_estimate_dimension_rejects_negative_values():
    with pytest.raises(SpectralTheoryError, match="`singular_values` must be >= 0"):
        st.estimate_dimension([-1.0, 2.0])


def test_manifold_gap_window_takes_arrays_like_gap_window():
    lo, hi = st.manifold_gap_window(b=[2.0, 4.0], threshold=0.2)
    np.testing.assert_allclose(hi, [8.0, 16.0])
    assert st.gap_window(1.0, 1e300, 0.1)[1] < np.inf


def test_collapse_tau_huge_integral_float():
    """collapse_tau(n_points=1e300, dim=10) raised TypeError (log of a Python int)."""
    assert np.isfinite(st.collapse_tau(10**30, 10.0))
