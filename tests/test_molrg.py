"""Tests of spectral_theory.molrg (low-rank denoiser training = subspace clustering) and its sweep."""
import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import binomtest

import spectral_theory as st
from spectral_theory import molrg
from spectral_theory.checks import SpectralTheoryError


def _problem(K, d, Nk, noise=0.0, seed=0, n=48):
    rng = np.random.default_rng(seed)
    model = st.MoLRG(n, [d] * K, noise=noise, rng=rng)
    X = np.concatenate([c.sample(Nk, rng) for c in model.components])
    return model, X


def _paper_denoiser(x, bases, pi, sigma, alpha):
    """The paper's closed form written out here (c, phi, softmax with the log-det term): an independent
    route to the package's MoLRG denoiser, valid for any (even non-orthonormal) matrices."""
    c = alpha / (alpha**2 + sigma**2)
    phi = alpha**2 / (2 * sigma**2 * (alpha**2 + sigma**2))
    logits = np.stack([np.log(p) + phi * np.sum((x @ U) ** 2, 1) - U.shape[1] / 2 * np.log1p(alpha**2 / sigma**2)
                       for p, U in zip(pi, bases)], 1)
    w = np.exp(logits - logits.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    return sum(w[:, [k]] * c * (x @ U) @ U.T for k, U in enumerate(bases))


def _pca(X, d):
    return np.linalg.svd(X, full_matrices=False)[2][:d].T


# ------------------------------------------------------------------ denoiser and loss
def test_low_rank_denoiser_is_the_paper_formula():
    """Independent route: the paper's closed form written out here (c, phi, softmax with log-det)."""
    rng = np.random.default_rng(1)
    bases = [np.linalg.qr(rng.standard_normal((12, d)))[0] for d in (2, 5)]
    pi = np.array([0.3, 0.7])
    x = rng.standard_normal((7, 12))
    for sigma, alpha in [(0.5, 1.0), (0.2, 0.8), (2.0, 0.3)]:
        want = _paper_denoiser(x, bases, pi, sigma, alpha)
        assert_allclose(molrg.low_rank_denoiser(bases, pi).denoise(x, sigma, alpha), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("sigma,alpha", [(0.3, 1.0), (1.5, 0.6)])
def test_monte_carlo_loss_matches_pca_closed_form(sigma, alpha):
    """K = 1: the denoising loss with fresh noise (MC) equals |x|^2 - (2 c a - c^2 a^2)|U^T x|^2 + c^2 s^2 d."""
    _, X = _problem(1, 4, 30, noise=0.05)
    U = np.linalg.qr(np.random.default_rng(2).standard_normal((48, 4)))[0]
    sched = st.EDM() if alpha == 1.0 else st.VP(0.1, 20.0)
    t = sched.time_of_tau((sigma / alpha) ** 2)
    s, a = sched.sigma(t), sched.alpha(t)
    est = molrg.denoising_loss([U], X, sched, times=[t], n_noise=400, rng=3)
    exact = molrg.pca_loss(U, X, s, a)
    assert abs(est.value - exact) < 4.5 * est.stderr
    assert est.stderr < 0.01 * exact


def test_whitened_antithetic_average_is_the_expectation_for_k1():
    """The training loss (fixed antithetic whitened draws) equals the exact expected loss when K = 1."""
    _, X = _problem(1, 3, 10, noise=0.01)
    U = np.linalg.qr(np.random.default_rng(4).standard_normal((48, 3)))[0]
    xi = molrg.whitened_antithetic_noise(4, *X.shape, np.random.default_rng(5))
    loss, _ = molrg.loss_and_gradient([U], X, xi, 0.4, 0.9)
    assert_allclose(loss, molrg.pca_loss(U, X, 0.4, 0.9), rtol=1e-12)


def test_gradient_matches_finite_differences():
    """Analytic Euclidean gradient (unequal dims and weights, soft regime) vs central differences."""
    rng = np.random.default_rng(6)
    bases = [np.linalg.qr(rng.standard_normal((10, d)))[0] for d in (2, 3)]
    X = rng.standard_normal((15, 10))
    xi = rng.standard_normal((2, 15, 10))
    _, grads = molrg.loss_and_gradient(bases, X, xi, 0.7, 0.9, weights=[0.4, 0.6])
    for k in range(2):
        E = rng.standard_normal(bases[k].shape)
        h = 1e-5

        def f(t):   # the loss as a function of the raw matrix entries (no orthonormality needed)
            bs = [U.copy() for U in bases]
            bs[k] = bases[k] + t * E
            return _raw_loss(bs, X, xi, 0.7, 0.9, np.array([0.4, 0.6]))
        fd = (f(h) - f(-h)) / (2 * h)
        assert_allclose(np.sum(grads[k] * E), fd, rtol=1e-6)


def _raw_loss(bases, X, xi, sigma, alpha, pi):
    """The loss of eq. (lowrank) for arbitrary (non-orthonormal) matrices, written independently."""
    x0 = np.broadcast_to(X, xi.shape).reshape(-1, X.shape[1])
    x = alpha * x0 + sigma * xi.reshape(-1, X.shape[1])
    return np.sum((_paper_denoiser(x, bases, pi, sigma, alpha) - x0) ** 2) / x.shape[0]


# ------------------------------------------------------------------ K = 1 is PCA
@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_k1_both_methods_are_pca(noise):
    _, X = _problem(1, 4, 12, noise=noise, seed=7)
    pca = _pca(X, 4)
    ks = molrg.fit_subspaces(X, 1, 4, rng=0)
    assert molrg.recovery_error(ks.bases, [pca]).max_error < 1e-10
    gd = molrg.fit_subspaces(X, 1, 4, method="gradient", rng=0, restarts=1, init="random")
    assert gd.converged
    assert molrg.recovery_error(gd.bases, [pca]).max_error < 1e-4


def test_k1_pca_loss_minimised_by_pca_at_every_noise_level():
    _, X = _problem(1, 3, 20, noise=0.02, seed=8)
    pca = _pca(X, 3)
    rng = np.random.default_rng(9)
    for sigma in (0.05, 0.5, 5.0):
        best = molrg.pca_loss(pca, X, sigma)
        for _ in range(20):   # random perturbations on the Stiefel manifold never do better
            V = np.linalg.qr(pca + 0.1 * rng.standard_normal(pca.shape))[0]
            assert molrg.pca_loss(V, X, sigma) >= best - 1e-12


# ------------------------------------------------------------------ K > 1
@pytest.mark.parametrize("K,d", [(2, 3), (3, 5), (3, 8)])
def test_ksubspaces_recovers_noiseless_above_d_plus_one(K, d):
    model, X = _problem(K, d, d + 1, seed=10 + K + d)
    fit = molrg.fit_subspaces(X, K, d, rng=1)
    assert fit.unexplained < 1e-9           # certified global optimum
    assert molrg.recovery_error(fit.bases, model.bases).success
    assert fit.converged


@pytest.mark.parametrize("K,d", [(1, 4), (2, 4), (3, 6)])
def test_below_d_samples_recovery_fails(K, d):
    """N_k < d: the learned d-dim subspace holds at most N_k true directions; error >= sqrt((d-N_k)/2d)."""
    model, X = _problem(K, d, d - 1, seed=20 + K)
    rec = molrg.recovery_error(molrg.fit_subspaces(X, K, d, rng=2).bases, model.bases)
    assert not rec.success
    assert rec.max_error >= np.sqrt(1 / (2 * d)) - 1e-9


def test_k2_at_n_equal_d_optimum_is_not_unique():
    """Every split of the 2d points into two groups of d fits perfectly (the non-identifiability)."""
    model, X = _problem(2, 3, 3, seed=30)
    wrong = [X[[0, 1, 3]], X[[2, 4, 5]]]
    bases = [_pca(G, 3) for G in wrong]
    captured, _ = molrg.clustering_objective(bases, X)
    assert_allclose(captured.sum(), np.sum(X**2), rtol=1e-10)
    assert not molrg.recovery_error(bases, model.bases).success


def test_gradient_training_matches_subspace_clustering_k2():
    model, X = _problem(2, 3, 8, seed=31)
    ks = molrg.fit_subspaces(X, 2, 3, rng=3)
    gd = molrg.fit_subspaces(X, 2, 3, method="gradient", rng=3, restarts=1)
    assert gd.converged
    assert molrg.recovery_error(gd.bases, ks.bases).max_error < 0.02
    assert gd.objective <= ks.objective * (1 + 1e-12)


def test_clustering_solution_is_stationary_for_gradient_training():
    """Started at the K-subspaces solution, training at the lowest noise level stays there."""
    model, X = _problem(3, 3, 6, seed=41)
    ks = molrg.fit_subspaces(X, 3, 3, rng=4)
    sigma = 0.03 * np.sqrt(np.mean(np.sum(X**2, axis=1)) / 3)
    gd = molrg.fit_subspaces(X, 3, 3, method="gradient", rng=4, init=list(ks.bases), times=[sigma])
    assert gd.restarts == 1 and gd.converged
    assert_allclose(gd.noise_level, (sigma, 1.0))
    assert molrg.recovery_error(gd.bases, ks.bases).max_error < 0.02


def test_fit_is_reproducible():
    _, X = _problem(3, 4, 6, noise=1e-4, seed=32)
    a = molrg.fit_subspaces(X, 3, 4, rng=5)
    b = molrg.fit_subspaces(X, 3, 4, rng=5)
    for U, V in zip(a.bases, b.bases):
        assert_allclose(U, V)


def test_unequal_dims_and_tiny_clusters():
    rng = np.random.default_rng(33)
    model = st.MoLRG(20, [2, 5], rng=rng)
    X = np.concatenate([model.components[0].sample(4, rng), model.components[1].sample(7, rng)])
    fit = molrg.fit_subspaces(X, 2, [2, 5], rng=rng)
    assert [U.shape[1] for U in fit.bases] == [2, 5]
    assert molrg.recovery_error(fit.bases, model.bases).success
    for U in fit.bases:
        assert_allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-10)
    one = molrg.fit_subspaces(X[:2], 2, 5, rng=0)     # fewer points than directions: completed, orthonormal
    for U in one.bases:
        assert_allclose(U.T @ U, np.eye(5), atol=1e-10)


# ------------------------------------------------------------------ recovery and rank
def test_recovery_error_values_and_invariances():
    I = np.eye(6)
    r = molrg.recovery_error([I[:, [0, 1]]], [I[:, [0, 2]]])
    assert_allclose(r.max_error, np.sqrt(2 / 4))                 # |P - Q|_F^2 = 2 + 2 - 2*1
    assert_allclose(molrg.recovery_error([I[:, :2]], [I[:, 2:4]]).max_error, 1.0)
    rng = np.random.default_rng(34)
    true = [np.linalg.qr(rng.standard_normal((10, 3)))[0] for _ in range(3)]
    hat = [np.linalg.qr(U + 0.05 * rng.standard_normal(U.shape))[0] for U in true]
    rotated = [U @ np.linalg.qr(rng.standard_normal((3, 3)))[0] for U in hat]
    base = molrg.recovery_error(hat, true)
    perm = molrg.recovery_error([rotated[2], rotated[0], rotated[1]], true)
    assert_allclose(np.sort(perm.errors), np.sort(base.errors), rtol=1e-10)
    assert list(perm.matching) == [1, 2, 0]
    # Hungarian vs brute force over permutations
    cost = lambda p: sum(molrg.recovery_error([hat[p[k]]], [true[k]]).max_error for k in range(3))
    assert_allclose(base.errors.sum(), min(cost(p) for p in itertools.permutations(range(3))), rtol=1e-12)


def test_numerical_rank_rule():
    rng = np.random.default_rng(35)
    Q1, Q2 = (np.linalg.qr(rng.standard_normal((8, 8)))[0] for _ in range(2))
    for s in ([5, 3, 1, 0.1, 0, 0, 0, 0], [1] * 8, [1, 1e-3, 0, 0, 0, 0, 0, 0]):
        s = np.array(s, float)
        A = Q1 @ np.diag(s) @ Q2
        want = next(r for r in range(1, 9) if np.sqrt(np.sum(s[:r] ** 2)) > 0.99 * np.sqrt(np.sum(s**2)))
        assert molrg.numerical_rank(A) == want
    batch = np.stack([np.diag([1.0, 1, 0]), np.diag([1.0, 0, 0]), np.zeros((3, 3))])
    assert list(molrg.numerical_rank(batch)) == [2, 1, 0]
    with pytest.raises(SpectralTheoryError, match="energy"):
        molrg.numerical_rank(np.eye(2), energy=1.0)


def test_sample_complexity_counts_and_the_fits_that_realise_them():
    sc = molrg.sample_complexity(48, [3, 5])
    assert list(sc.necessary) == [3, 5] and list(sc.sufficient) == [4, 6] and sc.ambient_dim == 48
    one = molrg.sample_complexity(10, 4)
    assert list(one.necessary) == list(one.sufficient) == [4]
    assert list(molrg.sample_complexity(1000, [3, 5]).sufficient) == [4, 6]      # not the ambient dimension
    # independent route: the noiseless optimum (K-subspaces, certified when it captures all the energy)
    d = 3
    for K, Nk, want in ((1, d - 1, False), (1, d, True), (2, d - 1, False), (2, d + 1, True)):
        assert (Nk >= molrg.sample_complexity(48, [d] * K).sufficient[0]) == want
        model, X = _problem(K, d, Nk, seed=40 + Nk)
        fit = molrg.fit_subspaces(X, K, d, rng=41)
        assert molrg.recovery_error(fit.bases, model.bases).success == want, (K, Nk)
    # at N_k = d (K = 2) a wrong split covers every point exactly: the optimum is not unique
    model, X = _problem(2, d, d, seed=42)
    wrong = [np.linalg.qr(X[[0, 1, d]].T)[0], np.linalg.qr(X[[2, d + 1, d + 2]].T)[0]]
    captured = molrg.clustering_objective(wrong, X)[0].sum()
    assert_allclose(captured, np.sum(X**2), rtol=1e-10)
    assert not molrg.recovery_error(wrong, model.bases).success
    for bad, match in (((0, [2]), "ambient_dim"), ((8, [0, 2]), r"dims\[0\]"), ((8, [5, 4]), "sum"),
                       ((8, []), "dims"), ((8, [2.5]), r"dims\[0\]")):
        with pytest.raises(SpectralTheoryError, match=match):
            molrg.sample_complexity(*bad)


def test_exact_denoiser_jacobian_rank_is_sum_of_dims_at_high_noise():
    model = st.MoLRG(30, [2, 3, 4], rng=36)
    x0, xt = model.noisy_sample(20, sigma=20.0, rng=37)
    JD = (np.eye(30) + 20.0**2 * model.score_jacobian(xt, 20.0)) / 1.0    # grad D = (I + s^2 J)/alpha
    assert np.all(molrg.numerical_rank(JD) == 9)
    x0, xt = model.noisy_sample(20, sigma=0.05, rng=38)                # low noise: one component's rank
    JD = np.eye(30) + 0.05**2 * model.score_jacobian(xt, 0.05)
    assert np.all(molrg.numerical_rank(JD) <= 9)


# ------------------------------------------------------------------ bad input
def test_bad_input():
    X = np.random.default_rng(0).standard_normal((10, 6))
    with pytest.raises(SpectralTheoryError, match="method"):
        molrg.fit_subspaces(X, 2, 2, method="em")
    with pytest.raises(SpectralTheoryError, match="dims"):
        molrg.fit_subspaces(X, 2, [1, 2, 3])
    with pytest.raises(SpectralTheoryError, match="n_components"):
        molrg.fit_subspaces(X, 0, 2)
    with pytest.raises(SpectralTheoryError, match="dims"):
        molrg.fit_subspaces(X, 1, 7)
    with pytest.raises(SpectralTheoryError, match="X"):
        molrg.fit_subspaces(np.ones(5), 1, 1)
    with pytest.raises(SpectralTheoryError, match="components"):
        molrg.recovery_error([np.eye(6)[:, :2]], [np.eye(6)[:, :2]] * 2)
    with pytest.raises(SpectralTheoryError, match="init"):
        molrg.fit_subspaces(X, 1, 2, method="gradient", init="pca")
    with pytest.raises(SpectralTheoryError, match="init"):
        molrg.fit_subspaces(X, 1, 2, method="gradient", init=[np.eye(6)[:, :3]])


# ------------------------------------------------------------------ sweep helpers
def test_wilson_interval_matches_scipy():
    from validation.molrg_sweep import wilson_interval
    for k, n in [(0, 50), (3, 50), (25, 50), (50, 50), (1, 7)]:
        lo, hi = wilson_interval(k, n)
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert_allclose([lo, hi], [ci.low, ci.high], atol=1e-12)


def test_recovery_task_noiseless_k1_is_a_step():
    from validation.molrg_sweep import recovery_task
    rng = np.random.default_rng(40)
    for Nk, want in [(3, 0), (4, 5), (6, 5)]:
        out = recovery_task(dict(K=1, d=4, N_k=Nk, noise=0.0, trials=5, n=20), rng)
        assert out["successes"] == want and out["trials"] == 5 and len(out["errors"]) == 5


def test_noise_draws_beyond_the_machines_memory_are_refused_before_allocating():
    """The draws (M, N, n) and their whitening's (n, n) moment: the error names the argument behind the
    largest axis; denoising_loss counts the mixture posterior's per-component arrays."""
    from conftest import refuses_allocation
    refuses_allocation(lambda: molrg.whitened_antithetic_noise(2**40, 10, 3, rng=0), "n_noise")
    refuses_allocation(lambda: molrg.whitened_antithetic_noise(4, 2**40, 3, rng=0), "N")
    refuses_allocation(lambda: molrg.whitened_antithetic_noise(4, 10, 2**25, rng=0), "n")
    m = st.MoLRG(6, [2, 2], rng=0)
    X = m.sample(20, rng=1)
    refuses_allocation(lambda: molrg.denoising_loss(m.bases, X, n_noise=2**40, rng=0), "n_noise")


def test_a_gradient_fit_counts_the_noise_draws_of_every_level():
    from conftest import refuses_allocation
    X = st.MoLRG(6, [2, 2], rng=0).sample(20, rng=1)
    refuses_allocation(lambda: molrg.fit_subspaces(X, 2, [2, 2], method="gradient", n_noise=2**36, rng=0), "n_noise",
                       limit=2**22)
