"""spectral_theory.spiked: BBP formulas, diffusion form, fluctuation scales.

Independent routes: algebraic identities between the closed forms, the VP schedule object for the
emergence condition, and Monte Carlo of the spiked model (tolerance z * standard error + the module's
own stated finite-size bound, never tuned).
"""
import warnings

import numpy as np
from threadpoolctl import threadpool_limits
import pytest
from scipy.stats import norm

import spectral_theory as st
from spectral_theory import spiked as sp

Z = norm.isf(0.001 / 2)          # two-sided 0.1 % per check




# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("call, word", [
    (lambda: sp.threshold(0.0), "aspect"),
    (lambda: sp.overlap(2.0, -1.0), "aspect"),
    (lambda: sp.overlap(-0.5, 1.0), "spike"),
    (lambda: sp.right_overlap(1.0, 0.0), "aspect"),
    (lambda: sp.predict([1.0, -2.0], 1.0, 0.5), "spikes"),
    (lambda: sp.predict([1.0], 0.0, 0.5), "tau"),
    (lambda: sp.predict([1.0], -1.0, 0.5), "tau"),
    (lambda: sp.predict([1.0, 2.0, 3.0], 1.0, 0.5, dim=2), "rank"),
    (lambda: sp.effective_spike(1.0, 0.0), "tau"),
    (lambda: sp.emergence_tau(-1.0, 0.5), "spikes"),
    (lambda: sp.emergence_time(1e9, 0.5, st.VP(0.1, 20.0)), "outside the range"),
    (lambda: sp.emergence_time(1e-12, 0.5, st.VE(0.01, 10.0)), "outside the range"),
    (lambda: sp.spike_from_eigenvalue(1.0, 0.5), "edge"),
    (lambda: sp.overlap_curves([1.0], tau=[0.0, 1.0], aspect=0.5), "tau"),
])
def test_bad_input_names_the_parameter(call, word):
    with pytest.raises(st.SpectralTheoryError, match=word):
        call()


def test_exactly_at_threshold_everything_is_zero_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for gamma in (0.25, 1.0, 4.0):
            ell = np.sqrt(gamma)
            assert sp.overlap(ell, gamma) == 0.0
            assert sp.right_overlap(ell, gamma) == 0.0
            assert sp.outlier_variance(ell, gamma) == 0.0
            assert sp.top_eigenvalue(ell, gamma) == pytest.approx((1 + np.sqrt(gamma)) ** 2)
            assert sp.overlap(0.0, gamma) == 0.0 and sp.right_overlap(0.0, gamma) == 0.0


# -- closed-form identities -----------------------------------------------------------------
@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0, 2.0, 7.0])
def test_identities(gamma):
    ell = np.sqrt(gamma) * np.linspace(1.001, 30, 200)
    ov = sp.overlap(ell, gamma)
    np.testing.assert_allclose(ov, 1 - gamma * (ell + 1) / (ell * (ell + gamma)), rtol=1e-12, atol=1e-14)
    # BGN 2012 right-singular-vector form 1 - (c + theta^2)/(theta^2 (theta^2 + 1)), theta^2 = ell
    np.testing.assert_allclose(sp.right_overlap(ell, gamma), 1 - (gamma + ell) / (ell * (ell + 1)),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sp.spike_from_eigenvalue(sp.top_eigenvalue(ell, gamma), gamma), ell, rtol=1e-10)
    assert np.all(np.diff(ov) > 0) and np.all((ov > 0) & (ov < 1))
    # continuity at the threshold of the eigenvalue (from above)
    assert sp.top_eigenvalue(np.sqrt(gamma) * (1 + 1e-9), gamma) == pytest.approx((1 + np.sqrt(gamma)) ** 2)


def test_small_noise_expansion_of_the_overlap():
    lam, gamma = 3.0, 0.7
    s = np.array([1e-3, 1e-4, 1e-5])
    err = 1 - sp.overlap(lam / s, gamma) - gamma * s / lam
    assert np.all(np.abs(err) < 2 * (gamma * s / lam) ** 2 * (1 + 1 / gamma))   # O(s^2) remainder


