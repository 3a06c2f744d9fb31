"""spectral_theory.gaps: closed-form gap profiles, peaks and windows, the gaps of a model's tau*J and
the dimension read off a spectrum; each checked against an independent route (root finding, dense
maxima, the pushforward law's own gaps, simulated Jacobians).

Monte Carlo tolerances come from the simulation's own scale (standard errors over replicates plus the
Tracy-Widom N^-2/3 scale at a spectral edge), never from tuning.
"""
from __future__ import annotations

import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import SpectralTheoryError

MODEL = st.LinearManifold(300, [(30, 1.0), (30, 8.0), (30, 60.0)], rng=3)


def test_gap_peak_is_the_maximum_of_the_profile():
    a, b = 0.3, 7.0
    taus = np.geomspace(1e-3, 1e3, 20001)
    prof = st.gap_profile(a, b, taus)
    tmax, gmax = st.gap_peak(a, b)
    assert taus[np.argmax(prof)] == pytest.approx(tmax, rel=2e-3)
    assert prof.max() == pytest.approx(gmax, rel=1e-6)
    assert st.gap_profile(a, b, tmax) == pytest.approx(gmax, rel=1e-14)


def test_gap_window_ends_are_where_the_gap_crosses_the_threshold():
    a, b = np.array([0.3, 1.0]), np.array([7.0, 1.5])
    _, gmax = st.gap_peak(a, b)
    delta = 0.5 * gmax
    lo, hi = st.gap_window(a, b, delta)
    np.testing.assert_allclose(st.gap_profile(a, b, lo), delta, rtol=1e-12)
    np.testing.assert_allclose(st.gap_profile(a, b, hi), delta, rtol=1e-12)
    np.testing.assert_allclose(lo * hi, a * b, rtol=1e-12)
    # at the peak the window is one point; just below it, no cancellation blow-up
    lo1, hi1 = st.gap_window(1.0, 4.0, 1 / 3)
    assert lo1 == pytest.approx(2.0, rel=1e-7) and hi1 == pytest.approx(2.0, rel=1e-7)


def test_gap_inputs_are_validated():
    with pytest.raises(SpectralTheoryError, match="must exceed"):
        st.gap_profile(2.0, 1.0, 1.0)
    with pytest.raises(SpectralTheoryError, match="tau"):
        st.gap_profile(1.0, 2.0, -1.0)
    with pytest.raises(SpectralTheoryError, match="window is empty"):
        st.gap_window(1.0, 4.0, 0.4)                # peak gap is 1/3
    with pytest.raises(SpectralTheoryError, match="threshold"):
        st.gap_window(1.0, 4.0, 1.5)


def _two_block_spectra(D, alphas, variances, rng):
    """Eigenvalues of C = F diag(v) F^T, F with iid N(0, 1/D) entries (blocks of m_k = alpha_k D columns)."""
    v = np.concatenate([np.full(int(a * D), var) for a, var in zip(alphas, variances)])
    F = rng.standard_normal((D, v.size)) / np.sqrt(D)
    return np.linalg.eigvalsh((F * v) @ F.T), F, v


def test_gap_profile_peak_and_window_against_simulated_jacobians():
    """Simulated C = F diag(v) F^T (two blocks, D = 300): the gap of tau*J measured from explicit inverses
    -tau (C + tau I)^{-1} (an independent route: no eigenvalue map is used) equals gap_profile at the
    sample's own edges, its maximum over tau (bounded scalar search) is gap_peak, and it crosses a
    threshold at gap_window's ends.  Only rounding separates the routes, so the tolerances are
    rounding-level (eigvalsh of a well-conditioned 300 x 300 matrix)."""
    from scipy.optimize import minimize_scalar
    D, alphas, variances = 300, (0.25, 0.25), (1.0, 20.0)
    rng = np.random.default_rng(11)
    n1 = int(alphas[0] * D)
    lam, F, v = _two_block_spectra(D, alphas, variances, rng)
    C = (F * v) @ F.T
    nz = lam[D - v.size:]
    a, b = nz[n1 - 1], nz[n1]

    def measured_gap(tau):
        tJ = np.linalg.eigvalsh(-tau * np.linalg.inv(C + tau * np.eye(D)))[D - v.size:]
        return tJ[n1] - tJ[n1 - 1]

    for tau in (0.1, float(np.sqrt(a * b)), 50.0):
        assert measured_gap(tau) == pytest.approx(st.gap_profile(a, b, tau), rel=1e-9)
    tmax, gmax = st.gap_peak(a, b)
    best = minimize_scalar(lambda t: -measured_gap(np.exp(t)), bounds=(np.log(a), np.log(b)),
                           method="bounded", options={"xatol": 1e-8})
    assert np.exp(best.x) == pytest.approx(tmax, rel=1e-3)     # flat maximum: tau known to sqrt(xatol)
    assert -best.fun == pytest.approx(gmax, rel=1e-9)
    lo, hi = st.gap_window(a, b, 0.5 * gmax)
    assert measured_gap(lo) == pytest.approx(0.5 * gmax, rel=1e-9)
    assert measured_gap(hi) == pytest.approx(0.5 * gmax, rel=1e-9)


