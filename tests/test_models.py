"""Data models: exact denoiser, score and Jacobian, each checked against an independent route."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as hst

import spectral_theory as st
from spectral_theory import SpectralTheoryError


def make_models(seed=0):
    """Every registered model class's examples (``spectral_theory.models.MODELS``), by name."""
    rng = np.random.default_rng(seed)
    out = {}
    for cls in st.models.MODELS:
        out.update(cls._examples(rng))
    return out


MODELS = make_models()
NAMES = list(MODELS)
NOISE = [(0.3, 1.0), (1.0, 1.0), (0.7, 0.6)]   # (sigma, alpha)


def points(model, n, sigma, alpha, seed=1):
    _, xt = model.noisy_sample(n, sigma, alpha, rng=seed)
    return xt


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sigma,alpha", NOISE)
def test_score_is_gradient_of_log_density(name, sigma, alpha):
    m = MODELS[name]
    x = points(m, 4, sigma, alpha)
    h = 1e-5
    E = np.eye(m.dim)
    fd = np.stack([(m.log_density(x + h * e, sigma, alpha) - m.log_density(x - h * e, sigma, alpha)) / (2 * h) for e in E], axis=1)
    np.testing.assert_allclose(m.score(x, sigma, alpha), fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sigma,alpha", NOISE)
def test_jacobian_is_symmetric_and_matches_finite_differences_of_score(name, sigma, alpha):
    m = MODELS[name]
    x = points(m, 3, sigma, alpha)
    J = m.score_jacobian(x, sigma, alpha)
    np.testing.assert_allclose(J, np.swapaxes(J, 1, 2), atol=1e-10 / sigma**2)
    h = 1e-5
    fd = np.stack([(m.score(x + h * e, sigma, alpha) - m.score(x - h * e, sigma, alpha)) / (2 * h) for e in np.eye(m.dim)], axis=2)
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-6 / sigma**2)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sigma,alpha", NOISE)
def test_tweedie_links_denoiser_and_score(name, sigma, alpha):
    m = MODELS[name]
    x = points(m, 6, sigma, alpha)
    np.testing.assert_allclose(m.score(x, sigma, alpha), (alpha * m.denoise(x, sigma, alpha) - x) / sigma**2,
                               rtol=1e-9, atol=1e-9 / sigma**2)


@pytest.mark.parametrize("name", NAMES)
def test_vp_ve_scaling_identity(name):
    # sigma^2 J_VP(x) = tau J_VE(x / alpha) with tau = sigma^2/alpha^2 (conventions.md)
    m = MODELS[name]
    sched = st.VP()
    t = 0.3
    a, s, tau = sched.alpha(t), sched.sigma(t), sched.tau(t)
    x = points(m, 3, s, a)
    np.testing.assert_allclose(s**2 * m.score_jacobian(x, s, a), tau * m.score_jacobian(x / a, np.sqrt(tau), 1.0),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(m.denoise(x, s, a), m.denoise(x / a, np.sqrt(tau), 1.0), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_denoiser_equals_posterior_mean_by_importance_sampling(name):
    """E[x_0 | x_t = x] by self-normalised importance sampling from the prior, within 5 standard errors."""
    m = MODELS[name]
    sigma, alpha = 0.8, 0.9
    rng = np.random.default_rng(7)
    x = points(m, 3, sigma, alpha, seed=3)
    x0 = m.sample(200_000, rng=rng)                                               # (M, D)
    for xi in x:
        logw = -np.sum((xi - alpha * x0) ** 2, axis=1) / (2 * sigma**2)
        w = np.exp(logw - logw.max())
        w /= w.sum()
        est = w @ x0
        # delta-method standard error of a self-normalised IS mean: sqrt(sum w_i^2 (x_i - est)^2)
        se = np.sqrt(np.sum(w[:, None] ** 2 * (x0 - est) ** 2, axis=0))
        ess = 1 / np.sum(w**2)
        assert ess > 500, f"importance sampling degenerate (ESS {ess:.0f}); choose a larger sigma"
        z = np.abs(m.denoise(xi, sigma, alpha) - est) / se
        assert np.all(z < 5), f"{name}: z-scores {z}"


def test_gaussian_closed_forms():
    rng = np.random.default_rng(2)
    D = 4
    A = rng.standard_normal((D, D))
    C, mu = A @ A.T, rng.standard_normal(D)
    g = st.Gaussian(mu, C)
    x = rng.standard_normal((3, D))
    sigma, alpha = 0.7, 0.8
    M = alpha**2 * C + sigma**2 * np.eye(D)
    np.testing.assert_allclose(g.score_jacobian(x[0], sigma, alpha), -np.linalg.inv(M), rtol=1e-10)
    np.testing.assert_allclose(g.denoise(x, sigma, alpha), mu + (alpha * C @ np.linalg.solve(M, (x - alpha * mu).T)).T, rtol=1e-10)
    np.testing.assert_allclose(g.covariance(), C, rtol=1e-12, atol=1e-12)


def test_from_samples_uses_one_over_n_covariance_and_handles_rank_deficiency():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 10))                    # N < D: rank N - 1 = 5
    g = st.Gaussian.from_samples(X)
    np.testing.assert_allclose(g.covariance(), np.cov(X.T, bias=True), atol=1e-12)
    np.testing.assert_allclose(g.mean_vector, X.mean(0))
    assert g.rank == 5
    with pytest.raises(SpectralTheoryError, match="at least 2"):
        st.Gaussian.from_samples(X[:1])