def test_emergence_under_schedules_agrees_with_abar_form():
    vp = st.VP(0.1, 20.0)
    lam = np.array([0.5, 2.0, 8.0])
    gamma = 0.3
    t = sp.emergence_time(lam, gamma, vp)
    abar = vp.alpha(t) ** 2                                      # independent route: the schedule object
    np.testing.assert_allclose(abar, sp.emergence_abar(lam, gamma), rtol=1e-9)
    assert np.all(np.diff(t) > 0)                                # larger eigenvalue: emerges earlier (larger t)
    ve = st.VE(0.01, 50.0)
    np.testing.assert_allclose(ve.tau(sp.emergence_time(lam, gamma, ve)), lam / np.sqrt(gamma), rtol=1e-9)
    # at the emergence noise level the overlap is exactly 0 and positive just below it
    tau = sp.emergence_tau(lam, gamma)
    assert np.all(sp.overlap(lam / tau, gamma) == 0)
    assert np.all(sp.overlap(lam / (tau * 0.99), gamma) > 0)


def test_predict_and_curves_rank_k():
    lam = np.array([4.0, 1.0, 0.2])
    p = sp.predict(lam, 0.5, 2.0, dim=10)
    np.testing.assert_array_equal(p.detectable, lam / 0.5 > np.sqrt(2.0))
    np.testing.assert_allclose(p.eigenvalues, 0.5 * sp.top_eigenvalue(lam / 0.5, 2.0))
    np.testing.assert_allclose(p.overlaps, sp.overlap(lam / 0.5, 2.0))
    taus = np.geomspace(0.01, 100, 50)
    curves = sp.overlap_curves(lam, tau=taus, aspect=2.0)
    assert curves.shape == (50, 3)
    np.testing.assert_allclose(curves[7], sp.predict(lam, taus[7], 2.0).overlaps)
    np.testing.assert_array_equal(sp.emergence_order([1.0, 5.0, 3.0], 0.5), [1, 2, 0])
    # at each noise level the larger eigenvalue has the larger overlap
    assert np.all(np.diff(curves, axis=1) <= 0)


def test_fluctuation_scales():
    gamma, N = 0.5, 1000
    # the edge scale against an independent route: K of the Marchenko-Pastur density next to its edge
    # (rho ~ (K/pi) sqrt(edge - x), scale (K D)^(-2/3) with D = gamma N; SpectralDensity.edge_scale)
    mp = st.rmt.MarchenkoPastur(gamma)
    assert sp.edge_scale(gamma, N) == pytest.approx(mp.edge_scale(mp.support()[0][1], gamma * N), rel=1e-8)
    w = sp.critical_window(gamma, N)
    ell = np.sqrt(gamma) + w
    # by construction the outlier sits one edge scale above the edge at one window above threshold
    assert sp.top_eigenvalue(ell, gamma) - (1 + gamma**0.5) ** 2 == pytest.approx(sp.edge_scale(gamma, N) * np.sqrt(gamma) / ell)
    assert sp.finite_size_bound(sp.overlap, 5.0, gamma, N) < sp.finite_size_bound(sp.overlap, 1.0, gamma, N)


# -- Monte Carlo -----------------------------------------------------------------------------
def _rank1_mc(D, N, lam, s, reps, rng):
    """Top eigenpair of X^T X/N and top left vector of X, X = sqrt(lam) z u^T + sqrt(s) G, u = e_1."""
    mus, ovs, rovs = np.empty(reps), np.empty(reps), np.empty(reps)
    for r in range(reps):
        z = rng.standard_normal(N)
        X = np.sqrt(s) * rng.standard_normal((N, D))
        X[:, 0] += np.sqrt(lam) * z
        U, S, Vt = np.linalg.svd(X, full_matrices=False)
        mus[r], ovs[r], rovs[r] = S[0] ** 2 / (N * s), Vt[0, 0] ** 2, (U[:, 0] @ z) ** 2 / (z @ z)
    return mus, ovs, rovs


@pytest.mark.parametrize("D, N, ell", [(120, 240, 3.0), (240, 120, 3.0), (120, 240, 1.2)])
def test_rank1_monte_carlo(D, N, ell):
    rng = np.random.default_rng(7)
    gamma, reps = D / N, 150
    with threadpool_limits(1):
        mus, ovs, rovs = _rank1_mc(D, N, ell * 0.7, 0.7, reps, rng)
    for sample, fn in ((mus, sp.top_eigenvalue), (ovs, sp.overlap), (rovs, sp.right_overlap)):
        se = sample.std(ddof=1) / np.sqrt(reps)
        tol = Z * se + sp.finite_size_bound(fn, ell, gamma, N)
        assert abs(sample.mean() - fn(ell, gamma)) <= tol, (fn.__name__, sample.mean(), fn(ell, gamma), tol)


