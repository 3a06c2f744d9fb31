"""Gaps of tau*J, phase boundaries, dimension estimation, collapse and speciation times; each checked
against an independent route (the pushforward law's own support, sampled Jacobians, the models' exact
scores, direct root finding, the schedules' forward maps)."""
import numpy as np
import pytest
from scipy.optimize import brentq

import spectral_theory as st
from spectral_theory import SpectralTheoryError
from spectral_theory.phase_diagram import CONSOLIDATION, COVERAGE, TRIVIAL

MODEL = st.LinearManifold(300, [(30, 1.0), (30, 8.0), (30, 60.0)], rng=3)


def test_gaps_are_the_mapped_gaps_of_the_law():
    for tau in (0.05, 2.0, 40.0):
        law = st.jacobian_spectrum(MODEL, tau)
        gaps = st.spectral_gaps(MODEL, tau)
        assert [g.kind for g in gaps] == ["manifold", "intermediate", "intermediate"]
        for g, h in zip(gaps, law.gaps()):
            assert g.lo == pytest.approx(h.lo, abs=1e-14) and g.hi == pytest.approx(h.hi, abs=1e-14)
            assert g.n_below == pytest.approx(h.mass_below * 300, abs=1e-9)
        assert gaps[0].width == pytest.approx(st.manifold_gap_profile(gaps[0].b, tau), rel=1e-13)
        for g in gaps[1:]:
            assert g.width == pytest.approx(st.gap_profile(g.a, g.b, tau), rel=1e-12)
        assert [round(g.n_below) for g in gaps] == [210, 240, 270]


def test_profiles_peaks_and_windows():
    taus = np.geomspace(1e-3, 1e3, 4001)
    prof = st.gap_profiles(MODEL, taus)
    for i, g in enumerate(prof.gaps):
        if g.kind == "intermediate":
            tmax, gmax = g.peak()
            j = np.argmax(prof.widths[i])
            assert taus[j] == pytest.approx(tmax, rel=5e-3)
            assert prof.widths[i, j] == pytest.approx(gmax, rel=1e-5)
        lo, hi = g.window(0.1)
        for t in (lo, hi):
            if t > 0:                                 # the gap is exactly the threshold at the ends
                w = st.spectral_gaps(MODEL, t)[i].width
                assert w == pytest.approx(0.1, rel=1e-10)
    assert st.spectral_gaps(MODEL, 1.0)[1].window(0.99) is None


def test_phase_boundaries():
    ph = st.phases(MODEL, threshold=0.1)
    law_top = st.jacobian_spectrum(MODEL, ph.tau_trivial)
    top = max(hi for _, hi in law_top.support())
    assert top == pytest.approx(-(1 - 0.1), rel=1e-12)        # spectrum leaves -1 by Delta
    law_low = st.jacobian_spectrum(MODEL, ph.tau_consolidation)
    low = min(lo for lo, _ in law_low.support())
    assert low == pytest.approx(-0.1, rel=1e-12)              # all tangent eigenvalues within Delta of 0
    assert st.manifold_gap(MODEL, ph.tau_manifold_gap).width == pytest.approx(0.1, rel=1e-12)
    assert ph.phase(2 * ph.tau_trivial) == TRIVIAL
    assert ph.phase(np.sqrt(ph.tau_trivial * ph.tau_consolidation)) == COVERAGE
    assert ph.phase(ph.tau_consolidation / 2) == CONSOLIDATION
    # higher-variance subspaces separate first: the gap above the middle bulk opens before the lower one
    assert [round(s.n_below) for s in ph.separations] == [270, 240]
    assert ph.tau_speciation == pytest.approx(MODEL.eigenvalues.max())


@pytest.mark.parametrize("schedule", [st.VE(0.002, 80.0), st.VP(0.1, 20.0), st.OU(10.0), st.EDM(0.002, 80, 7)])
def test_phases_in_schedule_time(schedule):
    ph = st.phases(MODEL, threshold=0.1)
    times = ph.in_time(schedule)
    for tau, t in [(ph.tau_trivial, times.t_trivial), (ph.tau_consolidation, times.t_consolidation),
                   (ph.tau_manifold_gap, times.t_manifold_gap), (ph.tau_speciation, times.t_speciation)]:
        if np.isfinite(t):
            assert float(schedule.tau(t)) == pytest.approx(tau, rel=1e-8)
        else:
            lo, hi = float(schedule.tau(schedule.t_min)), float(schedule.tau(schedule.t_max))
            assert not lo <= tau <= hi


