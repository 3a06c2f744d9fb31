"""SLQ and KPM spectral densities against dense eigvalsh, each other and the theory."""
import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import ConvergenceError, SpectralTheoryError
from validation.jacobians import kpm_density, model_operator, slq_density
from validation.spectral_estimates import FIRST_CHECK, _probes

Z = 4.0          # standard errors allowed: a two-sided 4-sigma band (false alarm ~6e-5 per check)


def _dense(J):
    return lambda V: V @ J                       # J symmetric: row block times J = (J V^T)^T


def _families():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((300, 120))
    return {
        "linear-manifold-gaussian": (st.LinearManifold(600, [(60, 4.0), (60, 0.25)], rng=0), 0.3),
        "linear-manifold-orthonormal": (st.LinearManifold(500, [(40, 4.0), (40, 0.25)], basis="orthonormal",
                                                          rng=0), 0.3),
        "gaussian": (st.Gaussian(np.zeros(300), A @ A.T / 120), 1.0),
        "spiked": (st.SpikedCovariance(500, [20.0, 8.0, 3.0], noise=1.0, rng=0), 0.7),
        "empirical": (st.Empirical(rng.standard_normal((150, 300))), 4.0),
        "molrg": (st.MoLRG(400, [20, 20], noise=0.05, rng=0), 0.5),
    }


FAMILIES = _families()


def _jacobian(name):
    model, sigma = FAMILIES[name]
    x = model.noisy_sample(1, sigma, rng=3)[1][0]
    J = model.score_jacobian(x, sigma)
    return model, sigma, x, 0.5 * (J + J.T)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_slq_matches_dense_eigvalsh_within_its_error_bars(name):
    model, sigma, x, J = _jacobian(name)
    lam = np.linalg.eigvalsh(J)
    est = slq_density(model_operator(model, x, sigma), J.shape[0], n_probes=10, n_steps=40, rng=1)
    ks = est.ks_distance(lam)
    assert ks.value <= Z * ks.stderr + ks.resolution
    for p in (1, 2, 3):                           # Gauss quadrature is exact for p < 2m: probe noise only
        exact = np.mean(lam ** p)
        assert abs(est.moment(p) - exact) <= Z * est.moment_stderr(p) + 1e-12 * abs(exact)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_kpm_matches_dense_eigvalsh_within_its_error_bars(name):
    model, sigma, x, J = _jacobian(name)
    lam = np.linalg.eigvalsh(J)
    est = kpm_density(model_operator(model, x, sigma), J.shape[0], n_probes=10, n_moments=120, rng=2)
    assert est.bounds[0] <= lam[0] and lam[-1] <= est.bounds[1]
    ks = est.ks_distance(lam)                     # both sides smoothed by the same Jackson kernel
    assert ks.value <= Z * ks.stderr + 1e-9
    for p in (1, 2, 3):                           # exact from the Chebyshev moments (p < N)
        exact = np.mean(lam ** p)
        assert abs(est.moment(p) - exact) <= Z * est.moment_stderr(p) + 1e-10 * max(1, abs(exact))


def test_slq_and_kpm_agree_within_their_bars():
    *_, J = _jacobian("linear-manifold-gaussian")
    slq = slq_density(_dense(J), J.shape[0], n_probes=12, n_steps=50, rng=3)
    kpm = kpm_density(_dense(J), J.shape[0], n_probes=12, n_moments=200, rng=4)
    for p in (1, 2, 3, 4):
        bar = Z * np.hypot(slq.moment_stderr(p), kpm.moment_stderr(p))
        assert abs(slq.moment(p) - kpm.moment(p)) <= bar
    # cdfs inside the bulks, away from the atom and the edges by several resolutions
    (lo1, hi1), (lo2, hi2) = slq.support()
    pad = 4 * kpm.resolution
    x = np.concatenate([np.linspace(lo1 + pad, hi1 - pad, 5), np.linspace(lo2 + pad, hi2 - pad, 5)])
    x = x[np.isfinite(x) & (np.diff(np.r_[-np.inf, x]) > 0)]
    bar = Z * np.hypot(slq.cdf_stderr(x), kpm.cdf_stderr(x)) + slq.cdf_resolution
    assert np.all(np.abs(slq.cdf(x) - kpm.cdf(x)) <= bar)