def test_outlier_variance_monte_carlo():
    """Paul (2007) / Bai-Yao (2008) variance of the outlier, far above the threshold, gamma < 1 and > 1."""
    rng = np.random.default_rng(11)
    reps = 300
    for D, N in ((100, 300), (300, 150)):
        gamma, ell = D / N, 6.0
        with threadpool_limits(1):
            mus, _, _ = _rank1_mc(D, N, ell, 1.0, reps, rng)
        var = mus.var(ddof=1) * N
        pred = sp.outlier_variance(ell, gamma)
        # sampling sd of a variance estimate is var * sqrt(2/(R-1)) (Gaussian fluctuations)
        tol = Z * pred * np.sqrt(2 / (reps - 1))
        assert abs(var - pred) <= tol, (var, pred, tol)


def test_subcritical_and_interaction_scales():
    gamma, N = 0.5, 400
    # ell = 0 gives the delocalised value 1/D exactly; 0 above threshold; capped at 1
    assert sp.subcritical_overlap_scale(0.0, gamma, N) == pytest.approx(1 / (gamma * N))
    assert sp.subcritical_overlap_scale(1.0, gamma, N) == 0.0
    assert sp.subcritical_overlap_scale(np.sqrt(gamma) - 1e-9, gamma, N) == 1.0
    # Anderson leakage: symmetric pair terms, only between detected spikes, degenerate pair capped at 1
    leak = sp.interaction_overlap_scale([10.0, 5.0, 0.1], gamma, N)
    assert leak[2] == 0.0 and leak[0] == pytest.approx(leak[1]) == pytest.approx(11 * 6 / (N * 25))
    assert np.all(sp.interaction_overlap_scale([3.0, 3.0], gamma, N) == 1.0)


def test_undetected_spike_overlap_is_of_the_stated_order():
    """Monte Carlo: below threshold the top-eigenvector overlap is ~ 1/(N (sqrt(gamma) - ell)^2)."""
    rng = np.random.default_rng(5)
    D, N, reps = 100, 200, 150
    with threadpool_limits(1):
        for ell in (0.0, 0.35):
            _, ovs, _ = _rank1_mc(D, N, ell, 1.0, reps, rng)
            scale = sp.subcritical_overlap_scale(ell, D / N, N)
            assert ovs.mean() <= scale + Z * ovs.std(ddof=1) / np.sqrt(reps)
            assert ovs.mean() >= scale / 10                      # the right order of magnitude


def test_spiked_experiments_are_registered_and_agree_in_quick_mode():
    from validation.experiment import registry
    from validation.suite import run_experiment
    names = ["spiked_overlaps", "spiked_mean_projection", "spiked_power_iteration", "spiked_emergence_order",
             "spiked_jacobian_alignment"]
    assert set(names) <= set(registry())
    for name in names:
        rec = run_experiment(name, "quick", 0)
        assert rec["error"] is None, rec["error"]
        assert rec["verdict"] == "agree", [c for c in rec["checks"] if c["verdict"] != "agree"]
        assert rec["figures"]


def test_a_spike_strength_beyond_float64_is_an_error_naming_spikes_and_tau():
    """lambda = 9e307 at tau = 0.5, or tau = 2e-311: ell = lambda/tau overflows (the slow fuzz found
    overlap_curves naming the internal `spike`, seed 33, and effective_spike returning inf, seed 37); so does
    emergence_tau's lambda/sqrt(gamma)."""
    for call in (lambda: sp.overlap_curves([8.98846567431158e307], tau=[0.5, 1.0], aspect=0.5),
                 lambda: sp.predict([8.98846567431158e307], 0.5, 0.5),
                 lambda: sp.effective_spike([4.0, 2.0], 2.225073858507e-311)):           # seed 37
        with pytest.raises(st.SpectralTheoryError, match=r"overflows float64 at `spikes`=.*`tau`="):
            call()
    assert sp.overlap_curves([8.98846567431158e307], tau=[1.0], aspect=0.5)[0, 0] == pytest.approx(1.0)
    with pytest.raises(st.SpectralTheoryError, match=r"overflows float64 at `spikes`=.*`aspect`="):
        sp.emergence_tau(1e308, 1e-300)
    with pytest.raises(st.SpectralTheoryError, match=r"overflows float64 at `tau`="):   # seed 118: s mu = inf
        sp.predict([4.0, 2.0], 6.168707599447252e307, 0.5)
