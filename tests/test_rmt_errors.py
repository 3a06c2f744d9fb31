"""Bad input gives a clear SpectralTheoryError naming the parameter."""
import numpy as np
import pytest

from spectral_theory import SpectralTheoryError, rmt


@pytest.mark.parametrize("make,match", [
    (lambda: rmt.Silverstein([0.3], [-1.0]), "variances"),
    (lambda: rmt.Silverstein([0.7, 0.6], [1.0, 2.0]), "fractions"),
    (lambda: rmt.Silverstein([-0.1, 0.3], [1.0, 2.0]), "fractions"),
    (lambda: rmt.Silverstein([0.3, 0.2], [1.0]), "variances"),
    (lambda: rmt.Silverstein([0.0], [1.0]), "fractions"),
    (lambda: rmt.GeneralizedMarchenkoPastur([1.0, 2.0], [0.5, 0.6], 0.5), "population_weights"),
    (lambda: rmt.GeneralizedMarchenkoPastur([1.0, -2.0], [0.5, 0.5], 0.5), "population_values"),
    (lambda: rmt.GeneralizedMarchenkoPastur([1.0], [1.0], 0.0), "aspect"),
    (lambda: rmt.GeneralizedMarchenkoPastur([1.0], [1.0], -1.0), "aspect"),
    (lambda: rmt.MarchenkoPastur(0.0), "aspect"),
    (lambda: rmt.MarchenkoPastur(0.5, scale=-1.0), "scale"),
    (lambda: rmt.MarchenkoPastur(np.nan), "aspect"),
    (lambda: rmt.JacobianMap(0.0), "tau"),
])
def test_bad_parameters(make, match):
    with pytest.raises(SpectralTheoryError, match=match):
        make()


@pytest.mark.parametrize("law", [rmt.MarchenkoPastur(0.5), rmt.Silverstein([0.2, 0.3], [1.0, 10.0])], ids=repr)
def test_stieltjes_on_the_cut_or_at_an_atom(law):
    lo, hi = law.support()[0]
    with pytest.raises(SpectralTheoryError, match="branch cut"):
        law.stieltjes(0.5 * (lo + hi))
    with pytest.raises(SpectralTheoryError, match="branch cut"):
        law.stieltjes(np.array([-1.0, lo]))               # an edge belongs to the closed support
    for x, _ in law.atoms:
        with pytest.raises(SpectralTheoryError, match="atom"):
            law.stieltjes(x)
    top = law.support()[-1][1]
    assert np.isfinite(law.stieltjes(top + 1.0))         # real and outside the support is fine


def test_bad_method_order_quantile_and_map():
    law = rmt.Silverstein([0.3], [1.0])
    with pytest.raises(SpectralTheoryError, match="method"):
        law.cdf(1.0, method="magic")
    with pytest.raises(SpectralTheoryError, match="`k`"):
        law.moment(-1)
    with pytest.raises(SpectralTheoryError, match="`q`"):
        law.quantile(1.5)
    with pytest.raises(SpectralTheoryError, match="MonotoneMap"):
        law.pushforward(lambda x: x)
    shifted = rmt.MarchenkoPastur(0.5).pushforward(
        rmt.MonotoneMap(lambda x: x - 5, lambda y: y + 5, lambda x: np.ones_like(x)))
    with pytest.raises(SpectralTheoryError, match="domain"):
        shifted.jacobian_pushforward(1.0)
    with pytest.raises(SpectralTheoryError, match="rng"):
        law.sample(3, rng="seed")


def test_sample_reproducible_and_distributed():
    law = rmt.Silverstein([0.2, 0.3], [1.0, 10.0])
    a, b = law.sample(2000, rng=5), law.sample(2000, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    # atom: binomial count; continuous part: DKW at delta = 1e-6 for iid inverse-cdf draws
    zero = a == 0.0
    assert zero.mean() == pytest.approx(0.5, abs=5 * np.sqrt(0.25 / a.size))
    assert law.ks_distance(a, exclude_atom=0.0) <= np.sqrt(np.log(2 / 1e-6) / (2 * np.count_nonzero(~zero)))


def test_a_sample_count_beyond_the_machines_memory_is_refused_before_allocating():
    """Inverse-cdf sampling holds about 108 float64 per draw (Legendre matrices, iterates): n is bounded
    by that, and n = 0 stays an empty sample."""
    from conftest import refuses_allocation
    for law in (rmt.MarchenkoPastur(0.5), rmt.AtomicLaw([0.0, 1.0], [0.5, 0.5]),
                rmt.free_additive_convolution(rmt.MarchenkoPastur(0.5), rmt.Semicircle(1.0))):
        refuses_allocation(lambda: law.sample(2**50, rng=0), "n")
        assert law.sample(0, rng=0).shape == (0,)


def test_a_stieltjes_transform_beyond_float64_is_an_error_naming_z():
    """z = 2.2e-311 next to an atom at 0 (the slow fuzz, seed 78): w/z overflows, and complex division made
    it inf + nan j; now an error naming `z`.  1e-300 away, g = 0.2e300 + O(1) is still finite."""
    law = rmt.AtomicLaw([0.0, 1.0, 2.0], [0.2, 0.5, 0.3])
    for z in (2.225073858507e-311, 1e-320j, [0.5, 2.225073858507e-311]):
        with pytest.raises(SpectralTheoryError, match="`z` = .*beyond the float64 range"):
            law.stieltjes(z)
    assert law.stieltjes(1e-300) == pytest.approx(0.2e300, rel=1e-12)
