"""Tracy-Widom distributions by Bornemann's Fredholm-determinant quadrature, against the literature."""
import numpy as np
import pytest

from spectral_theory import SpectralTheoryError, spiked, tracy_widom as tw


def test_moments_match_the_literature():
    # Tracy & Widom; Bornemann, Math. Comp. 79 (2010), Table 7 (mean, variance)
    mean2, sd2 = tw.moments(2)
    mean1, sd1 = tw.moments(1)
    assert mean2 == pytest.approx(-1.7710868074, abs=1e-9) and sd2**2 == pytest.approx(0.8131947928, abs=1e-9)
    assert mean1 == pytest.approx(-1.2065335746, abs=1e-9) and sd1**2 == pytest.approx(1.6077810346, abs=1e-9)
    assert spiked.TW1_MEAN == pytest.approx(mean1, abs=1e-9) and spiked.TW1_STD == pytest.approx(sd1, abs=1e-9)


def test_distribution_function_converges_and_is_monotone():
    s = np.linspace(-6, 4, 21)
    for beta in (1, 2):
        F = tw.cdf(s, beta)
        assert np.all(np.diff(F) > 0) and F[0] < 1e-3 and F[-1] > 1 - 1e-3
        assert np.allclose(tw.cdf(s, beta, nodes=40), F, atol=1e-11)           # exponential convergence
    assert tw.cdf(-2.0, 2) == pytest.approx(0.413224142505, abs=1e-10)
    assert tw.cdf(tw.quantile(0.3, 1), 1) == pytest.approx(0.3, abs=1e-10)
    # the GOE law lies to the right of the GUE one at the median (heavier left tail of F1 is wider)
    assert tw.quantile(0.5, 1) > tw.quantile(0.5, 2)


def test_bad_input_is_a_clear_error():
    with pytest.raises(SpectralTheoryError, match="beta"):
        tw.cdf(0.0, beta=4)
    with pytest.raises(SpectralTheoryError, match="`q`"):
        tw.quantile(1.5)
    with pytest.raises(SpectralTheoryError, match="finite"):
        tw.cdf(np.nan)