def test_slq_bulk_edges_and_atom_within_the_stated_resolution():
    model, sigma, x, J = _jacobian("linear-manifold-gaussian")
    lam = np.linalg.eigvalsh(J)
    est = slq_density(_dense(J), J.shape[0], n_probes=6, n_steps=60, rng=4)
    (loc, mass), = est.atoms                       # -1/sigma^2 with multiplicity D - m
    assert loc == pytest.approx(-1 / sigma**2, rel=1e-9)
    assert abs(mass - (1 - 120 / 600)) <= Z * est.cdf_stderr(loc + 1e-8)   # the atom is the lowest point
    bulk = lam[lam > -1 / sigma**2 + 1e-6]
    gap = np.argmax(np.diff(bulk))
    edges = [bulk[0], bulk[gap], bulk[gap + 1], bulk[-1]]
    found = [e for b in est.support() for e in b]
    assert len(found) == 4
    np.testing.assert_allclose(found, edges, atol=est.node_spacing)


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_cms_bound_holds_for_each_probe(seed):
    """The quadrature cdf of a probe is within the local CMS bound of the probe's exact cdf."""
    *_, J = _jacobian("linear-manifold-gaussian")
    lam, U = np.linalg.eigh(J)
    est = slq_density(_dense(J), J.shape[0], n_probes=1, n_steps=25, rng=seed)
    q = _probes("rademacher", 1, J.shape[0], seed)[0]
    mass = (q @ U) ** 2 / J.shape[0]                                      # the probe's exact measure
    jumps = np.unique(np.concatenate([lam, est.nodes.ravel()]))
    jumps = jumps[np.r_[True, np.diff(jumps) > 1e-9]]       # a degenerate eigenvalue is one jump
    x = np.r_[0.5 * (jumps[1:] + jumps[:-1]), jumps[-1] + 1]  # both cdfs are constant in between
    exact = (mass[None, :] * (lam[None, :] <= x[:, None])).sum(-1)
    gap = np.abs(est.cdf(x) - exact)
    assert np.all(gap <= est.cdf_bound(x) + 1e-9)
    assert est.cdf_bound(x).max() <= est.cdf_resolution + 1e-15
    assert gap.max() > 0.2 * est.cdf_resolution                          # and the bound is not vacuous


def test_slq_distribution_interface():
    *_, J = _jacobian("spiked")
    est = slq_density(_dense(J), J.shape[0], n_probes=4, n_steps=30, probes="gaussian", rng=0)
    q = np.array([0.01, 0.5, 0.99])
    assert np.all(est.cdf(est.quantile(q)) >= q)
    grid = np.linspace(-3, 1, 20001)
    assert np.trapezoid(est.pdf(grid, bandwidth=0.05), grid) == pytest.approx(1.0, abs=1e-6)
    kpm = kpm_density(_dense(J), J.shape[0], n_probes=4, n_moments=64, rng=0)
    a, b = kpm.bounds
    grid = np.linspace(a, b, 200001)[1:-1]
    assert np.trapezoid(kpm.pdf(grid), grid) == pytest.approx(1.0, abs=2e-3)
    np.testing.assert_allclose(kpm.cdf(kpm.quantile(q)), q, atol=1e-9)
    assert kpm.cdf(b) == pytest.approx(1.0) and kpm.cdf(a) == pytest.approx(0.0, abs=1e-12)


def test_bad_input_names_the_argument():
    J = np.diag(np.arange(1.0, 51.0))
    with pytest.raises(SpectralTheoryError, match="`matvec`.*shape"):
        slq_density(lambda V: V[:, :-1], 50, n_probes=2, n_steps=5)
    with pytest.raises(SpectralTheoryError, match="`matvec` returned NaN"):
        slq_density(lambda V: V * np.nan, 50, n_probes=2, n_steps=5)
    with pytest.raises(SpectralTheoryError, match="`matvec` returned NaN"):
        kpm_density(lambda V: V * np.nan, 50, n_probes=2, n_moments=10, bounds=(0, 1))
    A = J + np.triu(np.ones((50, 50)), 1)          # not symmetric
    with pytest.raises(SpectralTheoryError, match="`matvec` is not symmetric"):
        slq_density(lambda V: V @ A.T, 50, n_probes=2, n_steps=10, rng=0)
    with pytest.raises(SpectralTheoryError, match="`matvec` is not symmetric"):
        kpm_density(lambda V: V @ A.T, 50, n_probes=2, n_moments=20, bounds=(-60, 60), rng=0)
    with pytest.raises(SpectralTheoryError, match="`probes`"):
        slq_density(_dense(J), 50, n_probes=2, n_steps=5, probes="uniform")
    with pytest.raises(SpectralTheoryError, match="`n_steps`"):
        slq_density(_dense(J), 50, n_probes=2, n_steps=51)
    with pytest.raises(ConvergenceError, match="bounds"):
        kpm_density(_dense(J), 50, n_probes=2, n_moments=40, bounds=(0.0, 25.0), rng=0)


