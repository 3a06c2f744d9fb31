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


# ---- random-matrix laws ------------------------------------------------------------------------------
import mpmath as mp  # noqa: E402

from spectral_theory import rmt  # noqa: E402
from spectral_theory.rmt import reference  # noqa: E402


def _reference(law_args, z, dps=60):
    """mpmath value of a companion-type law at z (real z just above the axis: the sign of Im g picks
    the branch); law_args = (a, v, c)."""
    a, v, c = law_args
    zr = mp.mpc(z) if complex(z).imag != 0 else mp.mpc(complex(z).real, mp.mpf(10) ** (-dps + 5))
    return complex(reference.law_stieltjes(zr, a, v, c=c, dps=dps))


def test_marchenko_pastur_stieltjes_at_zero_is_exact():
    """stieltjes(0j) was -inf+nanj and stieltjes(1e-16) -2.78 flagged converged (true value -2)."""
    law = rmt.MarchenkoPastur(0.5)
    assert law.stieltjes(0j) == -2.0
    res = law.stieltjes_result(1e-16 + 0j)
    assert bool(res.converged) and abs(res.value + 2.0) < 1e-15
    with pytest.raises(SpectralTheoryError, match="atom"):
        rmt.MarchenkoPastur(2.0).stieltjes(0.0)          # c > 1: z = 0 is the atom (a pole)


MP_CASES = [(c, s) for c in (0.01, 0.5, 0.99, 2.0, 50.0) for s in (1e-3, 1.0, 7.0)]


@pytest.mark.parametrize("c, s", MP_CASES)
def test_marchenko_pastur_transform_against_mpmath(c, s):
    """Near 0, near both edges (relative distance 1e-10), inside the bulk just above the axis and at
    large |z|; the tolerance is the conditioning of g at z (the edges are rounded to 1 ulp, and g has
    a square-root singularity there: error ~ eps / sqrt(relative distance), times b/|z - s(1-c)| <= 10
    for these laws)."""
    law = rmt.MarchenkoPastur(c, s)
    a, b = law.lower_edge, law.upper_edge
    zs = [1e-16, -1e-16, 1e-12 + 1e-12j, 1e7 + 1j, 1e15, -1e12, 1e100, b * (1 + 1e-10), b + 1e-6j,
          0.5 * (a + b) + 1e-8j, 3j] + ([0.0, a * (1 - 1e-10)] if c < 1 else [])
    for z in zs:
        dist = min(abs(z - a), abs(z - b)) / b
        tol = 1e-14 + 10 * np.finfo(float).eps / np.sqrt(dist)
        ref = _reference(([c], [s], c), z, dps=60 if abs(z) < 1e20 else 250)
        assert abs(law.stieltjes(z) - ref) <= tol * abs(ref), (c, s, z)


@pytest.mark.parametrize("law, args", [
    (rmt.Silverstein([0.3, 0.2], [1.0, 3.0]), ([0.3, 0.2], [1.0, 3.0], 1)),
    (rmt.GeneralizedMarchenkoPastur([1.0, 4.0], [0.5, 0.5], 0.3), ([0.15, 0.15], [1.0, 4.0], 0.3)),
], ids=["Silverstein", "GeneralizedMarchenkoPastur"])
def test_companion_laws_against_mpmath_near_zero_edges_and_infinity(law, args):
    """GeneralizedMarchenkoPastur lost every digit near z = 0 ((g_c - (1-c)/z)/c cancels the
    companion's atom) and returned NaN at z = 0; now g(0) = -E[1/X] exactly."""
    edges = [e for bulk in law.support() for e in bulk]
    zs = [1e-16 + 1e-16j, 1e-3 + 1e-3j, 1e8 + 1.0, 1e150 + 0j, 2.5 + 0.1j]
    zs += [e + 1e-6j for e in edges if e > 0]
    if not law.atoms:
        zs += [0.0, 1e-16, -1e-16, 1e-8]
    for z in zs:
        ref = _reference(args, z, dps=80 if abs(z) < 1e10 else 400)
        assert abs(law.stieltjes(z) - ref) <= 1e-11 * abs(ref), z