def test_linear_manifold_spectrum():
    m = st.LinearManifold(30, [(4, 5.0), (3, 0.5)], basis="orthonormal", rng=1)
    np.testing.assert_allclose(np.sort(m.eigenvalues), [0.5] * 3 + [5.0] * 4, rtol=1e-12)
    g = st.LinearManifold(30, [(4, 5.0), (3, 0.5)], rng=1)
    np.testing.assert_allclose(g.covariance(), g.factor @ np.diag(g.latent_variances) @ g.factor.T, atol=1e-12)
    assert g.rank == 7
    # normal directions: tau J = -1 exactly (conventions.md)
    tau = 0.3
    ev = np.linalg.eigvalsh(tau * g.score_jacobian(np.zeros(30), np.sqrt(tau)))
    np.testing.assert_allclose(ev[:23], -1.0, atol=1e-12)


def test_molrg_matches_the_papers_closed_form():
    m = st.MoLRG(12, [2, 4, 3], weights=[0.2, 0.5, 0.3], rng=4)
    sched = st.VP()
    t = 0.4
    s, g = sched.alpha(t), sched.sigma(t)
    x = points(m, 5, g, s)
    c = s / (s**2 + g**2)
    phi = s**2 / (2 * g**2 * (s**2 + g**2))
    logits = np.stack([np.log(p) + phi * np.sum((x @ U) ** 2, 1) - d / 2 * np.log(1 + s**2 / g**2)
                       for p, U, d in zip(m.weights, m.bases, m.subspace_dims)], 1)
    w = np.exp(logits - logits.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    want = sum(w[:, [k]] * c * (x @ U @ U.T) for k, U in enumerate(m.bases))
    np.testing.assert_allclose(m.posterior_weights(x, g, s), w, rtol=1e-10)
    np.testing.assert_allclose(m.denoise(x, g, s), want, rtol=1e-10, atol=1e-12)


def test_empirical_equals_mixture_of_point_masses():
    rng = np.random.default_rng(5)
    Y = rng.standard_normal((7, 4))
    e = st.Empirical(Y)
    mix = st.GaussianMixture(Y, np.zeros((7, 4, 4)))
    x = rng.standard_normal((3, 4))
    for f in ("denoise", "score", "score_jacobian", "log_density"):
        np.testing.assert_allclose(getattr(e, f)(x, 0.6, 0.9), getattr(mix, f)(x, 0.6, 0.9), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["molrg", "mixture", "empirical"])
@pytest.mark.parametrize("sigma", [1e-6, 1e-3, 1e3, 1e6])
def test_mixtures_stay_finite_and_correct_across_noise_scales(name, sigma):
    m = MODELS[name]
    x = points(m, 5, sigma, 1.0, seed=11)
    for f in (m.denoise, m.score, m.score_jacobian, m.log_density):
        assert np.all(np.isfinite(f(x, sigma)))
    if sigma >= 1e3:  # posterior ~ prior: first-order Tweedie mu + C (x - mu)/sigma^2, error O(|x|^2/sigma^4)
        first_order = m.mean_vector + (x - m.mean_vector) @ m.covariance() / sigma**2
        np.testing.assert_allclose(m.denoise(x, sigma), first_order, atol=100 / sigma**2)


@pytest.mark.parametrize("sigma", [1e-6, 1e-4])
def test_empirical_weights_one_hot_at_small_sigma(sigma):
    Y = np.random.default_rng(6).standard_normal((50, 8)) * 100   # large norms stress the expanded square
    e = st.Empirical(Y)
    x = Y[[3, 17]] + sigma * np.random.default_rng(7).standard_normal((2, 8))
    w = e.posterior_weights(x, sigma)
    np.testing.assert_array_equal(np.argmax(w, 1), [3, 17])
    np.testing.assert_allclose(w.max(1), 1.0)
    np.testing.assert_allclose(e.denoise(x, sigma), Y[[3, 17]], rtol=1e-12)
    # one-hot posterior: no spread, tau J = -I
    np.testing.assert_allclose(sigma**2 * e.score_jacobian(x, sigma), -np.broadcast_to(np.eye(8), (2, 8, 8)), atol=1e-12)


def test_empirical_exact_weights_between_two_close_points():
    # two training points 2*delta apart, x at known offsets: the exact logit difference is 2 delta u / sigma^2
    delta, sigma = 1e-5, 1e-5
    Y = np.array([[1000.0, 0.0], [1000.0, 2 * delta]])
    e = st.Empirical(Y)
    x = np.array([1000.0, 1.3 * delta])
    w = e.posterior_weights(x, sigma)
    logit = ((x[1] - 0) ** 2 - (x[1] - 2 * delta) ** 2) / (2 * sigma**2)   # log(w1/w0)
    np.testing.assert_allclose(np.log(w[1] / w[0]), logit, rtol=1e-6)


def test_gaussian_flow_solves_the_probability_flow_ode_and_samples_exactly():
    rng = np.random.default_rng(8)
    D = 6
    L = rng.standard_normal((D, 3))
    g = st.Gaussian(rng.standard_normal(D), L @ L.T)                # rank 3: exercises the normal term
    sT = 5.0
    xT = g.mean_vector + rng.standard_normal((4, D)) * 3
    s, h = 1.3, 1e-5
    dx = (g.flow(xT, sT, s + h) - g.flow(xT, sT, s - h)) / (2 * h)
    x = g.flow(xT, sT, s)
    np.testing.assert_allclose(dx, (x - g.denoise(x, s)) / s, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g.flow(xT, sT, sT), xT, rtol=1e-14)
    # exact sampling: x_T ~ N(mu, C + sT^2 I) flows to N(mu, C) at sigma = 0
    n = 40_000
    xT = g.mean_vector + g.sample(n, rng=rng) - g.mean_vector + sT * rng.standard_normal((n, D))
    x0 = g.flow(xT, sT, 0.0)
    C = g.covariance()
    emp = np.cov(x0.T)
    se = np.sqrt((C**2 + np.outer(np.diag(C), np.diag(C))) / n)     # Wishart standard error
    assert np.all(np.abs(emp - C) < 5 * se + 1e-12)
    with pytest.raises(SpectralTheoryError, match="sigma_t"):
        g.flow(xT[:2], 1.0, 2.0)


BAD = [
    (lambda: st.Gaussian(np.zeros(3), np.eye(2)), "cov"),
    (lambda: st.Gaussian(np.zeros(2), [[1, 0], [0, -1]]), "cov"),
    (lambda: st.Gaussian(np.zeros(2), [[1, 0.5], [0, 1]]), "cov"),
    (lambda: st.Gaussian([np.nan, 0], np.eye(2)), "mean"),
    (lambda: st.LinearManifold(5, [(3, 1.0), (3, 1.0)]), "blocks"),
    (lambda: st.LinearManifold(5, [(2, -1.0)]), "v_k"),
    (lambda: st.LinearManifold(5, [(2, 1.0)], basis="weird"), "basis"),
    (lambda: st.SpikedCovariance(3, [1, 2, 3, 4]), "spikes"),
    (lambda: st.SpikedCovariance(3, [1, -2]), "spikes"),
    (lambda: st.SpikedCovariance(3, [1], noise=-1), "noise"),
    (lambda: st.MoLRG(5, [6]), "subspace_dims"),
    (lambda: st.MoLRG(5, [3, 3]), "subspace_dims"),
    (lambda: st.MoLRG(5, [1, 2], weights=[0.5, 0.6]), "weights"),
    (lambda: st.MoLRG(5, [1, 2], weights=[0.5, 0.3, 0.2]), "weights"),
    (lambda: st.GaussianMixture(np.zeros((2, 3)), np.zeros((3, 3, 3))), "covs"),
    (lambda: st.Empirical(np.ones(3)), "points"),
    (lambda: st.Empirical([[1.0, np.inf]]), "points"),
    (lambda: MODELS["molrg"].denoise(np.ones(4), 1.0), "x"),
    (lambda: MODELS["molrg"].score(np.ones(5), 0.0), "sigma"),
    (lambda: MODELS["empirical"].score_jacobian(np.ones(5), -1.0), "sigma"),
    (lambda: MODELS["gaussian_full"].denoise(np.full(5, np.nan), 1.0), "x"),
    (lambda: MODELS["gaussian_full"].denoise(np.ones(5), 1.0, alpha=0), "alpha"),
    (lambda: MODELS["manifold"].sample(0), "n"),
    (lambda: MODELS["manifold"].sample(5, rng="seed"), "rng"),
]


@pytest.mark.parametrize("make,param", BAD)
def test_bad_input_names_the_parameter(make, param):
    with pytest.raises(SpectralTheoryError, match=param):
        make()


def test_sampling_is_reproducible_and_has_the_model_covariance():
    for name, m in MODELS.items():
        np.testing.assert_array_equal(m.sample(5, rng=3), m.sample(5, rng=np.random.default_rng(3)))
        if name == "empirical":
            continue
        n = 100_000
        X = m.sample(n, rng=9)
        C = m.covariance()
        se = np.sqrt((C**2 + np.outer(np.diag(C), np.diag(C))) / n)
        # mixtures are not Gaussian: the Gaussian SE is a lower bound, so allow 8 of them
        assert np.all(np.abs(np.cov(X.T, bias=True) - C) < 8 * se + 1e-10), name


# ---- the protocol: every registered model, every hook, an independent route ---------------------
def test_every_concrete_model_is_registered_with_examples():
    import inspect

    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)
    concrete = {c for c in subclasses(st.models.DataModel) if not inspect.isabstract(c)
                and c.__module__.startswith("spectral_theory.")}
    assert concrete == set(st.models.MODELS)
    for cls in st.models.MODELS:
        assert "_examples" in cls.__dict__, f"{cls.__name__} needs its own _examples(rng)"


