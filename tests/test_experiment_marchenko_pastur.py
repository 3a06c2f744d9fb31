"""The bidiagonal (Dumitriu-Edelman) sampler of marchenko_pastur_wishart against dense routes."""
import numpy as np
import pytest
from scipy.linalg import eigvalsh_tridiagonal
from scipy.stats import ks_2samp

from spectral_theory import SpectralTheoryError
from validation import wishart
from validation.experiments import marchenko_pastur as mp


def test_bisection_finds_the_largest_eigenvalue_of_each_tridiagonal():
    rng = np.random.default_rng(0)
    m, R = 40, 7
    diag, off = rng.uniform(-1, 3, (m, R)), rng.standard_normal((m - 1, R))
    got = wishart._largest_tridiagonal(diag, off**2, 1e-13)
    want = [eigvalsh_tridiagonal(diag[:, r], off[:, r])[-1] for r in range(R)]
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("p, n", [(30, 90), (60, 30)])
def test_bidiagonal_model_has_the_law_of_the_largest_wishart_eigenvalue(p, n):
    rng = np.random.default_rng(1)
    dense = mp._wishart_spectra(p, n, 1500, rng)[:, -1]
    bidiagonal = wishart.largest_wishart_eigenvalues(p, n, 3000, rng)
    assert ks_2samp(dense, bidiagonal).pvalue > 1e-3
    assert bidiagonal.mean() == pytest.approx(dense.mean(), abs=4 * dense.std() / np.sqrt(1500))


def test_bidiagonal_model_needs_two_eigenvalues():
    with pytest.raises(SpectralTheoryError, match="`p` and `n`"):
        wishart.largest_wishart_eigenvalues(1, 10, 5, np.random.default_rng(0))
