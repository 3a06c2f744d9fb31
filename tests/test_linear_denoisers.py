"""spectral_theory.linear_denoisers: constructions, predicted mean operators, power-iteration mean.

Independent routes: direct eigendecomposition for the Gram-matrix path, the trace identity of a
projection, Monte Carlo of E[P_s] and of the linear reverse process (tolerance z * standard error + the
stated finite-size bound of spectral_theory.spiked), brute-force products for the reverse mean.
"""

import numpy as np
from threadpoolctl import threadpool_limits
import pytest
from scipy.stats import norm

import spectral_theory as st
from spectral_theory import linear_denoisers as ld
from spectral_theory import spiked as sp

Z = norm.isf(0.001 / 2)




def _noisy(rng, lam, U, s, N):
    return (rng.standard_normal((N, lam.size)) * np.sqrt(lam)) @ U.T + np.sqrt(s) * rng.standard_normal((N, U.shape[0]))


@pytest.mark.parametrize("N, D", [(50, 20), (20, 50)])
def test_top_eigenpairs_both_aspects(N, D):
    X = np.random.default_rng(0).standard_normal((N, D))
    vals, vecs = ld.top_eigenpairs(X, 3)
    ref_vals, ref_vecs = np.linalg.eigh(X.T @ X / N)
    np.testing.assert_allclose(vals, ref_vals[::-1][:3], rtol=1e-10)
    np.testing.assert_allclose(np.abs(np.sum(vecs * ref_vecs[:, ::-1][:, :3], axis=0)), 1, atol=1e-8)
    P = ld.pca_projection(X, 3)
    np.testing.assert_allclose(P.matrix @ P.matrix, P.matrix, atol=1e-10)
    assert np.trace(P.matrix) == pytest.approx(3)
    np.testing.assert_allclose(P(X[:4]), X[:4] @ P.matrix, atol=1e-12)


def test_wiener_weights():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 30)) * 2
    W = ld.wiener_shrinkage(X, 1.5, 4)
    lam_hat = np.maximum(W.sample_eigenvalues - 1.5, 0)
    np.testing.assert_allclose(W.weights, lam_hat / (lam_hat + 1.5))
    Wd = ld.wiener_shrinkage(X, 1.5, 4, debias=True)
    edge = 1.5 * (1 + np.sqrt(30 / 80)) ** 2
    out = Wd.sample_eigenvalues > edge
    lam_d = np.where(out, 1.5 * sp.spike_from_eigenvalue(np.maximum(Wd.sample_eigenvalues, edge) / 1.5, 30 / 80), 0)
    np.testing.assert_allclose(Wd.weights, lam_d / (lam_d + 1.5))


@pytest.mark.parametrize("call, word", [
    (lambda: ld.pca_projection(np.ones((5, 4)), 5), "rank"),
    (lambda: ld.wiener_shrinkage(np.ones((5, 4)), 0.0, 1), "tau"),
    (lambda: ld.mean_projection([1.0, -1.0], 1.0, 0.5, 10), "spikes"),
    (lambda: ld.mean_projection([1.0] * 3, 1.0, 0.5, 2), "rank"),
    (lambda: ld.mean_projection([1.0], 1.0, 0.0, 10), "aspect"),
    (lambda: ld.mean_projection([1.0], -1.0, 0.5, 10), "tau"),
    (lambda: ld.reverse_mean([1.0], [1.0], 0.5, 10, denoiser="nope"), "denoiser"),
    (lambda: ld.steps_to_dominate([2.0, 1.0], [0.1], 0.5, 10, tol=1.5), "tol"),
    (lambda: ld.contraction_factor([2.0, 1.0], 100.0, 0.5), "threshold"),
])
def test_bad_input(call, word):
    with pytest.raises(st.SpectralTheoryError, match=word):
        call()


def test_mean_operator_trace_and_structure():
    lam = np.array([8.0, 4.0, 0.3])
    for op in (ld.mean_projection(lam, 1.0, 0.5, 100), ld.mean_wiener(lam, 1.0, 0.5, 100)):
        U = np.linalg.qr(np.random.default_rng(2).standard_normal((100, 3)))[0]
        M = op.matrix(U)
        np.testing.assert_allclose(U.T @ M @ U, np.diag(op.diagonal), atol=1e-12)
        assert op.diagonal[2] == pytest.approx(op.off_support)          # undetected spike = bulk
    P = ld.mean_projection(lam, 1.0, 0.5, 100)
    assert P.diagonal.sum() + (100 - 3) * P.off_support == pytest.approx(3)
    np.testing.assert_allclose(P.diagonal[:2], sp.overlap(lam[:2], 0.5))