def test_collapse_tau_solves_the_annealed_condition():
    for P, d, v in [(100, 5, 1.0), (5000, 20, 2.5), (3, 1, 0.1)]:
        # posterior weight of the true point equals the annealed weight of all others:
        # log P + (d/2) log(tau/(tau + v)) = 0
        root = brentq(lambda t: np.log(P) + 0.5 * d * np.log(t / (t + v)), 1e-12, 1e12, xtol=1e-14, rtol=1e-14)
        assert st.collapse_tau(P, d, v) == pytest.approx(root, rel=1e-10)
    # OU: Biroli et al.'s t_C = 1/2 log(1 + sigma^2/(P^{2/d} - 1))
    ou = st.OU(20.0)
    P, d, v = 1000, 10, 1.0
    assert st.collapse_time(ou, P, d, v) == pytest.approx(0.5 * np.log1p(v / (P ** (2 / d) - 1)), rel=1e-10)
    with pytest.raises(SpectralTheoryError, match="n_points"):
        st.collapse_tau(1, 3)


def test_speciation_is_the_two_point_instability():
    a = 1.7
    two = st.Empirical(np.array([[a, 0.0], [-a, 0.0]]))
    tau_s = st.speciation_tau(two)
    assert tau_s == pytest.approx(a**2, rel=1e-14)
    # the exact score Jacobian at the symmetric point changes sign (along the axis) at tau = a^2
    along = lambda tau: two.score_jacobian(np.zeros(2), np.sqrt(tau))[0, 0]
    assert along(tau_s * 0.99) > 0 > along(tau_s * 1.01)
    assert brentq(along, 0.5 * tau_s, 2 * tau_s, xtol=1e-14) == pytest.approx(tau_s, rel=1e-10)
    ou = st.OU(20.0)
    assert st.speciation_time(ou, two) == pytest.approx(0.5 * np.log1p(a**2), rel=1e-10)


def test_dimension_from_largest_drop_of_sampled_jacobian():
    D = 300
    x = np.zeros(D)
    for tau in (0.02, 40.0):
        J = MODEL.score_jacobian(x, np.sqrt(tau)) * tau
        est = st.estimate_dimension(np.linalg.svd(J, compute_uv=False))
        pred = st.predicted_drop(MODEL, tau)
        assert est.n_above == round(pred.n_below)
        assert est.drop == pytest.approx(pred.width, abs=0.05)          # edges within TW scales
    # small tau: the manifold gap is widest and reveals m = 90; large tau: the top block (30)
    assert st.predicted_drop(MODEL, 0.02).kind == "manifold"
    assert round(st.predicted_drop(MODEL, 0.02).n_below) == D - 90
    assert round(st.predicted_drop(MODEL, 40.0).n_below) == D - 30


def test_empirical_phases_include_collapse():
    base = st.LinearManifold(40, [(5, 1.0)], basis="orthonormal", rng=0)
    emp = st.Empirical(base.sample(200, rng=1))
    ph = st.phases(emp)
    assert ph.tau_collapse is not None and ph.tau_collapse > 0


def test_bad_input():
    with pytest.raises(SpectralTheoryError, match="threshold"):
        st.phases(MODEL, threshold=0.7)
    with pytest.raises(SpectralTheoryError, match="manifold gap"):
        st.manifold_gap(st.Gaussian(np.zeros(3), np.eye(3)), 1.0)
    with pytest.raises(SpectralTheoryError, match="singular_values"):
        st.estimate_dimension([1.0])


def test_full_rank_model_has_no_manifold_gap_but_phases():
    model = st.SpikedCovariance(50, [9.0, 4.0], noise=0.5, rng=2)
    ph = st.phases(model, threshold=0.2)
    assert ph.tau_manifold_gap is None
    assert ph.gamma_minus == pytest.approx(0.5) and ph.gamma_plus == pytest.approx(9.5)
    assert ph.tau_consolidation == pytest.approx(0.5 * 0.2 / 0.8)
    gaps = st.spectral_gaps(model, 1.0)
    assert all(g.kind == "intermediate" for g in gaps)
    assert [round(g.n_below) for g in gaps] == [48, 49]
    spectra = st.jacobian_spectra(model)
    locs, weights = spectra.atoms_at([1.0])
    np.testing.assert_allclose(np.sort(locs[0]), [-1 / 1.5, -1 / 5.5, -1 / 10.5])
    np.testing.assert_allclose(weights, [0.96, 0.02, 0.02])
