"""Theory against sampled matrices: support and histogram (KS distance).

Bounds, derived rather than tuned:

* **Support.** Near a soft edge e the density is rho(x) ~ A sqrt(|x - e|), so the expected number
  of eigenvalues of a D x D matrix in the last stretch delta before the edge is D A (2/3) delta^{3/2};
  it equals 1 at the edge scale delta_e = (3 / (2 A D))^{2/3}, the scale of Tracy-Widom fluctuations
  (for GUE delta_e is about 2.8 TW units). We allow 10 delta_e beyond every edge: a Tracy-Widom
  deviation of ~25 units, probability far below 1e-12.
* **Histogram.** For n iid draws the Dvoretzky-Kiefer-Wolfowitz-Massart inequality gives
  P(sup|F_n - F| > eps) <= 2 exp(-2 n eps^2); eps_stat = sqrt(ln(2/delta) / (2n)) at delta = 1e-6.
  Eigenvalues are more rigid than iid draws (number variance O(log n) instead of O(n)), so this
  bound is conservative for them. The finite-D bias of the expected spectral cdf is O(1/D), with O(1)
  eigenvalues displaced per edge; we add (number of edges + 2)/n. We compare the n nonzero
  eigenvalues to the continuous part (cdf minus atoms, renormalised); the atom at 0 is checked
  exactly as a count (D - m zero eigenvalues).
"""
import numpy as np
import pytest

from spectral_theory import rmt

DELTA = 1e-6


def _sample_c(alpha, v, D, rng):
    m = np.round(np.asarray(alpha) * D).astype(int)
    F = rng.standard_normal((D, m.sum())) / np.sqrt(D)
    var = np.repeat(v, m)
    return np.linalg.eigvalsh((F * var) @ F.T), m.sum()


def _sample_s(t, h, c, p, rng):
    N = int(round(p / c))
    counts = np.round(np.asarray(h) * p).astype(int)
    sd = np.sqrt(np.repeat(t, counts))
    X = sd[:, None] * rng.standard_normal((p, N))
    return np.linalg.eigvalsh(X @ X.T / N)


def _edge_tolerance(law, n_matrix):
    tols = []
    for lo, hi in law.support():
        for e, side in ((lo, 1), (hi, -1)):
            if e == 0:
                continue                                      # hard edge: nothing can cross below 0
            h = 1e-6 * (hi - lo)
            amp = law.pdf(e + side * h) / np.sqrt(h)          # rho ~ A sqrt(|x - e|)
            tols.append(10 * (3 / (2 * amp * n_matrix)) ** (2 / 3))
    return max(tols)


def _check(law, eig, n_matrix, zero_expected):
    scale = max(abs(eig))
    zero = np.abs(eig) < 1e-9 * scale
    assert zero.sum() == zero_expected
    nz = eig[~zero]
    tol = _edge_tolerance(law, n_matrix)
    dist = np.min([np.maximum(lo - nz, 0) + np.maximum(nz - hi, 0) for lo, hi in law.support()], axis=0)
    assert dist.max() <= tol, (dist.max(), tol)
    n = nz.size
    n_edges = 2 * len(law.support())
    bound = np.sqrt(np.log(2 / DELTA) / (2 * n)) + (n_edges + 2) / n
    ks = law.ks_distance(nz, exclude_atom=0.0)
    assert ks <= bound, (ks, bound)
    return ks, bound


def _run_silverstein(alpha, v, D, seed):
    law = rmt.Silverstein(alpha, v)
    eig, m = _sample_c(alpha, v, D, np.random.default_rng(seed))
    return _check(law, eig, D, D - m)


@pytest.mark.parametrize("alpha,v", [([0.3], [2.0]), ([0.2, 0.3], [1.0, 10.0]), ([0.1, 0.2, 0.15], [0.5, 5.0, 40.0])])
def test_silverstein_against_sampled_matrices(alpha, v):
    _run_silverstein(alpha, v, 500, seed=7)


def test_gmp_against_sampled_matrices():
    t, h, c, p = [1.0, 3.0, 9.0], [0.2, 0.5, 0.3], 0.25, 400
    law = rmt.GeneralizedMarchenkoPastur(t, h, c)
    _check(law, _sample_s(t, h, c, p, np.random.default_rng(3)), p, 0)


def test_gmp_more_dimensions_than_samples():
    t, h, c, p = [1.0, 4.0], [0.5, 0.5], 2.0, 400
    law = rmt.GeneralizedMarchenkoPastur(t, h, c)
    _check(law, _sample_s(t, h, c, p, np.random.default_rng(4)), p, p - int(p / c))


def test_coupled_equation_beats_independent_marchenko_pastur():
    # spectral_gaps.md: treating each block as its own MP law misplaces the small bulk's lower edge
    alpha, v = [0.3, 0.3], [1.0, 4.0]
    law = rmt.Silverstein(alpha, v)
    naive_lower = v[0] * (1 - np.sqrt(alpha[0])) ** 2
    eig, _ = _sample_c(alpha, v, 1000, np.random.default_rng(11))
    smallest = np.sort(eig[eig > 1e-9])[0]
    assert abs(smallest - law.support()[0][0]) < abs(smallest - naive_lower)


@pytest.mark.slow
@pytest.mark.parametrize("alpha,v", [([0.2, 0.3], [1.0, 10.0]), ([0.1, 0.2, 0.15], [0.5, 5.0, 40.0]),
                                     ([0.5, 0.5], [1.0, 8.0])])
def test_silverstein_d2000(alpha, v):
    _run_silverstein(alpha, v, 2000, seed=2000)