def test_a_model_missing_a_hook_fails_at_construction():
    class NoJvp(st.models.ScoreModel):
        dim = 3

        def denoise(self, x, sigma, alpha=1.0):
            return x

        def score(self, x, sigma, alpha=1.0):
            return -x

    with pytest.raises(TypeError, match="score_jvp"):
        NoJvp()

    class NoLaw(st.models.PosteriorModel):            # no _posterior, covariance_law, sample, ...
        pass
    with pytest.raises(TypeError, match="covariance_law"):
        NoLaw()

    class Minimal(NoJvp):                             # the score part alone is a complete ScoreModel
        def score_jvp(self, x, v, sigma, alpha=1.0):
            return -np.asarray(v)
    np.testing.assert_array_equal(Minimal().score_jacobian(np.zeros(3), 1.0), -np.eye(3))


def _fd_jvp(m, x, v, sigma, alpha, h=1e-5):
    """Central differences of the score along each row of v (one point x)."""
    return (m.score(x + h * v, sigma, alpha) - m.score(x - h * v, sigma, alpha)) / (2 * h)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sigma,alpha", NOISE)
def test_score_jvp_matches_dense_jacobian_and_finite_differences(name, sigma, alpha):
    m = MODELS[name]
    x = points(m, 3, sigma, alpha)
    rng = np.random.default_rng(4)
    J = m.score_jacobian(x, sigma, alpha)                                   # (B, D, D)
    V = rng.standard_normal((4, m.dim))                                     # a block at one point
    tol = dict(rtol=1e-9, atol=1e-9 / sigma**2)
    np.testing.assert_allclose(m.score_jvp(x[0], V, sigma, alpha), V @ J[0], **tol)
    np.testing.assert_allclose(m.score_jvp(x[0], V[0], sigma, alpha), J[0] @ V[0], **tol)
    W = rng.standard_normal(x.shape)                                        # one vector per point
    np.testing.assert_allclose(m.score_jvp(x, W, sigma, alpha), np.einsum("bde,be->bd", J, W), **tol)
    # the independent route: differences of the score along the vectors (truncation O(h^2))
    np.testing.assert_allclose(m.score_jvp(x[0], V, sigma, alpha), _fd_jvp(m, x[0], V, sigma, alpha),
                               rtol=1e-6, atol=1e-6 / sigma**2)
    # the generic ScoreModel.score_jacobian (JVPs on the identity) agrees with the closed form
    np.testing.assert_allclose(st.models.ScoreModel.score_jacobian(m, x, sigma, alpha), J, **tol)


