"""The ``trained`` experiments (validation.experiments.trained): the perturbation bounds that carry a
network's own error into their tolerances, tested against random perturbations (a bound that a sampled
perturbation violates would make a correct theory disagree), and the N x capacity x seed sweep of the
Li-Dai-Qu experiment resuming from its store (one training per task)."""
import numpy as np
import pytest

import spectral_theory as st
from validation.experiments.hidden_gaussian import _mixture
from validation.experiments.trained import (_failure_floor, _ldq_samples, _unexplained, eigenvector_bound, gap_bound,
                                           rank_certified)


def _random_symmetric(rng, B, D, scale):
    E = rng.standard_normal((B, D, D))
    return scale * (E + np.swapaxes(E, 1, 2)) / 2


def _orthogonal(rng, D):
    return np.linalg.qr(rng.standard_normal((D, D)))[0]


@pytest.mark.parametrize("scale", [1e-3, 0.02, 0.1, 0.4])
def test_gap_bound_holds_and_beats_weyl(scale):
    rng = np.random.default_rng(0)
    D = 30
    lam = np.sort(np.concatenate([np.full(15, -1.0), np.full(10, -0.6), np.full(5, -0.15)]))   # tau J of two blocks
    Q = _orthogonal(rng, D)
    A = (Q * lam) @ Q.T
    A_hat = A + _random_symmetric(rng, 200, D, scale)
    ev = np.linalg.eigvalsh(A_hat)
    weyl = 2 * np.max(np.abs(np.linalg.eigvalsh(A_hat - A)), axis=1)
    for k in (15, 25):
        b = gap_bound(A_hat, lam, Q, k)
        change = np.abs((ev[:, k] - ev[:, k - 1]) - (lam[k] - lam[k - 1]))
        assert np.all(change <= b * (1 + 1e-9) + 1e-12)
        assert np.all(b <= weyl * (1 + 1e-12))
        if scale <= 1e-3:
            assert np.mean(b / weyl) < 0.8             # small errors: the block terms win, the quadratic one is negligible
    np.testing.assert_allclose(gap_bound(np.broadcast_to(A, (2, D, D)), lam, Q, 15), 0.0, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-3, 0.01, 0.05])
def test_eigenvector_bound_holds(scale):
    rng = np.random.default_rng(1)
    D, k = 16, 4
    mu = np.concatenate([[0.8, 0.65, 0.5, 0.33], np.full(D - k, 0.05)])
    Q = _orthogonal(rng, D)
    A_hat = (Q * mu) @ Q.T + _random_symmetric(rng, 300, D, scale)
    vecs = np.linalg.eigh(A_hat)[1][:, :, ::-1][:, :, :k]
    miss = 1 - np.einsum("bdk,dk->bk", vecs, Q[:, :k]) ** 2
    b = eigenvector_bound(A_hat, mu, Q, k)
    assert b.shape == (300, k)
    assert np.all(miss <= b + 1e-12)
    assert np.all(b <= 1.0)


def test_rank_certified_points_keep_their_rank():
    rng = np.random.default_rng(2)
    n, B = 12, 300
    U = _orthogonal(rng, n)[:, :4]
    base = np.broadcast_to(U @ np.diag([1.0, 0.9, 0.7, 0.5]) @ U.T, (B, n, n))
    M = base + _random_symmetric(rng, B, n, 0.01)
    eps_op = np.full(B, 0.02)
    eps_fro = np.full(B, 0.02 * np.sqrt(n))
    ok = rank_certified(M, eps_op, eps_fro)
    assert ok.mean() > 0.9
    r = st.molrg.numerical_rank(M)
    for _ in range(20):                            # perturbations with |E|_op <= eps: a certified rank never moves
        E = _random_symmetric(rng, B, n, 1.0)
        E *= (0.02 / np.linalg.norm(E, ord=2, axis=(1, 2)))[:, None, None]
        moved = st.molrg.numerical_rank(M + E) != r
        assert not np.any(moved & ok)
    assert not np.any(rank_certified(M, np.full(B, 0.5), np.full(B, 0.5 * np.sqrt(n))))


