"""Spectra of tau*J: laws from spectral_theory.spectra against the models' exact Jacobians
(eigendecomposition of model.score_jacobian) and against closed forms."""
import numpy as np
import pytest
from scipy.stats import kstwo

import spectral_theory as st
from spectral_theory import SpectralTheoryError
from spectral_theory.collapse import empirical_collapse_parameters
from spectral_theory.rmt import TW1_MEAN, TW1_STD, MarchenkoPastur

# An edge estimate from one matrix is within 6 Tracy-Widom (GOE) standard deviations of the limit edge
# plus the mean shift |E TW1|, except with probability < 1e-6.
TW_BOUND = abs(TW1_MEAN) + 6 * TW1_STD


def tau_j_eigenvalues(model, tau, x=None):
    x = np.zeros(model.dim) if x is None else x
    return np.linalg.eigvalsh(tau * model.score_jacobian(x, np.sqrt(tau)))


def ks_tangent(law, y, atom_at=-1.0):
    """KS distance of the eigenvalues away from the atom to the law conditioned on its bulks, and their count."""
    return law.ks_distance(y, exclude_atom=atom_at, atol=1e-8), int(np.count_nonzero(np.abs(y - atom_at) > 1e-8))


def edge_scale(law, edge, side, D):
    """Edge fluctuation scale (K D)^(-2/3) with rho(x) ~ (K/pi) sqrt|edge - x| near the edge."""
    (lo, hi), = [b for b in law.support() if edge in b]
    h = 1e-6 * (hi - lo)
    x = edge - h if side == "upper" else edge + h
    K = np.pi * law.pdf(x) / np.sqrt(h)
    return (K * D) ** (-2 / 3)


# ---- exact atoms -----------------------------------------------------------------------------
@pytest.mark.parametrize("tau", [0.05, 1.0, 30.0])
def test_orthonormal_manifold_atoms_are_exact(tau):
    m = st.LinearManifold(30, [(4, 2.0), (3, 0.5)], basis="orthonormal", rng=1)
    law = st.jacobian_spectrum(m, tau)
    ev = tau_j_eigenvalues(m, tau)
    atoms = np.repeat([x for x, _ in law.atoms], [int(round(w * 30)) for _, w in law.atoms])
    np.testing.assert_allclose(np.sort(ev), atoms, rtol=0, atol=1e-12)
    assert law.support() == []


def test_gaussian_and_spiked_atoms_are_exact():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((12, 5))
    models = [st.Gaussian(rng.standard_normal(12), A @ A.T),
              st.SpikedCovariance(12, [5.0, 1.5, 0.7], noise=0.4, rng=3)]
    for model in models:
        for tau in (0.1, 2.0):
            law = st.jacobian_spectrum(model, tau)
            ev = tau_j_eigenvalues(model, tau)
            atoms = np.sort(np.concatenate([np.full(int(round(w * 12)), x) for x, w in law.atoms]))
            np.testing.assert_allclose(np.sort(ev), atoms, atol=1e-12)


# ---- Silverstein law of a Gaussian-basis manifold --------------------------------------------
@pytest.mark.parametrize("blocks", [[(60, 1.0)], [(40, 1.0), (40, 16.0)]])
@pytest.mark.parametrize("tau", [0.1, 3.0])
def test_gaussian_basis_manifold_against_sampled_matrix(blocks, tau):
    D = 400
    model = st.LinearManifold(D, blocks, rng=11)
    law = st.jacobian_spectrum(model, tau)
    y = tau_j_eigenvalues(model, tau)
    m = sum(b[0] for b in blocks)
    # the atom at -1 carries exactly D - m eigenvalues
    assert np.count_nonzero(y < -1 + 1e-8) == D - m
    assert law.atoms[0][0] == -1.0 and abs(law.atoms[0][1] - (1 - m / D)) < 1e-12
    ks, n = ks_tangent(law, y)
    assert ks < kstwo.isf(1e-4, n), ks           # iid bound: conservative for repelling eigenvalues
    # each bulk holds its block's eigenvalues; its edges within Tracy-Widom scales
    lam = np.sort(np.linalg.eigvalsh(model.covariance()))[D - m:]
    C = st.covariance_spectrum(model)
    start = 0
    for (lo, hi), (mk, _) in zip(C.support(), sorted(blocks, key=lambda b: b[1])):
        part = lam[start:start + mk]
        start += mk
        assert abs(part[-1] - hi) < TW_BOUND * edge_scale(C, hi, "upper", D)
        assert abs(part[0] - lo) < TW_BOUND * edge_scale(C, lo, "lower", D)
    # the gaps of the sampled tau J spectrum sit where predicted, with the predicted counts below
    for g in st.spectral_gaps(model, tau):
        below = np.count_nonzero(y <= g.location)
        assert below == round(g.n_below)