def test_score_jvp_shapes_are_checked():
    m = MODELS["spiked"]
    with pytest.raises(SpectralTheoryError, match="`v`"):
        m.score_jvp(np.zeros(5), np.zeros(4), 1.0)
    with pytest.raises(SpectralTheoryError, match="`v`"):
        m.score_jvp(np.zeros((3, 5)), np.zeros((2, 5)), 1.0)


def _local_points(m):
    """(component, point) pairs where the model's covariance law describes its score exactly: any
    point for a Gaussian; a component's mean for a mixture whose posterior sits there on that
    component to machine precision; none otherwise (Empirical, overlapping mixtures)."""
    if isinstance(m, st.Gaussian):
        return [(None, m.mean_vector + 0.3)]
    if isinstance(m, st.GaussianMixture):
        pts = [(k, c.mean) for k, c in enumerate(m.components)]
        return [(k, x) for k, x in pts if m.posterior_weights(x, 1.0)[k] > 1 - 1e-15]
    return []


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("tau", [0.05, 2.0])
def test_jacobian_spectrum_is_the_law_of_tau_j(name, tau):
    m = MODELS[name]
    cases = _local_points(m)
    if not cases:
        pytest.skip("no point where the law is exact for this example")
    for k, x in cases:
        law = m.jacobian_spectrum(tau, component=k)
        if law.support():
            pytest.skip("a continuous (large-D) law; checked against sampled matrices in test_spectra.py")
        y = np.linalg.eigvalsh(tau * m.score_jacobian(x, np.sqrt(tau)))
        assert law.ks_distance(y, atol=1e-9) < 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_covariance_law_is_the_spectrum_of_the_covariance(name):
    m = MODELS[name]
    try:
        law = m.covariance_law()
    except SpectralTheoryError:
        pytest.skip("a local law only (mixture with differing components)")
    if law.support() or isinstance(m, st.GaussianMixture):
        pytest.skip("a D -> infinity law (test_spectra.py) or a mixture's local law (test above)")
    # exact atoms: the eigenvalues of the dense covariance (eigvalsh, not the model's own route)
    assert law.ks_distance(np.linalg.eigvalsh(m.covariance()), atol=1e-9) < 1e-12