def test_complex_bool_and_str_inputs_are_errors():
    """Complex input was cut to its real part with only a ComplexWarning; True counted as 1.0."""
    model = st.LinearManifold(20, [(4, 2.0)], rng=0)
    x = np.full((1, 20), 1j)
    for method in (model.denoise, model.score, model.score_jacobian):
        with pytest.raises(SpectralTheoryError, match="`x` must be real; got complex"):
            method(x, 0.5)
    with pytest.raises(SpectralTheoryError, match="`v` must be real"):
        model.score_jvp(np.ones(20), np.full(20, 1j), 0.5)
    with pytest.raises(SpectralTheoryError, match="`sigma` must be real"):
        model.denoise(np.ones(20), 0.5 + 0j)
    with pytest.raises(SpectralTheoryError, match="`x` must be real"):
        rmt.MarchenkoPastur(0.5).pdf(1 + 5j)
    with pytest.raises(SpectralTheoryError, match="`fractions`"):
        rmt.Silverstein([0.3 + 1j], [1.0])
    with pytest.raises(SpectralTheoryError, match="`beta_min` must be real"):
        st.VP(beta_min=np.complex128(0.1 + 5j))
    with pytest.raises(SpectralTheoryError, match="`beta_min` must be real; got bool"):
        st.VP(beta_min=True)
    with pytest.raises(SpectralTheoryError, match="`cov`"):
        st.Gaussian(np.zeros(2), np.eye(2) * (1 + 1j))
    with pytest.raises(SpectralTheoryError, match="`points`"):
        st.Empirical(np.array([["1", "2"], ["3", "4"]]))
    with pytest.raises(SpectralTheoryError, match="`rng`"):
        st.Gaussian(np.zeros(2), np.eye(2)).sample(3, rng=True)
    with pytest.raises(SpectralTheoryError, match="`n` must be an integer"):
        st.edm_sigmas(1e300)
    # the Stieltjes transform keeps its complex argument, and rejects the rest
    assert np.isfinite(rmt.MarchenkoPastur(0.5).stieltjes(1 + 5j))
    with pytest.raises(SpectralTheoryError, match="`z`"):
        rmt.MarchenkoPastur(0.5).stieltjes("1+5j")


def test_silverstein_support_with_tiny_blocks_or_huge_variances():
    """(inf, inf) / (0.234, inf) / (0.2, inf) edges: now exact edges or an error naming the parameter."""
    for tiny in (1e-50, 1e-100):
        with pytest.raises(SpectralTheoryError, match="`fractions` value"):
            rmt.Silverstein([0.1, tiny], [0.5, 4.0])
    law = rmt.Silverstein([0.1, 0.1], [0.5, 1e200])
    edges = [e for bulk in law.support() for e in bulk]
    exact = [float(e) for e in reference.edges([0.1, 0.1], [0.5, 1e200], dps=450)]
    np.testing.assert_allclose(edges, exact, rtol=1e-12)


@pytest.mark.parametrize("fractions, variances", [([0.5, 0.499999], [1e-3, 1e3]), ([0.5, 0.499999], [1.0, 2.0]),
                                                  ([0.3, 0.3], [1.0, 2e12]), ([0.5, 0.4], [1.0, 2e12])])
def test_silverstein_solver_converges_near_small_edges_and_large_ratios(fractions, variances):
    """ConvergenceError (residual 7.6e147) near a soft edge at 5e-16 and inside a bulk under a
    variance ratio of 2e12: the continuation jumped onto the axis at Im z = 1e-13 eta_top."""
    law = rmt.Silverstein(fractions, variances)
    for lo, hi in law.support():
        x = np.concatenate([np.linspace(lo, hi, 400), lo + (hi - lo) * np.logspace(-16, -1, 200),
                            hi - (hi - lo) * np.logspace(-16, -1, 200)])
        res = law.stieltjes_result(x + 1e-300j)
        assert np.all(res.converged), x[~res.converged][:5]
    if variances == [1e-3, 1e3]:
        assert law.cdf(1.0) == pytest.approx(0.5 + 1e-6, rel=1e-9)   # atom 1e-6 plus the first bulk


def test_moments_fast_exact_and_bounded():
    """moment(1000) ran > 30 s and overflowed from k ~ 360: O(K k^2) series, scaled; beyond float64 an
    error naming k and the largest representable order."""
    import time
    law = rmt.Silverstein([0.3, 0.2], [1.0, 3.0])
    start = time.perf_counter()
    m300 = law.moment(300)
    assert time.perf_counter() - start < 5.0
    assert m300 == pytest.approx(law.moment(300, method="quadrature"), rel=1e-10)
    with pytest.raises(SpectralTheoryError, match=r"`k` = 1000: the moment of order 380 .* up to 379"):
        law.moment(1000)
    with pytest.raises(SpectralTheoryError, match="`k` must be <= 10000"):
        law.moment(10**6)
    from math import comb
    mp_law = rmt.MarchenkoPastur(0.5, 2.0)
    for k in (1, 5, 30):
        narayana = 2.0**k * sum(0.5**r / (r + 1) * comb(k, r) * comb(k - 1, r) for r in range(k))
        assert mp_law.moment(k) == pytest.approx(narayana, rel=1e-14)
    assert 0 < rmt.MarchenkoPastur(0.5, 0.1).moment(5000) < 1e-300 or rmt.MarchenkoPastur(0.5, 0.1).moment(5000) == 0
    with pytest.raises(SpectralTheoryError, match="`k` = 1000"):
        rmt.AtomicLaw([3.0], [1.0]).moment(1000)