def test_mean_projection_and_wiener_monte_carlo():
    """E[P_s] and E[W_s] in the true basis: diagonal = predictions, off-diagonal = 0."""
    rng = np.random.default_rng(3)
    D, N, s, reps = 80, 160, 1.0, 120
    lam = np.array([8.0, 4.0, 2.0, 0.5])
    U = st.SpikedCovariance(D, lam, noise=s, rng=4).directions
    diag_p, diag_w, cross = (np.empty((reps, 4)) for _ in range(3))
    with threadpool_limits(1):
        for r in range(reps):
            X = _noisy(rng, lam, U, s, N)
            P, W = ld.pca_projection(X, 4), ld.wiener_shrinkage(X, s, 4)
            Mp = U.T @ P.matrix @ U
            diag_p[r], diag_w[r] = np.diag(Mp), np.diag(U.T @ W.matrix @ U)
            cross[r] = [Mp[0, 1], Mp[0, 2], Mp[1, 2], Mp[2, 3]]
    gamma = D / N
    wiener_c = lambda ell, g: (1 - 1 / sp.top_eigenvalue(ell, g)) * sp.overlap(ell, g)   # plug-in weight x overlap
    for sample, op, fn in ((diag_p, ld.mean_projection(lam, s, gamma, D), sp.overlap),
                           (diag_w, ld.mean_wiener(lam, s, gamma, D), wiener_c)):
        se = sample.std(axis=0, ddof=1) / np.sqrt(reps)
        # crossover bound of the module, plus the bulk value b for an undetected spike (|c - b| <= c + b)
        bound = sp.finite_size_bound(fn, lam / s, gamma, N) + np.where(lam / s > np.sqrt(gamma), 0, op.off_support)
        assert np.all(np.abs(sample.mean(axis=0) - op.diagonal) <= Z * se + bound), (sample.mean(0), op.diagonal)
    se = cross.std(axis=0, ddof=1) / np.sqrt(reps)
    assert np.all(np.abs(cross.mean(axis=0)) <= Z * se)


def test_reverse_mean_is_the_product_of_mean_operators():
    lam, taus, gamma, D = np.array([5.0, 2.0, 1.0]), np.geomspace(3.0, 0.05, 12), 0.5, 60
    rm = ld.reverse_mean(lam, taus, gamma, D)
    brute = np.eye(D)
    U = np.eye(D)[:, :3]
    for t in taus:
        brute = ld.mean_projection(lam, t, gamma, D).matrix(U) @ brute
    np.testing.assert_allclose(np.diag(brute)[:3], rm.multipliers[-1], rtol=1e-12)
    assert brute[5, 5] == pytest.approx(rm.off_support[-1], rel=1e-12)
    np.testing.assert_allclose(rm.ratios[:, 0], 1.0)
    assert np.all(np.diff(rm.ratios[-4:, 1]) < 0)                   # contraction towards the leader
    al = rm.alignment([1.0, 1.0, 1.0], off_norm2=D - 3)
    assert al[-1] > al[-5]


def test_steps_and_contraction_at_constant_noise():
    lam, gamma, s, D = [4.0, 2.0], 0.5, 0.2, 1000
    n = ld.constant_noise_steps(4.0, 2.0, s, gamma, 1e-3)
    r = ld.contraction_factor(lam, s, gamma)[1]
    assert r ** n <= 1e-3 < r ** (n - 1)
    # with a single spike pair and tiny off-support values the schedule count equals the constant-noise count
    assert ld.steps_to_dominate(lam, [s] * (n + 5), gamma, D, 1e-3) == n
    assert ld.steps_to_dominate(lam, [s] * (n - 1), gamma, D, 1e-3) is None
    # first order in s: error O(s^2)
    for s_ in (1e-2, 1e-3):
        err = abs(ld.contraction_factor(lam, s_, gamma)[1] - ld.contraction_first_order(lam, s_, gamma)[1])
        assert err < 5 * (gamma * s_ / 2.0) ** 2
    # gap dependence: a smaller gap needs more steps, ~ 1/(1/l2 - 1/l1)
    n_small_gap = ld.constant_noise_steps(4.0, 3.0, s, gamma, 1e-3)
    assert n_small_gap > n
    assert n_small_gap / n == pytest.approx((1 / 2 - 1 / 4) / (1 / 3 - 1 / 4), rel=0.1)


def test_reverse_process_monte_carlo_independent_steps():
    """Mean of P_{s_T}..P_{s_1} x_T over independently trained projections = product of predictions."""
    rng = np.random.default_rng(5)
    D, N, reps = 60, 120, 150
    lam = np.array([6.0, 3.0])
    taus = np.array([2.0, 1.0, 0.5, 0.25])
    U = np.linalg.qr(rng.standard_normal((D, 2)))[0]
    xT = U @ np.array([1.0, 1.0])
    out = np.empty((reps, 2))
    with threadpool_limits(1):
        for r in range(reps):
            x = xT
            for t in taus:
                x = ld.pca_projection(_noisy(rng, lam, U, t, N), 2)(x)
            out[r] = U.T @ x
    rm = ld.reverse_mean(lam, taus, D / N, D)
    c = np.array([ld.mean_projection(lam, t, D / N, D).diagonal for t in taus])
    B = sp.finite_size_bound(sp.overlap, lam[None, :] / taus[:, None], D / N, N)
    bound = np.prod(np.minimum(c + B, 1), axis=0) - rm.multipliers[-1]
    se = out.std(axis=0, ddof=1) / np.sqrt(reps)
    assert np.all(np.abs(out.mean(axis=0) - rm.multipliers[-1]) <= Z * se + bound), (out.mean(0), rm.multipliers[-1], se, bound)


def test_an_operator_matrix_beyond_the_machines_memory_is_refused_before_allocating():
    from conftest import refuses_allocation
    D = 2**24                                             # a 2^48-entry operator from a 128 MiB basis
    op = ld.mean_projection([4.0], 0.5, 0.5, D)
    U = np.lib.stride_tricks.as_strided(np.ones(1), shape=(D, 1), strides=(0, 8))
    refuses_allocation(lambda: op.matrix(U), "directions", limit=2**28)