def test_pushforward_matches_change_of_variables():
    model = st.LinearManifold(200, [(30, 1.0), (30, 9.0)], rng=0)
    C = st.covariance_spectrum(model)
    tau = 0.7
    J = st.jacobian_spectrum(model, tau)
    for lo, hi in C.support():
        lam = np.linspace(lo, hi, 13)[1:-1]
        y = -tau / (lam + tau)
        np.testing.assert_allclose(J.pdf(y), C.pdf(lam) * (lam + tau) ** 2 / tau, rtol=1e-12)
    assert abs(J.integrated_mass() - 1) < 1e-10


def test_pushforward_trick_matches_direct_density():
    model = st.LinearManifold(300, [(30, 1.0), (30, 6.0), (30, 40.0)], rng=4)
    spectra = st.jacobian_spectra(model)
    assert spectra.interpolation_error < 1e-8
    taus = np.array([0.03, 0.8, 25.0])
    y = np.linspace(-0.999, -0.001, 501)
    fast = spectra.density(y, taus)
    for i, tau in enumerate(taus):
        direct = st.jacobian_spectrum(model, tau).pdf(y)
        np.testing.assert_allclose(fast[i], direct, atol=1e-8 * direct.max(), rtol=0)
    edges = spectra.edges(taus)
    np.testing.assert_allclose(edges[1].ravel(), np.ravel(st.jacobian_spectrum(model, 0.8).support()))


# ---- Gaussian score fitted to N samples ------------------------------------------------------
@pytest.mark.parametrize("n_samples", [500, 60])       # N > m and N < m
def test_fitted_gaussian_is_marchenko_pastur(n_samples):
    D, m, v, tau = 300, 100, 2.0, 0.5
    model = st.LinearManifold(D, [(m, v)], basis="orthonormal", rng=5)
    law = st.jacobian_spectrum(model, tau, n_samples=n_samples)
    # closed form: MP on the m tangent directions with ratio m/(N-1) and scale v (N-1)/N
    N = n_samples
    mp = MarchenkoPastur(m / (N - 1), v * (N - 1) / N)
    (lo, hi), = law.support()
    np.testing.assert_allclose([lo, hi], sorted([-tau / (mp.lower_edge + tau), -tau / (mp.upper_edge + tau)]),
                               rtol=1e-9)
    seen = min(m, N - 1)
    assert abs(law.atoms[0][1] - (1 - seen / D)) < 1e-10
    # sampled: the Gaussian fitted to N samples, its exact Jacobian
    fitted = st.Gaussian.from_samples(model.sample(N, rng=6))
    y = tau_j_eigenvalues(fitted, tau, fitted.mean_vector)
    assert np.count_nonzero(y > -1 + 1e-8) == seen
    ks, n = ks_tangent(law, y)
    assert ks < kstwo.isf(1e-4, n), ks


def test_fitted_gaussian_basis_manifold_uses_instance_eigenvalues():
    model = st.LinearManifold(150, [(20, 1.0), (20, 8.0)], rng=7)
    law = st.covariance_spectrum(model, n_samples=10_000_000)   # N -> infinity: the population
    lam = np.sort(model.eigenvalues)
    for (lo, hi) in law.support():
        inside = lam[(lam > lo - 0.05) & (lam < hi + 0.05)]
        assert inside.size > 0
    assert abs(law.moment(1) - lam.sum() / 150) < 1e-6 * lam.sum() / 150 + 1e-9