def test_theory_at_image_scale_3072():
    """D = 3,072 (CIFAR): tau J of a two-block linear manifold with exact products against the law."""
    D, tau = 3072, 0.1
    model = st.LinearManifold(D, [(D // 20, 4.0), (D // 20, 0.25)], rng=0)
    matvec = tau * model_operator(model, np.zeros(D), np.sqrt(tau))    # exact products, O(D m)
    law = st.jacobian_spectrum(model, tau)
    est = slq_density(matvec, D, n_probes=6, n_steps=40, rng=0)
    ks = est.ks_distance(law)
    finite_size = (2 + np.log(D)) / D               # the law is the D -> infinity limit
    assert ks.value <= Z * ks.stderr + ks.resolution + finite_size
    assert ks.value <= 0.01
    assert 2 * ks.stderr + ks.resolution <= est.ks_bar(2.0)       # the law-free bar bounds the law's


def test_copies_of_the_atom_keep_its_exact_mass_at_every_step_count():
    """Finite-precision Lanczos finds copies of the (D - m)-fold eigenvalue -1 of tau J that converge
    onto it over a few steps (D = 3,072: steps 24-25); grouped with it, the atom keeps its exact mass
    and the resolution falls smoothly with the steps."""
    D, tau = 3072, 0.1
    model = st.LinearManifold(D, [(D // 20, 4.0), (D // 20, 0.25)], rng=0)
    matvec = tau * model_operator(model, np.zeros(D), np.sqrt(tau))
    res = []
    for n_steps in range(20, 31):
        est = slq_density(matvec, D, n_probes=8, n_steps=n_steps, rng=1)
        (loc, mass), = [a for a in est.atoms if abs(a[0] + 1) < 1e-9]
        assert mass == pytest.approx(0.9, abs=Z * est.cdf_stderr(-1.0))
        res.append(est.cdf_resolution)
        # the narrow upper bulk is a bulk at every step count, even with a single certified node (lo = hi):
        # only the -1 atom is a point mass; every bulk's edges are within their resolution of the two blocks'
        # (lower of the first block it covers, upper of the last: an unresolved gap joins them)
        assert len(est.atoms) == 1
        lam = np.sort(-tau / (model.eigenvalues + tau))
        los, his = (lam[0], lam[D // 20]), (lam[D // 20 - 1], lam[-1])
        bulks = est.bulks()
        assert 1 <= len(bulks) <= 2 and bulks[-1].hi + bulks[-1].hi_resolution >= his[1]
        for b in bulks:
            assert min(abs(b.lo - e) for e in los) <= b.lo_resolution
            assert min(abs(b.hi - e) for e in his) <= b.hi_resolution
    assert max(res) < 0.01 and res[-1] < res[0]


def _replayed_tol_rule(matvec, D, k, tol, rng, z=2.0):
    """The documented schedule of ``slq_density(tol=)`` replayed with fixed step counts (same probes,
    so the same tridiagonals): the checked steps and the estimate at the last."""
    s, checked = FIRST_CHECK, []
    while True:
        est = slq_density(matvec, D, n_probes=k, n_steps=s, rng=rng)
        checked.append(s)
        if est.ks_bar(z) <= tol:
            return checked, est
        spread, res = z * est.cdf_stderr_max, est.cdf_resolution
        s = max(s + 1, int(np.ceil(s * res / (tol - spread))))


@pytest.mark.parametrize("name", ["linear-manifold-gaussian", "gaussian"])
def test_tol_rule_stops_where_it_says_and_its_bar_covers_dense_eigvalsh(name):
    model, sigma, x, J = _jacobian(name)
    D, tol = J.shape[0], 0.03
    matvec = model_operator(model, x, sigma)
    est = slq_density(matvec, D, n_probes=16, n_steps=120, tol=tol, rng=2)
    checked, replay = _replayed_tol_rule(matvec, D, 16, tol, 2)
    assert est.n_steps == checked[-1] and est.matvecs == 16 * est.n_steps
    assert est.ks_bar() == replay.ks_bar() <= tol
    ks = est.ks_distance(np.linalg.eigvalsh(J))
    assert 2 * ks.stderr + ks.resolution <= est.ks_bar()
    assert ks.value <= Z * ks.stderr + ks.resolution
    if name == "linear-manifold-gaussian":
        assert len(checked) >= 2                   # the step prediction is exercised


def test_tol_rule_bad_input_and_unreachable_bars():
    *_, J = _jacobian("linear-manifold-gaussian")
    D = J.shape[0]
    for kwargs, match in (({"tol": 0.0}, "`tol`"), ({"tol": -1.0}, "`tol`"), ({"tol": 0.1, "z": 0.0}, "`z`"),
                          ({"tol": 0.1, "n_probes": 1}, "`n_probes`")):
        with pytest.raises(SpectralTheoryError, match=match):
            slq_density(_dense(J), D, **{"n_probes": 4, "n_steps": 20, **kwargs})
    *_, J4 = _jacobian("spiked")                    # 4 distinct eigenvalues: exhausted before any check
    est = slq_density(_dense(J4), J4.shape[0], n_probes=16, n_steps=40, tol=0.03, rng=0)
    assert est.matvecs < 16 * FIRST_CHECK and est.ks_bar() <= 0.03
    with pytest.raises(ConvergenceError, match="raise n_steps"):
        slq_density(_dense(J), D, n_probes=16, n_steps=8, tol=0.03, rng=0)
    with pytest.raises(ConvergenceError, match="raise n_probes"):       # 2 se alone ~ 0.04 with 2 probes
        slq_density(_dense(J), D, n_probes=2, n_steps=100, tol=0.01, rng=0)


@pytest.mark.slow
def test_theory_at_image_scale_12288():
    D, tau = 12288, 0.1
    model = st.LinearManifold(D, [(D // 20, 4.0), (D // 20, 0.25)], rng=0)
    matvec = tau * model_operator(model, np.zeros(D), np.sqrt(tau))
    law = st.jacobian_spectrum(model, tau)
    for est in (slq_density(matvec, D, n_probes=8, n_steps=60, rng=0),
                kpm_density(matvec, D, n_probes=8, n_moments=200, rng=0)):
        ks = est.ks_distance(law)
        assert ks.value <= Z * ks.stderr + ks.resolution + (2 + np.log(D)) / D


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("n_steps", [10, 20, 40])
def test_markov_krein_bracket_holds_for_each_probe(name, n_steps):
    """Per probe, the bracket-midpoint cdf is within its pointwise bound of the probe's exact cdf (dense
    eigh), for every family and at few steps; and the bound is not loose by more than a few x."""
    *_, J = _jacobian(name)
    lam, U = np.linalg.eigh(J)
    D = J.shape[0]
    ratios = []
    for seed in range(3):
        est = slq_density(_dense(J), D, n_probes=1, n_steps=n_steps, rng=seed)
        q = _probes("rademacher", 1, D, seed)[0]
        mass = (q @ U) ** 2 / D
        jumps = np.unique(np.concatenate([lam, est.nodes.ravel()]))
        jumps = jumps[np.r_[True, np.diff(jumps) > 1e-9]]      # a degenerate eigenvalue is one jump
        x = np.r_[0.5 * (jumps[1:] + jumps[:-1]), jumps[-1] + 1]
        exact = (mass[None, :] * (lam[None, :] <= x[:, None])).sum(-1)
        gap = np.abs(est.cdf(x) - exact)
        # 1e-5: a converged node's weight is its eigenvalue's mass to ~ residual/gap (see `converged`)
        assert np.all(gap <= est.cdf_bound(x) + 1e-5)
        if est.cdf_resolution > 1e-3:
            ratios.append(est.cdf_resolution / gap.max())
    if ratios and name.startswith(("gaussian", "linear")) and n_steps >= 20:
        assert np.mean(ratios) <= 4.0


@pytest.mark.parametrize("n_steps", [12, 16, 20, 30])
def test_bulk_edges_within_their_resolution_and_gaps_only_where_resolved(n_steps):
    """At few Lanczos steps each reported edge is within its stated resolution of the dense spectrum's
    edge, and a reported gap, shrunk by the resolutions of its edges, holds no eigenvalue."""
    model, sigma, x, J = _jacobian("linear-manifold-gaussian")
    lam = np.linalg.eigvalsh(J)
    bulk = lam[lam > -1 / sigma**2 + 1e-6]
    g = np.argmax(np.diff(bulk))
    true_edges = np.array([bulk[0], bulk[g], bulk[g + 1], bulk[-1]])
    for seed in range(3):
        est = slq_density(_dense(J), J.shape[0], n_probes=6, n_steps=n_steps, rng=seed)
        found = est.bulks()
        assert found
        for b in found:
            for e, r in ((b.lo, b.lo_resolution), (b.hi, b.hi_resolution)):
                assert np.min(np.abs(true_edges - e)) <= r
        for left, right in zip(found[:-1], found[1:]):
            inside = (lam > left.hi + left.hi_resolution) & (lam < right.lo - right.lo_resolution)
            assert not inside.any()
        assert est.support() == [(b.lo, b.hi) for b in found]
