"""Batched Lanczos, block Lanczos eigenpairs and singular triplets against dense linear algebra."""
import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import ConvergenceError, SpectralTheoryError
from validation.jacobians import lanczos_eigenpairs, lanczos_singular
from validation.lanczos import lanczos_tridiagonal


def _symmetric(D, seed=0):
    A = np.random.default_rng(seed).standard_normal((D, D))
    return (A + A.T) / np.sqrt(2 * D)


def test_gauss_quadrature_is_exact_for_low_moments():
    A = _symmetric(200)
    V = np.random.default_rng(1).standard_normal((5, 200))
    tri = lanczos_tridiagonal(lambda X: X @ A, V, 12)
    nodes, weights, _ = tri.ritz()
    q = V / np.linalg.norm(V, axis=1, keepdims=True)
    Ap = q.copy()
    for p in range(2 * 12):                        # q^T A^p q = sum_i w_i theta_i^p for p < 2m
        exact = np.einsum("kd,kd->k", q, Ap)
        np.testing.assert_allclose(np.einsum("km,km->k", weights, nodes ** p), exact, atol=1e-10)
        Ap = Ap @ A
    assert tri.matvecs == 5 * 12 and tri.asymmetry < 1e-12


def test_exhausted_krylov_spaces_stop_per_probe():
    """tau J of an orthonormal linear manifold has 3 distinct eigenvalues: Lanczos stops after 3 steps."""
    model = st.LinearManifold(300, [(20, 4.0), (30, 0.25)], basis="orthonormal", rng=0)
    J = model.score_jacobian(np.zeros(300), 0.5)
    tri = lanczos_tridiagonal(lambda X: X @ J, np.random.default_rng(0).standard_normal((4, 300)), 20)
    assert np.all(tri.steps == 3)
    nodes, weights, res = tri.ritz()
    expected = np.sort(-1 / (np.array([4.0, 0.25, 0.0]) + 0.25))
    live = weights > 0
    np.testing.assert_allclose(nodes[live].reshape(4, 3), np.tile(expected, (4, 1)), rtol=1e-12)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert np.all(res[live] < 1e-10)


@pytest.mark.parametrize("which", ["largest", "smallest"])
def test_eigenpairs_match_eigh_with_residuals(which):
    model = st.SpikedCovariance(400, [30.0, 12.0, 6.0, 3.0], noise=0.5, rng=1)
    J = model.score_jacobian(np.zeros(400), 0.4) + np.diag(0.3 * np.linspace(0, 1, 400) ** 0.3)   # separated ends
    lam, U = np.linalg.eigh(J)
    pairs = lanczos_eigenpairs(lambda X: X @ J, 400, 4, which, tol=1e-9, rng=0)
    idx = slice(-4, None) if which == "largest" else slice(0, 4)
    np.testing.assert_allclose(pairs.eigenvalues, lam[idx], rtol=1e-9, atol=1e-9 * pairs.scale)
    V = pairs.eigenvectors
    np.testing.assert_allclose(V.T @ V, np.eye(4), atol=1e-10)
    res = np.linalg.norm(J @ V - V * pairs.eigenvalues, axis=0)
    np.testing.assert_allclose(pairs.residuals, res, rtol=1e-6, atol=1e-14)
    assert np.all(res <= 1e-9 * pairs.scale)
    # eigenvector error <= residual / gap (Davis-Kahan)
    gaps = np.abs(np.diff(lam))
    gap = min(gaps[idx.start - 1 if which == "largest" else 0: None if which == "largest" else 4].min(), 1.0)
    overlap = np.abs(np.sum(V * U[:, idx], axis=0))
    assert np.all(1 - overlap <= (res / gap) ** 2 + 1e-10)
    assert pairs.matvecs > 0 and pairs.which == which


def test_block_lanczos_finds_a_degenerate_eigenvalue():
    model = st.LinearManifold(300, [(40, 2.0)], basis="orthonormal", rng=2)
    J = model.score_jacobian(np.zeros(300), 0.3)
    pairs = lanczos_eigenpairs(lambda X: X @ J, 300, 6, "largest", rng=0)        # 40 copies of -1/(2.09)
    np.testing.assert_allclose(pairs.eigenvalues, -1 / (2.0 + 0.09), rtol=1e-10)


def test_convergence_error_names_the_worst_residual():
    A = _symmetric(500, seed=3)
    with pytest.raises(ConvergenceError, match="worst residual"):
        lanczos_eigenpairs(lambda X: X @ A, 500, 3, max_steps=4, tol=1e-10, rng=0)


def test_singular_triplets_match_svd():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((300, 300)) / np.sqrt(300)
    A += np.outer(rng.standard_normal(300), rng.standard_normal(300)) / 30       # a clear top triplet
    U, s, Vt = np.linalg.svd(A)
    trip = lanczos_singular(lambda X: X @ A.T, lambda X: X @ A, 300, 3, tol=1e-10, rng=0)
    np.testing.assert_allclose(trip.values, s[:3], rtol=1e-8)
    np.testing.assert_allclose(np.abs(np.sum(trip.right * Vt[:3].T, axis=0)), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.abs(np.sum(trip.left * U[:, :3], axis=0)), 1.0, atol=1e-6)
    assert np.all(trip.residuals <= 1e-6 * s[0])


def test_bad_input():
    A = _symmetric(50)
    N = A + np.triu(np.ones((50, 50)), 1)
    with pytest.raises(SpectralTheoryError, match="`matvec` is not symmetric"):
        lanczos_eigenpairs(lambda X: X @ N.T, 50, 2, rng=0)
    with pytest.raises(SpectralTheoryError, match="`matvec`.*shape"):
        lanczos_eigenpairs(lambda X: X[:1], 50, 2, rng=0)
    with pytest.raises(SpectralTheoryError, match="`matvec` returned NaN"):
        lanczos_eigenpairs(lambda X: X * np.nan, 50, 2, rng=0)
    with pytest.raises(SpectralTheoryError, match="`which`"):
        lanczos_eigenpairs(lambda X: X @ A, 50, 2, "middle")
    with pytest.raises(SpectralTheoryError, match="`k`"):
        lanczos_eigenpairs(lambda X: X @ A, 50, 51)
    with pytest.raises(SpectralTheoryError, match="`probes`"):
        lanczos_tridiagonal(lambda X: X @ A, np.zeros((2, 50)), 5)


def test_stop_returns_the_prefix_tridiagonals_of_a_shorter_run():
    """``stop`` sees after step s exactly the tridiagonals an s-step run computes, and stopping returns them."""
    A = _symmetric(150, seed=3)
    V = np.random.default_rng(4).standard_normal((3, 150))
    seen = []

    def stop(tri):
        seen.append(tri.alpha.shape[1])
        return tri.alpha.shape[1] == 7
    tri = lanczos_tridiagonal(lambda X: X @ A, V, 20, stop=stop)
    short = lanczos_tridiagonal(lambda X: X @ A, V, 7)
    assert seen == list(range(1, 8))
    assert tri.matvecs == short.matvecs == 3 * 7
    np.testing.assert_array_equal(tri.alpha, short.alpha)
    np.testing.assert_array_equal(tri.beta, short.beta)
    np.testing.assert_array_equal(tri.steps, short.steps)
    full = lanczos_tridiagonal(lambda X: X @ A, V, 20, stop=lambda t: False)
    assert full.alpha.shape == (3, 20)
    np.testing.assert_array_equal(full.alpha[:, :7], short.alpha)
