"""Matrix-free operators: exact model products, central differences, torch autodiff, symmetry."""
import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import SpectralTheoryError
from validation.jacobians import (finite_difference_operator, model_operator, slq_density, symmetric_part,
                                  symmetry_test, torch_operator)

MODELS = {
    "linear-manifold": lambda: st.LinearManifold(60, [(8, 4.0), (8, 0.5)], rng=0),
    "spiked": lambda: st.SpikedCovariance(50, [5.0, 2.0], noise=0.5, rng=0),
    "empirical": lambda: st.Empirical(np.random.default_rng(0).standard_normal((40, 30))),
    "molrg": lambda: st.MoLRG(40, [4, 4], noise=0.05, rng=0),
}


def _point(model, sigma, alpha):
    return model.noisy_sample(1, sigma, alpha, rng=1)[1][0]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_finite_difference_operator_matches_the_exact_jacobian(name):
    model = MODELS[name]()
    x = _point(model, 0.7, 0.9)
    J = model.score_jacobian(x, 0.7, 0.9)
    calls = []

    def score(P, s, a):
        calls.append(P.shape)
        return model.score(P, s, a)
    op = finite_difference_operator(score, x, 0.7, 0.9)
    V = np.random.default_rng(2).standard_normal((5, x.size))
    V[3] = 0.0
    np.testing.assert_allclose(op(V), V @ J.T, atol=1e-7 * np.abs(J).max() * np.sqrt(x.size))
    assert calls == [(10, x.size)]                  # one score call on the (2k, D) stack
    assert op.rmatvec is None and not op.symmetric


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_operator_is_the_exact_jacobian(name):
    model = MODELS[name]()
    x = _point(model, 0.6, 0.8)
    J = model.score_jacobian(x, 0.6, 0.8)
    op = model_operator(model, x, 0.6, 0.8)
    V = np.random.default_rng(3).standard_normal((4, x.size))
    np.testing.assert_allclose(op(V), V @ J.T, rtol=1e-10, atol=1e-12 * np.abs(J).max())
    assert op.symmetric and op.T is op


def test_model_operator_needs_score_jvp():
    with pytest.raises(SpectralTheoryError, match="score_jvp"):
        model_operator(object(), np.zeros(3), 1.0)


def test_torch_operator_jvp_and_vjp_match_autograd():
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.Tanh(), torch.nn.Linear(16, 12)).double()

    def score(x, sigma, alpha):                     # a network score: not a gradient, J not symmetric
        return net(x / alpha) / sigma**2 - x / sigma**2
    x = torch.randn(12, generator=gen, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda z: score(z[None], 0.5, 1.0)[0], x).numpy()
    op = torch_operator(score, x.numpy(), 0.5)
    V = np.random.default_rng(4).standard_normal((3, 12))
    np.testing.assert_allclose(op(V), V @ J.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.rmatvec(V), V @ J, rtol=1e-12, atol=1e-12)
    test = symmetry_test(op, 12, rng=0)
    assert not test.symmetric
    with pytest.raises(SpectralTheoryError, match="not symmetric"):
        slq_density(op, 12, n_probes=2, n_steps=6, rng=0)
    sym = symmetric_part(op)
    np.testing.assert_allclose(sym(V), V @ (0.5 * (J + J.T)), rtol=1e-12, atol=1e-12)
    est = slq_density(sym, 12, n_probes=3, n_steps=12, rng=0)
    lam = np.linalg.eigvalsh(0.5 * (J + J.T))
    assert est.moment(1) == pytest.approx(lam.mean(), abs=4 * est.moment_stderr(1) + 1e-12)


def test_symmetry_test_estimates_the_asymmetry():
    rng = np.random.default_rng(5)
    S = rng.standard_normal((200, 200))
    S = S + S.T
    K = rng.standard_normal((200, 200))
    K = K - K.T
    sym = symmetry_test(lambda V: V @ S, 200, rng=1)
    assert sym.symmetric and sym.asymmetry < 1e-14
    A = S + 0.1 * K
    exact = np.linalg.norm(0.1 * K) / np.linalg.norm(A)
    test = symmetry_test(lambda V: V @ A.T, 200, n_probes=64, rng=2)
    assert abs(test.asymmetry - exact) <= 4 * test.stderr
    with pytest.raises(SpectralTheoryError, match=r"`matvec` is not symmetric: \|A - A\^T\|"):
        test.raise_if_asymmetric()
    fd = finite_difference_operator(st.Gaussian(np.zeros(30), np.diag(np.linspace(1, 3, 30))).score,
                                    np.ones(30), 0.5)
    assert symmetry_test(fd, 30, rng=3).symmetric   # central differences: symmetric to O(h^2) + rounding


def test_symmetric_part_needs_a_transpose():
    op = finite_difference_operator(lambda P, s, a: -P, np.zeros(4), 1.0)
    with pytest.raises(SpectralTheoryError, match="rmatvec"):
        symmetric_part(op)
    with pytest.raises(SpectralTheoryError, match="`score`.*shape"):
        finite_difference_operator(lambda P, s, a: P[:, :2], np.zeros(4), 1.0)(np.eye(4))


def test_scaled_operator():
    A = np.arange(9.0).reshape(3, 3)
    op = finite_difference_operator(lambda P, s, a: P @ A.T, np.zeros(3), 1.0)
    np.testing.assert_allclose((2.0 * op)(np.eye(3)), 2 * A.T, rtol=1e-8)
    with pytest.raises(SpectralTheoryError, match="`c`"):
        op * np.nan


def test_slq_through_central_differences_matches_the_dense_spectrum():
    """Black-box route: SLQ on central differences of the Empirical score vs eigvalsh of the exact J."""
    model = st.Empirical(np.random.default_rng(6).standard_normal((120, 200)))
    x = _point(model, 3.0, 1.0)
    lam = np.linalg.eigvalsh(model.score_jacobian(x, 3.0))
    est = slq_density(finite_difference_operator(model.score, x, 3.0), 200, n_probes=8, n_steps=40, rng=0)
    assert est.asymmetry < 1e-6
    ks = est.ks_distance(lam, atol=1e-6 * np.abs(lam).max())   # FD moves the degenerate eigenvalue by ~1e-9
    assert ks.value <= 4 * ks.stderr + ks.resolution
    assert est.moment(1) == pytest.approx(lam.mean(), abs=4 * est.moment_stderr(1) + 1e-8)
