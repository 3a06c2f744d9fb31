"""validation.wishart and validation.experiments.spiked: the exact sampler of spiked top eigenpairs and the reduced linear
reverse process, against independent routes (dense eigh of the same matrix, the model object's own
noisy samples with dense PCA), and the built-in mutants the spiked experiments must catch.
"""
import numpy as np
import pytest
from scipy.stats import ks_2samp
from threadpoolctl import threadpool_limits

import spectral_theory as st
from spectral_theory import SpectralTheoryError
from spectral_theory import linear_denoisers as ld
from validation import mutants as M
from validation import wishart
from validation.experiments import spiked as ex
from validation.experiment import standard_error
from validation.suite import run_experiment


def _draw(N, rest, ell, reps, rng):
    n, big = min(N, rest), max(N, rest)
    d = np.sqrt(rng.chisquare(big - np.arange(n), size=(reps, n)))
    e = np.sqrt(rng.chisquare(n - 1 - np.arange(n - 1), size=(reps, n - 1)))
    W = rng.standard_normal((reps, N, len(ell))) * np.sqrt(1 + np.asarray(ell))
    return n, d, e, W


@pytest.mark.parametrize("N, rest, ell", [(40, 25, [5.0, 1.0]), (30, 50, [5.0, 1.0, 0.2]), (50, 50, [0.3]),
                                          (60, 20, [4.0, 0.0])])
def test_secular_kernel_matches_dense_eigh_of_the_same_matrix(N, rest, ell):
    """Top eigenvalues of T (+) 0 + W W^T and the eigenvectors' components on the spike coordinates
    (W^T q / sqrt(mu) for the N-side eigenvector q), including eigenvalues inside the bulk."""
    rng = np.random.default_rng(3)
    reps, m = 4, len(ell)
    n, d, e, W = _draw(N, rest, ell, reps, rng)
    k = m + 1
    mus, comps = np.empty((reps, k)), np.empty((reps, k, m))
    G2 = np.ascontiguousarray(np.swapaxes(W[:, n:], 1, 2) @ W[:, n:])
    wishart._secular_top(d, e, np.ascontiguousarray(W[:, :n]), G2, k, mus, comps)
    for r in range(reps):
        B = np.diag(d[r]) + np.diag(e[r], -1)
        A = np.zeros((N, N))
        A[:n, :n] = B @ B.T
        A += W[r] @ W[r].T
        w, V = np.linalg.eigh(A)
        w, V = w[::-1][:k], V[:, ::-1][:, :k]
        ref = (W[r].T @ V).T / np.sqrt(w)[:, None]                  # (k, m), signs arbitrary per row
        assert mus[r] == pytest.approx(w, rel=1e-9)
        np.testing.assert_allclose(np.abs(comps[r]), np.abs(ref), atol=1e-8)
        np.testing.assert_allclose(comps[r] * np.sign(comps[r][:, :1]), ref * np.sign(ref[:, :1]), atol=1e-8)


@pytest.mark.parametrize("D, N, lam", [(40, 80, [6.0, 2.0, 0.3]), (60, 30, [8.0, 2.5])])
def test_spiked_top_has_the_law_of_the_model_pca(D, N, lam):
    """The reduction (Dumitriu-Edelman tridiagonal bulk, Haar rotation) against the model object's
    noisy samples and dense PCA: two-sample KS tests of every eigenvalue and overlap (level 1e-3 each)."""
    rng = np.random.default_rng(11)
    k = len(lam)
    mus, ovs = wishart.spiked_top(lam, N, D, k, 3000, rng)
    model = st.SpikedCovariance(D, np.array(lam), noise=0.0, rng=rng)
    U = model.directions
    ev, ov = [], []
    with threadpool_limits(1):
        for _ in range(1500):
            _, X = model.noisy_sample(N, 1.0, rng=rng)
            vals, vecs = ld.top_eigenpairs(X, k)
            ev.append(vals)
            ov.append((vecs.T @ U) ** 2)
    ev, ov = np.array(ev), np.array(ov)
    for j in range(k):
        assert ks_2samp(mus[:, j], ev[:, j]).pvalue > 1e-3, j
        for i in range(k):
            assert ks_2samp(ovs[:, j, i], ov[:, j, i]).pvalue > 1e-3, (j, i)


