"""spectral_theory.gaps and spectral_theory.spiked: input checks, identities, and Monte Carlo.

Monte Carlo tolerances come from the simulation's own scale: the standard error over independent
replicates plus the known finite-size scale of the quantity (O(N^-1) bias above the BBP threshold,
the Tracy-Widom N^-2/3 scale at a spectral edge), never from tuning.
"""
from __future__ import annotations

import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import SpectralTheoryError, spiked


# -- gaps --------------------------------------------------------------------------------------
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


# -- spiked ------------------------------------------------------------------------------------
def test_spiked_closed_forms_and_edge_cases():
    g = 0.5
    assert spiked.threshold(g) == pytest.approx(np.sqrt(g))
    assert spiked.overlap(np.sqrt(g), g) == 0.0                         # exactly 0 at threshold
    assert spiked.overlap(0.0, g) == 0.0 and spiked.top_eigenvalue(0.0, g) == (1 + np.sqrt(g)) ** 2
    assert spiked.top_eigenvalue(np.sqrt(g), g) == pytest.approx((1 + np.sqrt(g)) ** 2, rel=1e-15)
    ells = np.linspace(0.8, 10, 50)
    np.testing.assert_allclose(spiked.spike_from_eigenvalue(spiked.top_eigenvalue(ells, g), g), ells, rtol=1e-12)
    assert spiked.spike_from_eigenvalue((1 + np.sqrt(g)) ** 2, g) == pytest.approx(np.sqrt(g), rel=1e-12)
    np.testing.assert_allclose(spiked.overlap(ells, g), (1 - g / ells**2) / (1 + g / ells), rtol=1e-13)
    with pytest.raises(SpectralTheoryError, match="below the Marchenko-Pastur edge"):
        spiked.spike_from_eigenvalue(2.0, g)
    with pytest.raises(SpectralTheoryError, match="aspect"):
        spiked.overlap(1.0, 0.0)
    with pytest.raises(SpectralTheoryError, match="spike"):
        spiked.top_eigenvalue(-1.0, 0.5)


def _spiked_top(D, N, ell, R, rng):
    """Top eigenvalue and squared overlap of S = X X^T / N, X = Sigma^(1/2) Z, Sigma = I + ell e1 e1^T."""
    tops, overlaps = [], []
    for _ in range(R):
        X = rng.standard_normal((D, N))
        X[0] *= np.sqrt(1 + ell)
        vals, vecs = np.linalg.eigh(X @ X.T / N)
        tops.append(vals[-1]); overlaps.append(vecs[0, -1] ** 2)
    return np.asarray(tops), np.asarray(overlaps)


def test_bbp_above_threshold_monte_carlo():
    D, N, ell, R = 400, 800, 2.0, 16
    g = D / N
    tops, ovs = _spiked_top(D, N, ell, R, np.random.default_rng(3))
    # tolerance: 4 standard errors of the replicate mean + the O(1/N) finite-size bias (constant ~ ell)
    for sample, theory in ((tops, spiked.top_eigenvalue(ell, g)), (ovs, spiked.overlap(ell, g))):
        se = sample.std(ddof=1) / np.sqrt(R)
        assert abs(sample.mean() - theory) < 4 * se + (1 + ell) / N


def test_bbp_below_threshold_sticks_to_the_edge_monte_carlo():
    D, N, ell, R = 400, 800, 0.3, 10
    g = D / N
    tops, _ = _spiked_top(D, N, ell, R, np.random.default_rng(4))
    edge = spiked.top_eigenvalue(ell, g)
    # Tracy-Widom scale of the largest eigenvalue (Johnstone 2001): its mean sits ~1.2 scales inside
    tw_scale = (1 + np.sqrt(g)) * (1 / np.sqrt(N) + 1 / np.sqrt(D)) ** (1 / 3) / np.sqrt(N)
    se = tops.std(ddof=1) / np.sqrt(R)
    assert abs(tops.mean() - edge) < 2 * tw_scale + 4 * se


def test_spike_from_eigenvalue_debiases_a_measured_outlier():
    D, N, ell, R = 400, 800, 3.0, 8
    tops, _ = _spiked_top(D, N, ell, R, np.random.default_rng(5))
    est = spiked.spike_from_eigenvalue(tops, D / N)
    # first-order error propagation of the eigenvalue's own spread, plus the O(1/N) bias
    slope = 1 / (1 - (D / N) / ell**2)                     # d ell / d mu at the theory point
    se = est.std(ddof=1) / np.sqrt(R)
    assert abs(est.mean() - ell) < 4 * se + slope * (1 + ell) / N