# ---- local pictures --------------------------------------------------------------------------
def test_molrg_near_one_component():
    model = st.MoLRG(40, [3, 5], noise=0.01, rng=8)
    tau = 0.05
    law = st.jacobian_spectrum(model, tau, component=1)
    x = model.bases[1] @ np.array([2.0, -1.0, 1.5, 0.5, 1.0])        # on subspace 1
    w = model.posterior_weights(x, np.sqrt(tau))
    assert w[1] > 1 - 1e-12
    y = tau_j_eigenvalues(model, tau, x)
    atoms = np.sort(np.concatenate([np.full(int(round(wt * 40)), xx) for xx, wt in law.atoms]))
    np.testing.assert_allclose(np.sort(y), atoms, atol=1e-9)
    with pytest.raises(SpectralTheoryError, match="component"):
        st.jacobian_spectrum(model, tau)


def test_empirical_collapse_and_gaussian_regimes():
    rng = np.random.default_rng(9)
    base = st.LinearManifold(30, [(4, 1.0)], basis="orthonormal", rng=rng)
    emp = st.Empirical(base.sample(50, rng=rng))
    P, d, v = empirical_collapse_parameters(emp)
    assert (P, d) == (50, 4)
    tc = st.collapse_tau(P, d, v)
    # small tau: at a training point the spectrum is all -1
    small = tc / 100
    law = st.jacobian_spectrum(emp, small)
    assert law.atoms == [(-1.0, 1.0)]
    y = tau_j_eigenvalues(emp, small, emp.points[3])
    np.testing.assert_allclose(y, -1.0, atol=1e-9)
    # large tau: the Gaussian with the training covariance, up to O(spread / tau)
    errs = []
    for big in (1e3 * tc, 1e4 * tc):
        law = st.jacobian_spectrum(emp, big)
        y = np.sort(tau_j_eigenvalues(emp, big, emp.mean_vector))
        atoms = np.sort(np.concatenate([np.full(int(round(w * 30)), x) for x, w in law.atoms]))
        errs.append(np.max(np.abs(y - atoms)))
    assert errs[1] < errs[0] / 5                   # the correction decays like 1/tau (ratio 10)
    with pytest.raises(SpectralTheoryError, match="crossover"):
        st.jacobian_spectrum(emp, tc)


# ---- bad input -------------------------------------------------------------------------------
def test_bad_input():
    model = st.LinearManifold(20, [(3, 1.0)], rng=0)
    with pytest.raises(SpectralTheoryError, match="tau"):
        st.jacobian_spectrum(model, -1.0)
    with pytest.raises(SpectralTheoryError, match="n_samples"):
        st.jacobian_spectrum(model, 1.0, n_samples=1)
    mix = st.GaussianMixture(np.zeros((2, 3)), np.stack([np.eye(3), np.diag([4.0, 1.0, 0.0])]))
    with pytest.raises(SpectralTheoryError, match="GaussianMixture.*component"):
        st.jacobian_spectrum(mix, 1.0)               # components with different spectra: which one?
    with pytest.raises(SpectralTheoryError, match="n_samples"):
        st.jacobian_spectrum(mix, 1.0, n_samples=10, component=0)
    # near component 1 the local law is that of C_1 = diag(4, 1, 0), pushed forward
    np.testing.assert_allclose([x for x, _ in st.jacobian_spectrum(mix, 1.0, component=1).atoms], [-1.0, -0.5, -0.2])
    with pytest.raises(SpectralTheoryError, match="n_samples"):
        st.jacobian_spectrum(st.Empirical(np.eye(3)), 1.0, n_samples=5)
    with pytest.raises(SpectralTheoryError, match="weights"):
        st.rmt.AtomicLaw([0.0, 1.0], [0.3, 0.3])
    spectra = st.jacobian_spectra(model)
    with pytest.raises(SpectralTheoryError, match="y"):
        spectra.density([0.5], [1.0])
