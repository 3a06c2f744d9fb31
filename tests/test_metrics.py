"""Metrics of the hidden-Gaussian-structure paper, each against an independent brute-force route."""
import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import metrics


def brute_knn(X, Y, k):
    d = np.linalg.norm(X[:, None, :] - Y[None, :, :], axis=2)
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(d, idx, axis=1)


@pytest.mark.parametrize("rows, cols", [(None, None), (7, 13), (1, 1000)])
def test_nearest_neighbors_match_brute_force_for_any_tiling(rows, cols):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((60, 9)), rng.standard_normal((400, 9))
    nn = metrics.nearest_neighbors(X, Y, k=3, block_rows=rows, block_cols=cols)
    idx, dist = brute_knn(X, Y, 3)
    np.testing.assert_array_equal(nn.indices, idx)
    np.testing.assert_allclose(nn.distances, dist, rtol=1e-13, atol=1e-13)


def test_nearest_neighbor_distance_of_a_near_copy_is_exact():
    # far from the origin the expanded square |x|^2 - 2xy + |y|^2 cancels catastrophically
    rng = np.random.default_rng(1)
    Y = 1e3 + rng.standard_normal((200, 30))
    eps = 1e-9 * rng.standard_normal((20, 30))
    X = Y[:20] + eps
    nn = metrics.nearest_neighbors(X, Y, k=2, block_cols=17)
    np.testing.assert_array_equal(nn.indices[:, 0], np.arange(20))
    # X - Y[:20] is exact in floating point (Sterbenz); the naive expanded square would be O(1e-5)
    np.testing.assert_allclose(nn.distances[:, 0], np.linalg.norm(X - Y[:20], axis=1), rtol=1e-12)
    np.testing.assert_allclose(nn.distances[:, 0], np.linalg.norm(eps, axis=1), rtol=1e-3)


def test_generalization_score_and_nn_ratio_on_copies_and_fresh_points():
    rng = np.random.default_rng(2)
    Y = rng.standard_normal((500, 20))
    gl = metrics.generalization_score(Y[:50], Y)
    assert gl.score == 0.0 and not gl.generalizes
    r = metrics.nn_ratio(Y[:50] + 1e-6, Y)
    assert r.memorized_fraction == 1.0 and np.all(r.indices == np.arange(50))
    X = rng.standard_normal((40, 20))
    idx, dist = brute_knn(X, Y, 2)
    gl = metrics.generalization_score(X, Y)
    per = dist[:, 0] / np.linalg.norm(X, axis=1)
    assert gl.score == pytest.approx(per.mean(), rel=1e-12)
    assert gl.stderr == pytest.approx(per.std(ddof=1) / np.sqrt(40), rel=1e-10)
    r = metrics.nn_ratio(X, Y)
    np.testing.assert_allclose(r.ratios, dist[:, 0] / dist[:, 1], rtol=1e-12)
    assert r.memorized_fraction == pytest.approx(np.mean(dist[:, 0] / dist[:, 1] < 1 / 3))


def test_nn_ratio_with_duplicate_training_points_is_not_nan():
    Y = np.zeros((3, 4))
    r = metrics.nn_ratio(np.zeros((2, 4)), Y)
    assert np.all(r.ratios == 1.0)


def _affine_recorder(W, c, calls):
    def denoise(x, sigma, alpha=1.0):
        calls.append(np.array(x))
        return x @ W.T + c
    return denoise


def test_linearity_score_of_an_affine_map_matches_its_defect_formula():
    rng = np.random.default_rng(3)
    D = 6
    W = rng.standard_normal((D, D))
    c = rng.standard_normal(D)
    Y = rng.standard_normal((101, D))
    calls = []
    ls = metrics.linearity_score(_affine_recorder(W, c, calls), Y, 0.5, rng=4)
    mixed, x1, x2 = calls
    a = b = 2**-0.5
    u = (a * x1 + b * x2) @ W.T
    np.testing.assert_allclose(mixed, a * x1 + b * x2, rtol=1e-14)
    lhs, rhs = u + c, u + (a + b) * c        # D(a x1 + b x2) and a D(x1) + b D(x2)
    expected = np.abs(np.sum(lhs * rhs, 1)) / np.linalg.norm(lhs, axis=1) / np.linalg.norm(rhs, axis=1)
    np.testing.assert_allclose(ls.per_pair, expected, rtol=1e-12)
    assert ls.per_pair.size == 50 and ls.score < 1


def test_linearity_score_is_one_for_a_centred_gaussian_and_nn_cosine_for_memorizer():
    rng = np.random.default_rng(5)
    Y = rng.standard_normal((80, 5)) @ rng.standard_normal((5, 5))
    Y -= Y.mean(0)
    g = st.Gaussian.from_samples(Y)
    ls = metrics.linearity_score(g, Y, 0.7, rng=6)
    np.testing.assert_allclose(ls.per_pair, 1.0, atol=1e-12)
    # the memorizing denoiser at tiny sigma returns training points: D(x_i) = y_i and
    # D(a x1 + b x2) = NN(a y1 + b y2) (the noise 1e-6 cannot change the nearest point here)
    emp = st.Empirical(Y)
    calls = []
    ls = metrics.linearity_score(lambda x, s, a: (calls.append(x), emp.denoise(x, s))[1], Y, 1e-6, rng=7)
    mixed = calls[0]
    y1 = emp.points[emp.nearest(calls[1])]
    y2 = emp.points[emp.nearest(calls[2])]
    v = (y1 + y2) / np.sqrt(2)
    nn = Y[metrics.nearest_neighbors(v, Y).indices[:, 0]]
    np.testing.assert_allclose(mixed, v, atol=1e-5)
    expected = np.abs(np.sum(nn * v, 1)) / np.linalg.norm(nn, axis=1) / np.linalg.norm(v, axis=1)
    np.testing.assert_allclose(ls.per_pair, expected, atol=1e-5)