@pytest.mark.parametrize("make", [
    lambda rng: st.LinearManifold(300, [(60, 1.0), (60, 9.0)], basis="orthonormal", rng=rng),
    lambda rng: st.SpikedCovariance(300, [20.0, 5.0], noise=1.0, rng=rng),
    lambda rng: st.Gaussian(np.zeros(300), np.diag(np.linspace(0.5, 3.0, 300))),
])
def test_fitted_covariance_law_against_sampled_covariance(make):
    rng = np.random.default_rng(8)
    m, N = make(rng), 600
    law = m.covariance_law(n_samples=N)
    X = m.sample(N, rng=rng)
    lam = np.linalg.eigvalsh(np.cov(X.T, bias=True))
    D = m.dim
    # DKW at delta = 1e-4 (conservative for repelling eigenvalues) plus O(1) outliers and edge
    # eigenvalues per bulk edge and spike
    n_special = 2 * len(law.support()) + sum(1 for x, w in law.atoms if x > 0) + 4
    assert law.ks_distance(lam) < np.sqrt(np.log(2 / 1e-4) / (2 * D)) + n_special / D


@settings(max_examples=40, deadline=None)
@given(dim=hst.integers(2, 6), rank=hst.integers(1, 6), seed=hst.integers(0, 2**31), sigma=hst.floats(0.2, 3.0),
       alpha=hst.floats(0.3, 1.0), mixture=hst.booleans())
