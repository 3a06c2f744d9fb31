"""Phase boundaries of tau*J (spectral_theory.phase_diagram), each checked against an independent
route (the pushforward law's own support, the schedules' forward maps).  Gaps: test_gaps.py;
collapse and speciation: test_collapse.py."""
import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import SpectralTheoryError
from spectral_theory.phase_diagram import CONSOLIDATION, COVERAGE, TRIVIAL

MODEL = st.LinearManifold(300, [(30, 1.0), (30, 8.0), (30, 60.0)], rng=3)


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


def test_empirical_phases_include_collapse():
    base = st.LinearManifold(40, [(5, 1.0)], basis="orthonormal", rng=0)
    emp = st.Empirical(base.sample(200, rng=1))
    ph = st.phases(emp)
    assert ph.tau_collapse is not None and ph.tau_collapse > 0


def test_bad_input():
    with pytest.raises(SpectralTheoryError, match="threshold"):
        st.phases(MODEL, threshold=0.7)


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