def test_score_field_distance_between_shifted_gaussians_is_the_shrunk_shift():
    rng = np.random.default_rng(8)
    D = 7
    A = rng.standard_normal((D, D))
    C = A @ A.T / D
    mu1, mu2 = rng.standard_normal(D), rng.standard_normal(D)
    g1, g2 = st.Gaussian(mu1, C), st.Gaussian(mu2, C)
    s = 0.9
    W, _ = st.wiener_filter(mu1, C, s)
    shift = (np.eye(D) - W) @ (mu1 - mu2)                 # D1 - D2, the same at every x
    x = rng.standard_normal((30, D)) * 3
    fd = metrics.score_field_distance(g1, g2, x, s)
    assert fd.rmse == pytest.approx(np.linalg.norm(shift) / np.sqrt(D), rel=1e-10)
    assert fd.mse == pytest.approx(shift @ shift / D, rel=1e-10)
    assert fd.rmse_stderr < 1e-10
    expected_norm = np.mean(np.linalg.norm(shift) / np.linalg.norm(g1.denoise(x, s), axis=1))
    assert fd.normalised == pytest.approx(expected_norm, rel=1e-10)
    assert metrics.score_field_distance(g1, g1, x, s).rmse == 0


def test_weight_similarity():
    A = np.eye(3)
    w = metrics.weight_similarity(2 * A, A)
    assert w.relative_distance == pytest.approx(1.0) and w.cosine == pytest.approx(1.0)
    w = metrics.weight_similarity(np.diag([1.0, 0, 0]), np.diag([0, 1.0, 0]))
    assert w.relative_distance == pytest.approx(np.sqrt(2)) and w.cosine == 0


def test_bad_input():
    Y = np.ones((5, 3))
    with pytest.raises(st.SpectralTheoryError, match="same dimension"):
        metrics.generalization_score(np.ones((2, 4)), Y)
    bad = Y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(st.SpectralTheoryError, match="NaN"):
        metrics.nn_ratio(Y, bad)
    with pytest.raises(st.SpectralTheoryError, match="at least 2"):
        metrics.nn_ratio(Y, Y[:1])
    with pytest.raises(st.SpectralTheoryError, match="zero vector"):
        metrics.generalization_score(np.zeros((1, 3)), Y)
    with pytest.raises(st.SpectralTheoryError, match="at least 2"):
        metrics.linearity_score(lambda x, s, a: x, Y[:1], 1.0)
    with pytest.raises(st.SpectralTheoryError, match="sigma"):
        metrics.linearity_score(lambda x, s, a: x, Y, 0.0)
    with pytest.raises(st.SpectralTheoryError, match="shape"):
        metrics.score_field_distance(lambda x, s, a: x[:, :2], lambda x, s, a: x, Y, 1.0)
    with pytest.raises(st.SpectralTheoryError, match="same shape"):
        metrics.weight_similarity(np.eye(2), np.eye(3))
    with pytest.raises(st.SpectralTheoryError, match="k"):
        metrics.nearest_neighbors(Y, Y, k=6)


def test_a_single_sample_has_an_infinite_not_nan_standard_error():
    rng = np.random.default_rng(3)
    train = rng.standard_normal((20, 4))
    one = rng.standard_normal((1, 4))
    gl = st.metrics.generalization_score(one, train)
    assert np.isfinite(gl.score) and gl.stderr == np.inf
    d = st.metrics.score_field_distance(lambda x, s, a: x, lambda x, s, a: 0.5 * x, one, 1.0)
    assert d.rmse == pytest.approx(0.5 * np.linalg.norm(one) / 2) and d.rmse_stderr == np.inf and d.mse_stderr == np.inf
    zero = st.metrics.score_field_distance(lambda x, s, a: 0 * x, lambda x, s, a: x, one, 1.0)
    assert zero.normalised == np.inf                     # |D1| = 0: infinite relative distance, not NaN


def test_sizes_beyond_the_machines_memory_are_refused_before_allocating():
    """nearest_neighbors holds (n, k + 2) candidates and a block_rows x block_cols tile; linearity_score
    about 10 D floats per pair."""
    from conftest import refuses_allocation
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((2**12, 2)), rng.standard_normal((2**14, 2))
    g = st.Gaussian(np.zeros(2), np.eye(2))
    # as_strided views of 2^22 "samples" and 2^24 "training points" take no memory (their validation's
    # finiteness masks take 8 and 32 MiB)
    many_x = np.lib.stride_tricks.as_strided(X[:1], shape=(2**22, 2), strides=(0, 8))
    many_y = np.lib.stride_tricks.as_strided(Y[:1], shape=(2**24, 2), strides=(0, 8))
    refuses_allocation(lambda: metrics.nearest_neighbors(X, many_y, k=2**24), "k", limit=2**26)
    refuses_allocation(lambda: metrics.nearest_neighbors(many_x, Y, block_rows=2**22), "block_rows", limit=2**26)
    refuses_allocation(lambda: metrics.linearity_score(g, X[:10], 0.5, n_pairs=2**50, rng=0), "n_pairs")