def test_score_jacobian_and_jvp_against_finite_differences_over_random_covariances(dim, rank, seed, sigma, alpha,
                                                                                  mixture):
    rng = np.random.default_rng(seed)
    covs = []
    for _ in range(2 if mixture else 1):
        A = rng.standard_normal((dim, min(rank, dim)))
        covs.append(A @ A.T * rng.uniform(0.2, 3.0))                   # random PSD, possibly low rank
    means = rng.standard_normal((len(covs), dim))
    m = st.GaussianMixture(means, covs, weights=[0.3, 0.7]) if mixture else st.Gaussian(means[0], covs[0])
    x = points(m, 2, sigma, alpha, seed=seed % 1000)
    h = 1e-5 * sigma                                                   # the score's length scale is sigma
    fd = np.stack([(m.score(x + h * e, sigma, alpha) - m.score(x - h * e, sigma, alpha)) / (2 * h)
                   for e in np.eye(dim)], axis=2)
    J = m.score_jacobian(x, sigma, alpha)
    # central differences: truncation O(h^2 |third derivative|) and rounding O(eps |s| / h), both far below 1e-6
    # of the Jacobian's scale
    scale = np.abs(J).max() + np.abs(m.score(x, sigma, alpha)).max() / sigma
    np.testing.assert_allclose(J, fd, atol=1e-6 * scale)
    V = rng.standard_normal((3, dim))
    np.testing.assert_allclose(m.score_jvp(x[0], V, sigma, alpha), V @ J[0], atol=1e-10 * scale)


def test_a_sample_count_beyond_the_machines_memory_is_an_error_not_an_overcommitted_allocation():
    """n = 5.9e15 (an integral float, valid as a count) asked for petabytes: the fuzz run's shrinking then
    allocated tens of GiB and the OS killed the process; now every sample() names `n` and the memory."""
    g = st.Gaussian.from_samples(np.random.default_rng(0).standard_normal((50, 3)))
    for model in (g, st.Empirical(g.sample(10, rng=0)), st.MoLRG(12, [2, 3], rng=0),
                  st.LinearManifold(10, [(2, 1.0)], rng=0)):
        with pytest.raises(SpectralTheoryError, match=r"`n` = 5878387925578465: 5878387925578465 samples .* GiB"):
            model.sample(5878387925578465.0, rng=0)
        assert model.sample(3.0, rng=1).shape == (3, model.dim)


