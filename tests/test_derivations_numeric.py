"""spectral_theory.spiked: input checks, identities, and Monte Carlo (the gaps: test_gaps.py).

Monte Carlo tolerances come from the simulation's own scale: the standard error over independent
replicates plus the known finite-size scale of the quantity (O(N^-1) bias above the BBP threshold,
the Tracy-Widom N^-2/3 scale at a spectral edge), never from tuning.
"""
from __future__ import annotations

import numpy as np
import pytest

from spectral_theory import SpectralTheoryError, spiked


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
