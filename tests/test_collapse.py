"""spectral_theory.collapse: the collapse and speciation times, against direct root finding of their
defining conditions and the exact score of a two-point training set."""
import numpy as np
import pytest
from scipy.optimize import brentq

import spectral_theory as st
from spectral_theory import SpectralTheoryError


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