@pytest.mark.parametrize("make", [
    lambda: st.SpikedCovariance(2**50, [3.0], rng=0),                   # the fuzz drew ambient_dim = 7.3e8
    lambda: st.LinearManifold(2.0**50, [(2, 1.0)], rng=0),
    lambda: st.LinearManifold(2**40, [(2**20, 1.0)], basis="orthonormal", rng=0),
    lambda: st.MoLRG(2**50, [2, 3], rng=0),
    lambda: st.MoLRG(2**45, [2, 3], orthogonal=False, rng=0),
])
def test_an_ambient_dimension_beyond_the_machines_memory_is_refused_before_allocating(make):
    from conftest import refuses_allocation
    refuses_allocation(make, "ambient_dim")


def test_noisy_and_mixture_samples_count_their_temporaries():
    """noisy_sample holds x0, the noise, its scaling and x_t (4 D per sample); a mixture's sample the
    labels, the output and a component's draw: both refuse a count before allocating anything."""
    from conftest import refuses_allocation
    mix = st.GaussianMixture(np.zeros((2, 3)), np.stack([np.eye(3)] * 2))
    for model in (st.Gaussian(np.zeros(3), np.eye(3)), mix, st.MoLRG(12, [2, 3], rng=0), st.Empirical(np.eye(4))):
        assert "samples of" in refuses_allocation(lambda: model.noisy_sample(2**50, 0.5, rng=0), "n")
        refuses_allocation(lambda: model.sample(2**50, rng=0), "n")
        x0, xt = model.noisy_sample(5, 0.5, rng=0)
        assert x0.shape == xt.shape == (5, model.dim)


def test_the_memory_bound_follows_an_address_space_limit():
    """Under ``ulimit -v`` (RLIMIT_AS) the bound is half of that limit, not of the physical memory: 2 GiB
    of directions under a 3 GiB limit are refused (a MemoryError half-way otherwise), 0.3 GiB are not."""
    import os
    import resource
    import subprocess
    import sys
    code = ("import spectral_theory as st\n"
            "st.SpikedCovariance(10**7, [1.0], rng=0)\n"                # 4 x 80 MB: accepted
            "try:\n    st.SpikedCovariance(7 * 10**7, [1.0], rng=0)\n"   # 4 x 560 MB = 2.1 GiB > 1.5 GiB
            "except st.SpectralTheoryError as e:\n    print(e)\n")
    limit = 3 * 2**30
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"),
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
    assert out.returncode == 0, out.stderr
    assert "`ambient_dim` = 70000000" in out.stdout and "of the 3 GiB this process may use" in out.stdout, out.stdout


def test_dense_jacobians_beyond_the_machines_memory_are_refused_before_allocating():
    """score_jacobian returns (B, D, D): 2^13 points of dimension 2^12 ask for 2^37 entries (1 TiB) from a
    256 MiB batch (a strided view here: no memory); every route refuses, naming `x`."""
    from conftest import refuses_allocation
    D = 2**12
    x = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(2**13, D), strides=(0, 0))
    g = st.SpikedCovariance(D, [1.0], rng=0)
    for model in (g, st.MoLRG(D, [2, 3], rng=0), st.Empirical(np.eye(D)[:4])):
        refuses_allocation(lambda: model.score_jacobian(x, 0.5), "x", limit=2**26)
    # the generic route (score_jvp on the identity), as a trained network takes it
    refuses_allocation(lambda: st.models.ScoreModel.score_jacobian(g, x, 0.5), "x", limit=2**26)


def test_molrg_orthogonal_subspaces_that_do_not_fit_name_both_arguments():
    """MoLRG(ambient_dim=2, [2, 2]) (the slow fuzz, seed 162): the error named neither argument in backticks."""
    with pytest.raises(SpectralTheoryError, match=r"sum\(`subspace_dims`\) = 4 <= `ambient_dim` = 2"):
        st.MoLRG(2.0, [2, 2], rng=0)
