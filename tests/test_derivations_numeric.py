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


def test_gap_profile_monte_carlo_two_blocks():
    """Theory edges a, b from the multi-block Stieltjes equation (derivation multiblock_stieltjes);
    the measured gap of tau*J from explicit inverses -(C + tau I)^{-1} at D = 600."""
    derivations = pytest.importorskip("derivations")
    from derivations.library.multiblock_stieltjes import _critical_edges
    d = derivations.derive("multiblock_stieltjes")
    alphas, variances = np.array([0.25, 0.25]), np.array([1.0, 20.0])
    edges = _critical_edges(d, alphas, variances)          # [lo1, hi1, lo2, hi2]
    a, b = edges[1], edges[2]
    D, R, tau = 600, 6, float(np.sqrt(a * b))
    rng = np.random.default_rng(11)
    n1 = int(alphas[0] * D)
    measured_a, measured_b, gaps = [], [], []
    for _ in range(R):
        lam, F, v = _two_block_spectra(D, alphas, variances, rng)
        nz = lam[D - v.size:]                               # the m nonzero eigenvalues, ascending
        measured_a.append(nz[n1 - 1]); measured_b.append(nz[n1])
        C = (F * v) @ F.T
        tJ = np.sort(np.linalg.eigvalsh(-tau * np.linalg.inv(C + tau * np.eye(D))))
        # the gap of tau*J between the two bulks, found where their images meet
        top = tJ[D - v.size:][n1 - 1]; bottom = tJ[D - v.size:][n1]
        gaps.append(bottom - top)
    measured_a, measured_b, gaps = map(np.asarray, (measured_a, measured_b, gaps))
    # edge fluctuations: Tracy-Widom, measured by the replicate spread; its mean offset is ~1 sd
    tol_a = 2 * measured_a.std(ddof=1) + 4 * measured_a.std(ddof=1) / np.sqrt(R)
    tol_b = 2 * measured_b.std(ddof=1) + 4 * measured_b.std(ddof=1) / np.sqrt(R)
    assert abs(measured_a.mean() - a) < tol_a
    assert abs(measured_b.mean() - b) < tol_b
    # propagate to the gap: |dG/da| da + |dG/db| db at tau
    dGda = tau / (tau + a) ** 2
    dGdb = tau / (tau + b) ** 2
    assert abs(gaps.mean() - st.gap_profile(a, b, tau)) < dGda * tol_a + dGdb * tol_b
    # and the gap measured through the matrix inverse equals the profile at the measured edges
    np.testing.assert_allclose(gaps, st.gap_profile(measured_a, measured_b, tau), rtol=1e-9)


# -- spiked ------------------------------------------------------------------------------------
def test_spiked_closed_forms_and_edge_cases():
    g = 0.5
    assert spiked.threshold(g) == pytest.approx(np.sqrt(g))
    assert spiked.overlap(np.sqrt(g), g) == 0.0                         # exactly 0 at threshold
    assert spiked.overlap(0.0, g) == 0.0 and spiked.top_eigenvalue(0.0, g) == (1 + np.sqrt(g)) ** 2
    assert spiked.top_eigenvalue(np.sqrt(g), g) == pytest.approx((1 + np.sqrt(g)) ** 2, rel=1e-15)
    ells = np.linspace(0.8, 10, 50)
    np.testing.assert_allclose(spiked.snr_from_eigenvalue(spiked.top_eigenvalue(ells, g), g), ells, rtol=1e-12)
    assert spiked.snr_from_eigenvalue((1 + np.sqrt(g)) ** 2, g) == pytest.approx(np.sqrt(g), rel=1e-12)
    np.testing.assert_allclose(spiked.overlap(ells, g), (1 - g / ells**2) / (1 + g / ells), rtol=1e-13)
    with pytest.raises(SpectralTheoryError, match="below the Marchenko-Pastur edge"):
        spiked.snr_from_eigenvalue(2.0, g)
    with pytest.raises(SpectralTheoryError, match="aspect"):
        spiked.overlap(1.0, 0.0)
    with pytest.raises(SpectralTheoryError, match="snr"):
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
    D, N, ell, R = 400, 800, 0.3, 16
    g = D / N
    tops, _ = _spiked_top(D, N, ell, R, np.random.default_rng(4))
    edge = spiked.top_eigenvalue(ell, g)
    # Tracy-Widom scale of the largest eigenvalue (Johnstone 2001): its mean sits ~1.2 scales inside
    tw_scale = (1 + np.sqrt(g)) * (1 / np.sqrt(N) + 1 / np.sqrt(D)) ** (1 / 3) / np.sqrt(N)
    se = tops.std(ddof=1) / np.sqrt(R)
    assert abs(tops.mean() - edge) < 2 * tw_scale + 4 * se


def test_snr_from_eigenvalue_debiases_a_measured_outlier():
    D, N, ell, R = 400, 800, 3.0, 8
    tops, _ = _spiked_top(D, N, ell, R, np.random.default_rng(5))
    est = spiked.snr_from_eigenvalue(tops, D / N)
    # first-order error propagation of the eigenvalue's own spread, plus the O(1/N) bias
    slope = 1 / (1 - (D / N) / ell**2)                     # d ell / d mu at the theory point
    se = est.std(ddof=1) / np.sqrt(R)
    assert abs(est.mean() - ell) < 4 * se + slope * (1 + ell) / N