def test_spiked_top_signed_components_square_to_the_overlaps():
    rng = np.random.default_rng(1)
    _, comps = wishart.spiked_top([3.0, 0.0], 50, 40, 2, 20, np.random.default_rng(1), signed=True)
    _, ovs = wishart.spiked_top([3.0, 0.0], 50, 40, 2, 20, rng, signed=False)
    np.testing.assert_allclose(comps**2, ovs)
    assert np.all(np.sum(comps**2, axis=2) <= 1 + 1e-12)


@pytest.mark.parametrize("kwargs, word", [(dict(spikes=[-1.0]), "spikes"), (dict(dim=2), "dim"),
                                          (dict(k_top=0), "k_top"), (dict(n_samples=1), "n_samples")])
def test_spiked_top_rejects_bad_input(kwargs, word):
    args = dict(spikes=[2.0], n_samples=20, dim=10, k_top=1, reps=2, rng=np.random.default_rng(0)) | kwargs
    with pytest.raises(SpectralTheoryError, match=word):
        wishart.spiked_top(**args)


def test_reduced_reverse_process_has_the_law_of_the_dense_one():
    """Independent PCA steps carried as components on (u, w) plus the norm of the rest, against the
    D-dimensional process of the model object: means and standard deviations after 3 and 6 steps."""
    rng = np.random.default_rng(4)
    lam, d, N = np.array([8.0, 4.0, 2.0]), 30, 60
    taus = np.geomspace(0.3, 0.1, 6) * 2 / np.sqrt(0.5)
    coeff = np.ones(4)
    red = ex._independent_runs(lam, taus, N, d, coeff, 3000, rng)
    model = ex._model(d, lam, rng)
    U = model.directions
    w = np.linalg.qr(np.column_stack([U, rng.standard_normal(d)]))[0][:, 3]
    basis = np.column_stack([U, w])
    with threadpool_limits(1):
        dense = np.array([ex._reverse_run(model, taus, N, basis @ coeff, basis, rng, False) for _ in range(1500)])
    for t in (2, 5):
        z = (red[:, t].mean(0) - dense[:, t].mean(0)) / np.hypot(standard_error(red[:, t]), standard_error(dense[:, t]))
        assert np.all(np.abs(z) < 4), (t, z)
        assert red[:, t].std(0) == pytest.approx(dense[:, t].std(0), rel=0.1)


def test_davis_kahan_residual_bound_holds():
    """The bound of spiked_jacobian_alignment: 1 - <v_i(G), x>^2 <= (|G x - rho x| / delta)^2."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        A = rng.standard_normal((8, 8))
        G = A + A.T
        w, V = np.linalg.eigh(G)
        i = rng.integers(8)
        x = V[:, i] + 0.3 * rng.standard_normal(8) * rng.random()
        x /= np.linalg.norm(x)
        rho = x @ G @ x
        delta = np.min(np.abs(np.delete(w, i) - rho))
        assert 1 - (V[:, i] @ x) ** 2 <= (np.linalg.norm(G @ x - rho * x) / delta) ** 2 + 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("mutant, name", [("bbp-threshold-gamma", "spiked_overlaps"),
                                          ("outlier-eigenvalue-dropped-factor", "spiked_overlaps"),
                                          ("emergence-gamma", "spiked_emergence_order")])
def test_spiked_mutants_are_caught_by_a_margin(mutant, name):
    """Quick preset, CI seed: the mutant's experiment disagrees, with some check off by more than
    twice its tolerance (a catch by a margin, not by luck)."""
    with M.patched(M.mutants()[mutant]):
        rec = run_experiment(name, "quick", 20241016)
    assert rec["verdict"] == "disagree"
    assert max(abs(c["measured"] - c["predicted"]) / c["tolerance"] for c in rec["checks"]
               if c["verdict"] == "disagree") > 2