def test_sample_scores_of_the_memorising_denoiser_in_place_of_a_network():
    """The sample scores' wiring, without torch: with D_M itself as the 'network' its samples are D_M's
    (same x_T), all copies of training points; the true mixture's fresh samples are not."""
    rng = np.random.default_rng(3)
    model = _mixture(rng, 4)
    train = model.sample(20, rng=rng)
    emp, gau = st.Empirical(train), st.Gaussian.from_samples(train)
    out = _ldq_samples(emp, lambda n: model.sample(n, rng=rng), train, emp, gau, 40, rng)
    assert out["net_to_emp"] == 0.0
    assert out["mem_net"] == out["mem_emp"] == 1.0 and out["gl_net"] == out["gl_emp"] < 1e-3
    assert out["mem_true"] < 0.3 and out["gl_true"] > 0.1 and out["gl_gauss"] > 0.1
    assert all(out[f"{q}_{m}_se"] >= 0 for q in ("gl", "mem") for m in ("net", "emp", "gauss", "true"))


def test_failure_floor_bounds_every_basis_that_misses_by_the_threshold():
    """Bases near the truth (each point measured against its own component's basis) with recovery error at
    least the threshold leave at least the floor; below N_k = d the floor is 0."""
    from validation.molrg_sweep import draw_problem
    rng = np.random.default_rng(4)
    d, K = 4, 2
    for n_k in (2 * d, 3 * d):
        model, X = draw_problem(20, d, K, n_k, 0.0, rng)
        floor = _failure_floor(model.bases, X, n_k)
        assert floor > 0
        for scale in (0.05, 0.1, 0.2, 0.4):
            for _ in range(30):
                V = [np.linalg.qr(U + scale * rng.standard_normal(U.shape))[0] for U in model.bases]
                if st.molrg.recovery_error(V, model.bases).max_error >= st.molrg.SUCCESS_THRESHOLD:
                    assert _unexplained(V, X) >= floor * (1 - 1e-12)
    for n_k in (1, d - 1):
        for _ in range(5):
            model, X = draw_problem(20, d, K, n_k, 0.0, rng)
            assert _failure_floor(model.bases, X, n_k) == 0.0


def test_capacity_sweep_resumes_from_its_store(tmp_path):
    pytest.importorskip("torch")
    from validation.experiments.trained import ldq_task
    from validation.sweep import grid, run_sweep
    points = grid(n_train=[8, 32], width=[8, 16], seed=[0])
    for p in points:
        p.update(dim=3, model_seed=1, steps=3, batch=16, n_eval=20, n_fit=40, n_samples=10)
    store = tmp_path / "ldq.sqlite"
    first = run_sweep(ldq_task, points, seed=5, store=store)
    first.raise_for_failures()
    assert first.n_run == 4 and first.n_skipped == 0
    again = run_sweep(ldq_task, points, seed=5, store=store)          # nothing retrained
    assert again.n_run == 0 and again.n_skipped == 4
    assert [r["result"]["mse_M"] for r in again.rows] == [r["result"]["mse_M"] for r in first.rows]


def test_the_digits_arm_trains_on_digits_and_has_no_exact_truth():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from validation.experiments.trained import ldq_task
    out = ldq_task(dict(data="digits", n_train=12, width=8, seed=0, steps=3, batch=16, n_eval=20, n_fit=80,
                        n_samples=10), np.random.default_rng(1))
    assert np.all(np.isnan(out["mse_true"])) and np.all(np.isfinite(out["mse_M"])) and np.all(np.isfinite(out["lin_L"]))
    assert out["mem_emp"] == 1.0 and 0 <= out["mem_true"] <= 1
