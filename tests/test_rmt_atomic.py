"""The atomic law: one class, whatever it is called, and free convolutions that treat it exactly.

``spectral_theory.AtomicSpectrum`` (deprecated) and ``spectral_theory.rmt.AtomicLaw`` are one law; the
free convolutions decide exactness from the law (``is_atomic``), so both spellings - and any other
purely atomic law, e.g. the pushforward of one - take the exact critical-point route to the edges and
give the same numbers. Independent route for the numbers: the free Poisson law
``AtomicLaw(t, h) boxtimes MP(c) = GeneralizedMarchenkoPastur(t, h, c)`` (its own companion equation).
"""
import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import rmt

T, H, C = [1.0, 4.0], [0.5, 0.5], 0.1


def test_deprecated_spelling_is_the_same_class_and_warns():
    with pytest.warns(DeprecationWarning, match="AtomicLaw"):
        old = st.AtomicSpectrum(T, H)
    assert isinstance(old, rmt.AtomicLaw)
    assert old.atoms == rmt.AtomicLaw(T, H).atoms
    assert old.is_atomic and not rmt.MarchenkoPastur(C).is_atomic


@pytest.mark.parametrize("kind", ["multiplicative", "additive"])
def test_both_spellings_same_route_and_numbers(kind):
    with pytest.warns(DeprecationWarning):
        old = st.AtomicSpectrum(T, H)
    new = rmt.AtomicLaw(T, H)
    pushed = rmt.AtomicLaw([-1.0 / (1.0 + t) for t in T], H)          # a second atomic spelling
    conv = rmt.free_multiplicative_convolution if kind == "multiplicative" else rmt.free_additive_convolution
    a, b = conv(old, rmt.MarchenkoPastur(C)), conv(new, rmt.MarchenkoPastur(C))
    assert a.edge_diagnostics["method"] == b.edge_diagnostics["method"] == "critical points"
    assert a.edge_diagnostics == b.edge_diagnostics
    assert a.support() == b.support()
    z = np.linspace(0.1, 6.0, 7) + 0.05j
    assert np.array_equal(a.stieltjes(z), b.stieltjes(z))
    # another purely atomic law that is not an AtomicLaw instance also goes by critical points
    other = new.jacobian_pushforward(1.0)
    assert not isinstance(other, rmt.AtomicLaw) and other.is_atomic
    assert np.allclose(other.atoms, pushed.atoms, rtol=1e-15, atol=0)
    assert rmt.free_additive_convolution(other, rmt.Semicircle(0.1)).edge_diagnostics["method"] == \
        "critical points"


def test_numbers_match_the_free_poisson_law():
    with pytest.warns(DeprecationWarning):
        old = st.AtomicSpectrum(T, H)
    conv = rmt.free_multiplicative_convolution(old, rmt.MarchenkoPastur(C))
    gmp = rmt.GeneralizedMarchenkoPastur(T, H, C)
    assert np.allclose(np.ravel(conv.support()), np.ravel(gmp.support()), rtol=1e-11, atol=0)
    x = np.linspace(*gmp.support()[0], 9)[1:-1]
    assert np.allclose(conv.pdf(x), gmp.pdf(x), rtol=1e-8)


def test_bad_input_names_the_parameter():
    with pytest.raises(st.SpectralTheoryError, match="weights"):
        rmt.AtomicLaw([0.0, 1.0], [0.3, 0.3])
    with pytest.raises(st.SpectralTheoryError, match="weights"):
        rmt.AtomicLaw([0.0, 1.0], [1.0])
    with pytest.raises(st.SpectralTheoryError, match="values"):
        rmt.AtomicLaw([])