def test_gaps_are_the_mapped_gaps_of_the_law():
    for tau in (0.05, 2.0, 40.0):
        law = st.jacobian_spectrum(MODEL, tau)
        gaps = st.spectral_gaps(MODEL, tau)
        assert [g.kind for g in gaps] == ["manifold", "intermediate", "intermediate"]
        for g, h in zip(gaps, law.gaps()):
            assert g.lo == pytest.approx(h.lo, abs=1e-14) and g.hi == pytest.approx(h.hi, abs=1e-14)
            assert g.n_below == pytest.approx(h.mass_below * 300, abs=1e-9)
        assert gaps[0].width == pytest.approx(st.manifold_gap_profile(gaps[0].b, tau), rel=1e-13)
        for g in gaps[1:]:
            assert g.width == pytest.approx(st.gap_profile(g.a, g.b, tau), rel=1e-12)
        assert [round(g.n_below) for g in gaps] == [210, 240, 270]


def test_profiles_peaks_and_windows():
    taus = np.geomspace(1e-3, 1e3, 4001)
    prof = st.gap_profiles(MODEL, taus)
    for i, g in enumerate(prof.gaps):
        if g.kind == "intermediate":
            tmax, gmax = g.peak()
            j = np.argmax(prof.widths[i])
            assert taus[j] == pytest.approx(tmax, rel=5e-3)
            assert prof.widths[i, j] == pytest.approx(gmax, rel=1e-5)
        lo, hi = g.window(0.1)
        for t in (lo, hi):
            if t > 0:                                 # the gap is exactly the threshold at the ends
                w = st.spectral_gaps(MODEL, t)[i].width
                assert w == pytest.approx(0.1, rel=1e-10)
    assert st.spectral_gaps(MODEL, 1.0)[1].window(0.99) is None


def test_dimension_from_largest_drop_of_sampled_jacobian():
    D = 300
    x = np.zeros(D)
    for tau in (0.02, 40.0):
        J = MODEL.score_jacobian(x, np.sqrt(tau)) * tau
        est = st.estimate_dimension(np.linalg.svd(J, compute_uv=False))
        pred = st.predicted_drop(MODEL, tau)
        assert est.n_above == round(pred.n_below)
        assert est.drop == pytest.approx(pred.width, abs=0.05)          # edges within TW scales
    # small tau: the manifold gap is widest and reveals m = 90; large tau: the top block (30)
    assert st.predicted_drop(MODEL, 0.02).kind == "manifold"
    assert round(st.predicted_drop(MODEL, 0.02).n_below) == D - 90
    assert round(st.predicted_drop(MODEL, 40.0).n_below) == D - 30


def test_bad_input():
    with pytest.raises(SpectralTheoryError, match="manifold gap"):
        st.manifold_gap(st.Gaussian(np.zeros(3), np.eye(3)), 1.0)
    with pytest.raises(SpectralTheoryError, match="singular_values"):
        st.estimate_dimension([1.0])


def test_gap_window_near_the_float64_maximum():
    """b = 2e307, threshold 0.1 (the slow fuzz, seed 63): tau_hi = 9 b is just below the float64 maximum,
    and the old intermediates (b - a) + root overflowed to (0, inf); computed in units of b it is finite
    and the roots scale with (a, b).  At b = 1.7e308, tau_hi is beyond float64: an error naming `b`."""
    b = 1.9974368165136845e307
    lo, hi = st.gap_window(1.0, b, 0.1)
    # G(a, b, tau) = G(a/b, 1, tau/b): the gap at both ends is the threshold
    assert np.isfinite(hi) and st.gap_profile(1.0 / b, 1.0, hi / b) == pytest.approx(0.1, rel=1e-12)
    assert st.gap_profile(1.0 / b, 1.0, lo / b) == pytest.approx(0.1, rel=1e-12)
    with pytest.raises(SpectralTheoryError, match="overflows float64 at `b`="):
        st.gap_window(1.0, 1.7e308, 0.1)
    lo, hi = st.gap_window(1e306, 1e307, 0.1)
    lo1, hi1 = st.gap_window(0.1, 1.0, 0.1)
    assert lo == pytest.approx(1e307 * lo1, rel=1e-14) and hi == pytest.approx(1e307 * hi1, rel=1e-14)


def test_gap_profile_at_a_huge_noise_variance_is_not_flushed_to_zero():
    """G = tau (b - a)/((tau + a)(tau + b)) ~ (b - a)/tau: at tau = 1e300 the product of the denominators
    overflowed and G came out 0 instead of 3e-300."""
    assert st.gap_profile(1.0, 4.0, 1e300) == pytest.approx(3e-300, rel=1e-12)
