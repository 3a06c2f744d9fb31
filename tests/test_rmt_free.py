"""Free additive / multiplicative convolution by subordination, against independent routes.

* closed form: semicircle boxplus semicircle = semicircle (variances and centers add);
* free Poisson: GeneralizedMarchenkoPastur(t, h, c) = AtomicLaw(t, h) boxtimes MarchenkoPastur(c)
  (S = Sigma^{1/2} Z Z^T Sigma^{1/2} / N), solved by the companion equation of :mod:`.silverstein`;
* asymptotic freeness: Silverstein([a1, a2], [v1, v2]) (C = F1 v1 F1^T + F2 v2 F2^T) equals
  Silverstein([a1], [v1]) boxplus Silverstein([a2], [v2]);
* moments: free cumulants add (closed-form cumulants of semicircle and MP); for products
  phi(abab) = phi(a^2) phi(b)^2 + phi(a)^2 phi(b^2) - phi(a)^2 phi(b)^2;
* mpmath at 50 digits: semicircle boxplus atoms by Pastur's equation g = sum p / (z - m - s2 g - x)
  (polynomial roots, Herglotz root - no subordination iteration); atoms boxtimes MP by the companion
  polynomial of :mod:`spectral_theory.rmt.reference`; agreement to 1e-10 including points within 1e-6
  of an edge;
* hypothesis: mass 1, density >= 0, Herglotz and moments = free-cumulant sums over random inputs;
* sampled matrices A + Q B Q^T and A^{1/2} Q B Q^T A^{1/2} (Haar Q by QR with sign fix): KS distance
  below the DKW bound at delta = 1e-6 plus O(1/D) finite-size terms (as in test_rmt_simulation.py).
"""
import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume as hypothesis_assume, given, settings, strategies as hs
from numpy.testing import assert_allclose

import spectral_theory as st
from spectral_theory import rmt
from spectral_theory.rmt import reference as ref
from spectral_theory.rmt.free import AtomicLaw, FreeConvolution, Semicircle, free_cumulants

DELTA = 1e-6


@pytest.fixture(scope="module")
def semi_sum():
    return rmt.free_additive_convolution(rmt.Semicircle(1.0), rmt.Semicircle(2.0, 0.5))


def test_semicircle_plus_semicircle_is_semicircle(semi_sum):
    exact = rmt.Semicircle(3.0, 0.5)
    assert_allclose(semi_sum.support(), exact.support(), rtol=1e-9)
    x = np.linspace(-3.5, 4.5, 801)
    assert_allclose(semi_sum.pdf(x), exact.pdf(x), atol=1e-12)
    z = x + 1j * np.geomspace(1e-6, 10.0, x.size)
    res = semi_sum.stieltjes_result(z)
    assert np.all(res.converged) and np.max(res.residual) <= 1e-9
    assert_allclose(res.value, exact.stieltjes(z), rtol=1e-11)
    # subordination identities with the inputs' exact transforms
    w1, w2 = semi_sum.subordination(z)
    assert_allclose(rmt.Semicircle(1.0).stieltjes(w1), res.value, rtol=1e-11)
    assert_allclose(rmt.Semicircle(2.0, 0.5).stieltjes(w2), res.value, rtol=1e-11)
    assert_allclose(w1 + w2, z + 1 / res.value, rtol=1e-11)
    assert np.all(w1.imag >= z.imag * (1 - 1e-12)) and np.all(w2.imag >= z.imag * (1 - 1e-12))


def test_mass_positivity_herglotz(semi_sum):
    assert semi_sum.integrated_mass() == pytest.approx(1.0, abs=1e-10)
    lo, hi = semi_sum.support()[0]
    assert np.all(semi_sum.pdf(np.linspace(lo, hi, 501)) >= 0)
    z = np.linspace(-6, 6, 50) + 0.3j
    g = semi_sum.stieltjes(z)
    assert np.all(g.imag < 0) and np.all(np.abs(g) <= 1 / z.imag)
    assert_allclose(semi_sum.stieltjes(np.conj(z)), np.conj(g), rtol=1e-14)
    # real z outside the support: real transform, equal to the closed form
    xo = np.array([-5.0, -3.0, 4.0, 9.0])
    assert_allclose(semi_sum.stieltjes(xo), rmt.Semicircle(3.0, 0.5).stieltjes(xo), rtol=1e-11)


def test_gmp_is_population_times_marchenko_pastur():
    t, h, c = [1.0, 4.0], [0.5, 0.5], 0.1
    conv = rmt.free_multiplicative_convolution(rmt.AtomicLaw(t, h), rmt.MarchenkoPastur(c))
    gmp = rmt.GeneralizedMarchenkoPastur(t, h, c)
    assert len(conv.support()) == len(gmp.support()) == 2
    assert_allclose(conv.support(), gmp.support(), rtol=1e-9)
    assert conv.atoms == gmp.atoms == []
    x = np.concatenate([np.linspace(lo, hi, 200)[1:-1] for lo, hi in gmp.support()])
    assert_allclose(conv.pdf(x), gmp.pdf(x), rtol=1e-9, atol=1e-12)
    z = np.linspace(0.1, 8, 40) + 0.05j
    assert_allclose(conv.stieltjes(z), gmp.stieltjes(z), rtol=1e-11)
    assert conv.integrated_mass() == pytest.approx(1.0, abs=1e-10)


def test_two_block_silverstein_is_free_sum_of_single_blocks():
    a, v = [0.2, 0.3], [1.0, 10.0]
    conv = rmt.free_additive_convolution(rmt.Silverstein([a[0]], [v[0]]), rmt.Silverstein([a[1]], [v[1]]))
    law = rmt.Silverstein(a, v)
    # atom at 0: (1 - a1) + (1 - a2) - 1 = 1 - a1 - a2
    assert conv.atoms == [(0.0, pytest.approx(1 - sum(a), abs=1e-15))]
    assert_allclose(conv.support(), law.support(), rtol=1e-9)
    x = np.concatenate([np.linspace(lo, hi, 150)[1:-1] for lo, hi in law.support()])
    assert_allclose(conv.pdf(x), law.pdf(x), rtol=1e-8, atol=1e-12)
    assert conv.integrated_mass() == pytest.approx(1.0, abs=1e-10)


def test_free_cumulants_add():
    s2, c, s = 0.7, 0.4, 1.5
    conv = rmt.free_additive_convolution(rmt.Semicircle(s2), rmt.MarchenkoPastur(c, s))
    # closed-form free cumulants: semicircle (0, s2, 0, 0); MP(c, s): kappa_n = s^n c^(n-1)
    k1, k2, k3, k4 = s, s2 + s * s * c, s ** 3 * c ** 2, s ** 4 * c ** 3
    exact = [k1, k2 + k1 ** 2, k3 + 3 * k1 * k2 + k1 ** 3,
             k4 + 4 * k1 * k3 + 2 * k2 ** 2 + 6 * k1 ** 2 * k2 + k1 ** 4]
    assert_allclose([conv.moment(k, method="quadrature") for k in (1, 2, 3, 4)], exact, rtol=1e-10)
    assert_allclose([conv.moment(k) for k in (1, 2, 3, 4)], exact, rtol=1e-12)
    assert_allclose(free_cumulants([1.0] + exact)[1:], [k1, k2, k3, k4], rtol=1e-12)


def test_product_moments_and_free_poisson():
    a, b = rmt.MarchenkoPastur(0.3, 2.0), rmt.MarchenkoPastur(0.5)
    conv = rmt.free_multiplicative_convolution(a, b)
    a1, a2, b1, b2 = a.moment(1), a.moment(2), b.moment(1), b.moment(2)
    assert conv.moment(1) == pytest.approx(a1 * b1, rel=1e-10)
    assert conv.moment(2) == pytest.approx(a2 * b1 ** 2 + a1 ** 2 * b2 - a1 ** 2 * b1 ** 2, rel=1e-10)
    assert conv.integrated_mass() == pytest.approx(1.0, abs=1e-10)


def test_atoms_of_convolutions():
    # additive: atom at x + y iff a{x} + b{y} > 1: 0 + 0 (0.7 + 0.6 - 1) and 0 + 2 (0.7 + 0.4 - 1)
    add = rmt.free_additive_convolution(rmt.AtomicLaw([0.0, 1.0], [0.7, 0.3]), rmt.AtomicLaw([0.0, 2.0], [0.6, 0.4]))
    assert add.atoms == [(0.0, pytest.approx(0.3)), (2.0, pytest.approx(0.1))]
    assert add.integrated_mass() == pytest.approx(1.0, abs=1e-10)
    # product of free projections of ranks p, q: atoms max(1-p, 1-q) at 0 and max(0, p+q-1) at 1
    p, q = 0.6, 0.7
    prod = rmt.free_multiplicative_convolution(rmt.AtomicLaw([0.0, 1.0], [1 - p, p]), rmt.AtomicLaw([0.0, 1.0], [1 - q, q]))
    assert prod.atoms == [(0.0, pytest.approx(0.4)), (1.0, pytest.approx(0.3))]
    assert prod.integrated_mass() == pytest.approx(1.0, abs=1e-10)
    assert prod.moment(1, method="quadrature") == pytest.approx(p * q, rel=1e-10)   # tr(PQ) = p q


def test_bad_input():
    with pytest.raises(st.SpectralTheoryError, match="first"):
        rmt.free_additive_convolution([1.0], rmt.Semicircle())
    with pytest.raises(st.SpectralTheoryError, match="second"):
        rmt.free_multiplicative_convolution(rmt.MarchenkoPastur(0.5), rmt.Semicircle())
    with pytest.raises(st.SpectralTheoryError, match="weights"):
        rmt.AtomicLaw([1.0, 2.0], [0.5, 0.6])


# ---- against sampled matrices -------------------------------------------------------------------

def _haar(D, rng):
    q, r = np.linalg.qr(rng.standard_normal((D, D)))
    return q * np.sign(np.diag(r))


def _bound(law, n):
    # DKW at delta (conservative for eigenvalues), O(1) displaced eigenvalues per edge, and the
    # 1/n cdf error of representing a continuous input by its n quantiles
    return np.sqrt(np.log(2 / DELTA) / (2 * n)) + (2 * len(law.support()) + 2) / n + 1 / n


@pytest.mark.parametrize("kind", ["additive", "multiplicative"])
def test_against_sampled_matrices(kind):
    D = 500
    rng = np.random.default_rng(2024 if kind == "additive" else 7)
    a, b = rmt.MarchenkoPastur(0.3), rmt.AtomicLaw([1.0, 4.0], [0.5, 0.5])
    A = a.quantile((np.arange(D) + 0.5) / D)
    B = np.repeat([1.0, 4.0], D // 2)
    Q = _haar(D, rng)
    QB = (Q * B) @ Q.T
    if kind == "additive":
        law = rmt.free_additive_convolution(a, b)
        M = np.diag(A) + QB
    else:
        law = rmt.free_multiplicative_convolution(a, b)
        r = np.sqrt(A)
        M = r[:, None] * QB * r[None, :]
    eig = np.linalg.eigvalsh(M)
    assert law.ks_distance(eig) <= _bound(law, D)


# ---- 50-digit references ------------------------------------------------------------------------

def _polymul(p, q):
    out = [mp.mpf(0)] * (len(p) + len(q) - 1)
    for i, x in enumerate(p):
        for j, y in enumerate(q):
            out[i + j] += x * y
    return out


def _pastur_reference(z, s2, m, xs, ps, dps=50):
    """g of Semicircle(s2, m) boxplus sum_j p_j delta(x_j) at ``dps`` digits.

    With h_sc = -m - s2 g, subordination gives w2 = z - m - s2 g, so g = sum_j p_j / (z - m - s2 g - x_j)
    (Pastur 1972), i.e. sum_j p_j prod_{k != j} L_k - g prod_k L_k = 0 with L_k = z - m - x_k - s2 g:
    a polynomial of degree K + 1 whose unique root with Im g < 0 is the transform (Im z > 0; on the
    real axis z + i 10^-(dps-10)).
    """
    with mp.workdps(dps + 10):
        z = mp.mpc(z)
        if z.imag == 0:
            z = mp.mpc(z.real, mp.mpf(10) ** (-(dps - 10)))
        lin = [[z - mp.mpf(m) - mp.mpf(x), -mp.mpf(s2)] for x in xs]       # increasing powers of g
        poly = [mp.mpf(0)] * (len(xs) + 2)
        full = [mp.mpf(1)]
        for f in lin:
            full = _polymul(full, f)
        for i, c in enumerate(_polymul([mp.mpf(0), mp.mpf(-1)], full)):
            poly[i] += c
        for j, p in enumerate(ps):
            part = [mp.mpf(p)]
            for k, f in enumerate(lin):
                if k != j:
                    part = _polymul(part, f)
            for i, c in enumerate(part):
                poly[i] += c
        roots = mp.polyroots(list(reversed(poly)), maxsteps=500, extraprec=4 * dps)
        lower = [r for r in roots if mp.im(r) < 0]
        assert len(lower) == 1, roots
        return complex(lower[0])


def _probe_points(law, rng, n=12):
    """Random z in the upper half plane at several heights, real points inside and outside the
    support, and real points 1e-6 (relative to the spectral scale) inside/outside every edge."""
    lo, hi = law.support()[0][0], law.support()[-1][1]
    scale = hi - lo
    x = rng.uniform(lo - 0.2 * scale, hi + 0.2 * scale, n)
    pts = [x + 1j * y for y in (1.0, 1e-3, 1e-8)]
    inside = np.concatenate([rng.uniform(a + 0.01 * (b - a), b - 0.01 * (b - a), 4) for a, b in law.support()])
    edges = np.array(law.support()).ravel()
    near = np.concatenate([edges - 1e-6 * scale, edges + 1e-6 * scale])
    outside = near[~law.in_support(near)]
    far = np.array([lo - 0.3 * scale, hi + 0.3 * scale])
    return np.concatenate(pts + [inside + 0j, near[law.in_support(near)] + 0j, outside + 0j, far + 0j])


SC_ATOMS = [((1.0, 0.0), ([-2.0, 2.0], [0.5, 0.5])),
            ((0.5, 1.0), ([0.0, 1.0, 5.0], [0.2, 0.5, 0.3])),
            ((0.05, 0.0), ([1.0, 4.0], [0.3, 0.7]))]


@pytest.mark.parametrize("swap", [False, True], ids=["sc+atoms", "atoms+sc"])
@pytest.mark.parametrize("case", SC_ATOMS, ids=lambda c: f"{c[0]}-{c[1][0]}")
def test_semicircle_plus_atoms_matches_mpmath(case, swap):
    (s2, m), (xs, ps) = case
    sc, at = rmt.Semicircle(s2, m), rmt.AtomicLaw(xs, ps)
    law = rmt.free_additive_convolution(at, sc) if swap else rmt.free_additive_convolution(sc, at)
    z = _probe_points(law, np.random.default_rng(11))
    want = np.array([_pastur_reference(zi, s2, m, xs, ps) for zi in z])
    assert_allclose(_transform(law, z), want, rtol=1e-10, atol=1e-12)


def _transform(law, z):
    """g(z) off the axis, g(x + i0) on it (raises if the solver fails anywhere)."""
    real = z.imag == 0
    out = np.empty(z.shape, dtype=complex)
    out[~real] = law.stieltjes(z[~real])
    out[real] = law.boundary_stieltjes(z.real[real])
    return out


def test_atoms_times_marchenko_pastur_matches_mpmath():
    t, h, c = [1.0, 3.0, 9.0], [0.2, 0.5, 0.3], 0.4
    law = rmt.free_multiplicative_convolution(rmt.AtomicLaw(t, h), rmt.MarchenkoPastur(c))
    z = _probe_points(law, np.random.default_rng(5))
    want = np.array([complex(ref.law_stieltjes(zi, [c * hj for hj in h], t, c, dps=50)) for zi in z])
    assert_allclose(_transform(law, z), want, rtol=1e-10, atol=1e-12)


def test_multiplicative_far_from_the_spectrum_converges_to_the_laurent_series():
    """At |z| ~ 1e9 the map's T/(T - 1) cancels (T - 1 ~ E[AB]/z): the residual sits at its rounding
    floor, which the convergence test allows for; the value is the Laurent series 1/z + m1/z^2 + m2/z^3
    with the product's moments in closed form (freeness: m1 = a1 b1, m2 = a2 b1^2 + a1^2 b2 - a1^2 b1^2;
    the next term is 1e-18 of the value)."""
    t, h, c = np.array([1.0, 4.0]), np.array([0.5, 0.5]), 0.2
    law = rmt.free_multiplicative_convolution(rmt.AtomicLaw(t, h), rmt.MarchenkoPastur(c))
    a1, a2, b1, b2 = h @ t, h @ t**2, 1.0, 1.0 + c
    m1, m2 = a1 * b1, a2 * b1**2 + a1**2 * b2 - a1**2 * b1**2
    z = np.array([1e9 * (1 + 1j), 3e9 - 2e8j, 1e9j])
    res = law.stieltjes_result(z)
    assert res.converged.all() and (res.residual < 1e-6).all()
    assert_allclose(res.value, (1 + m1 / z + m2 / z**2) / z, rtol=1e-12)
    # where the floor is not the excuse (moderate |z|), the bound stays 1e-9
    near = law.stieltjes_result(np.array([3.0 + 1j]))
    assert near.converged.all() and near.residual[0] <= 1e-9


# ---- properties over random inputs ----------------------------------------------------------------

@hs.composite
def _atomic(draw, lo=-3.0, hi=3.0):
    k = draw(hs.integers(1, 3))
    xs = sorted(draw(hs.lists(hs.floats(lo, hi), min_size=k, max_size=k)))
    xs = [x + 0.3 * i for i, x in enumerate(xs)]                     # separated atoms
    ws = np.array(draw(hs.lists(hs.floats(0.1, 1.0), min_size=k, max_size=k)))
    return rmt.AtomicLaw(xs, ws / ws.sum())


@hs.composite
def _continuous(draw):
    if draw(hs.booleans()):
        return rmt.Semicircle(draw(hs.floats(0.1, 3.0)), draw(hs.floats(-2.0, 2.0)))
    return rmt.MarchenkoPastur(draw(hs.floats(0.1, 0.9)), draw(hs.floats(0.5, 2.0)))


@settings(max_examples=15, deadline=None)
@given(_continuous(), _atomic(), hs.booleans())
def test_additive_properties(cont, atoms, swap):
    law = rmt.free_additive_convolution(atoms, cont) if swap else rmt.free_additive_convolution(cont, atoms)
    assert law.integrated_mass() == pytest.approx(1.0, abs=1e-10)
    for lo, hi in law.support():
        assert np.all(law.pdf(np.linspace(lo, hi, 101)) >= 0)
    z = np.linspace(law.support()[0][0] - 1, law.support()[-1][1] + 1, 40) + 1j * np.geomspace(1e-6, 3, 40)
    g = law.stieltjes(z)
    assert np.all(g.imag < 0) and np.all(np.abs(g) <= 1 / z.imag * (1 + 1e-12))
    # moments = sum of free cumulants of the inputs (the formula) = quadrature of the density
    assert_allclose([law.moment(k, method="quadrature") for k in range(1, 5)],
                    [law.moment(k) for k in range(1, 5)], rtol=1e-9, atol=1e-10)


@settings(max_examples=10, deadline=None)
@given(hs.floats(0.1, 0.9), _atomic(0.5, 4.0))
def test_multiplicative_properties(c, atoms):
    law = rmt.free_multiplicative_convolution(rmt.MarchenkoPastur(c), atoms)
    assert law.integrated_mass() == pytest.approx(1.0, abs=1e-10)
    for lo, hi in law.support():
        assert np.all(law.pdf(np.linspace(lo, hi, 101)) >= 0)
    z = np.linspace(0, law.support()[-1][1] + 1, 40) + 1j * np.geomspace(1e-6, 3, 40)
    g = law.stieltjes(z)
    assert np.all(g.imag < 0) and np.all(np.abs(g) <= 1 / z.imag * (1 + 1e-12))
    # first two moments of a product of free variables
    a1, a2, b1, b2 = law.first.moment(1), law.first.moment(2), law.second.moment(1), law.second.moment(2)
    assert law.moment(1) == pytest.approx(a1 * b1, rel=1e-9)
    assert law.moment(2) == pytest.approx(a2 * b1 ** 2 + a1 ** 2 * b2 - a1 ** 2 * b1 ** 2, rel=1e-9)


# ---- exact support edges (critical points of the inverse map) -------------------------------------

def _edges(law):
    return np.array(law.support(), dtype=float).ravel()


def _critical(a, b, kind="additive"):
    return FreeConvolution(a, b, kind, edges="critical")


def test_critical_edges_semicircle_sum_closed_form():
    conv = _critical(Semicircle(1.0), Semicircle(2.0, center=0.5))
    assert conv.edge_diagnostics["method"] == "critical points"
    np.testing.assert_allclose(_edges(conv), [0.5 - 2 * np.sqrt(3.0), 0.5 + 2 * np.sqrt(3.0)], rtol=1e-12)


def test_critical_edges_silverstein_blocks_equal_the_two_block_law():
    a, b = st.rmt.Silverstein([0.2], [1.0]), st.rmt.Silverstein([0.3], [10.0])
    np.testing.assert_allclose(_edges(_critical(a, b)),
                               _edges(st.rmt.Silverstein([0.2, 0.3], [1.0, 10.0])), rtol=1e-12)


def test_critical_edges_atoms_times_mp_equal_generalized_mp():
    atoms = AtomicLaw([1.0, 3.0, 9.0], [0.2, 0.5, 0.3])
    conv = _critical(atoms, st.rmt.MarchenkoPastur(0.4), "multiplicative")
    np.testing.assert_allclose(_edges(conv), _edges(st.rmt.GeneralizedMarchenkoPastur([1.0, 3.0, 9.0], [0.2, 0.5, 0.3], 0.4)),
                               rtol=1e-10)


def test_critical_edges_resolve_a_gap_far_narrower_than_the_grid_cell():
    # variance tuned (offline, by a root solve on the exact two-block law) so that the gap is 1e-5 wide;
    # the grid scan (2,048 cells over a hull of width ~8) cannot see it, the critical points do
    v = 3.9021198222279976
    exact = st.rmt.Silverstein([0.2, 0.2], [1.0, v])
    assert len(exact.support()) == 2 and 0.5e-5 < exact.support()[1][0] - exact.support()[0][1] < 2e-5
    conv = _critical(st.rmt.Silverstein([0.2], [1.0]), st.rmt.Silverstein([0.2], [v]))
    np.testing.assert_allclose(_edges(conv), _edges(exact), rtol=1e-10, atol=1e-12)
    grid = FreeConvolution(st.rmt.Silverstein([0.2], [1.0]), st.rmt.Silverstein([0.2], [v]), "additive", edges="grid")
    assert len(grid.support()) == 1           # the grid scan misses it


def test_critical_edges_semicircle_plus_two_atoms_match_the_cubic_discriminant():
    """Pastur's equation g = sum_i p_i/(z - x_i - s g) for atoms +-a is a cubic in g; the real edges are
    real roots of its discriminant in z (independent route: sympy polynomial algebra + numpy roots)."""
    import sympy as sp
    s2, a = 1.0, 2.0
    conv = _critical(Semicircle(s2), AtomicLaw([-a, a], [0.5, 0.5]))
    g, z = sp.symbols("g z")
    cubic = sp.expand(g * ((z - s2 * g) ** 2 - a**2) - (z - s2 * g))
    disc = sp.Poly(sp.discriminant(sp.Poly(cubic, g), g), z)
    roots = np.roots([float(c) for c in disc.all_coeffs()])
    real = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
    edges = _edges(conv)
    assert len(conv.support()) == 2
    for e in edges:                                   # every edge is a root of the discriminant
        assert np.min(np.abs(real - e)) < 1e-9 * max(1.0, abs(e)), (e, real)


def test_edges_default_to_critical_points_where_the_inputs_are_exact():
    exact = rmt.free_additive_convolution(Semicircle(1.0), AtomicLaw([0.0, 3.0]))
    assert exact.edge_diagnostics["method"] == "critical points"
    # a convolution of a convolution has no exact transform; a Dirac input is a shift: grid scan
    nested = rmt.free_additive_convolution(exact, Semicircle(0.5))
    shift = rmt.free_additive_convolution(Semicircle(1.0), AtomicLaw([2.0]))
    for law in (nested, shift):
        assert law.edge_diagnostics["method"] != "critical points"
        assert law.integrated_mass() == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(_edges(shift), [0.0, 4.0], atol=1e-9)
    with pytest.raises(st.SpectralTheoryError, match="edges"):
        FreeConvolution(Semicircle(1.0), Semicircle(1.0), "additive", edges="exact")
    with pytest.raises(st.SpectralTheoryError, match="exact transforms"):
        FreeConvolution(nested, Semicircle(1.0), "additive", edges="critical")


@hs.composite
def _blocks(draw, k_max=2):
    k = draw(hs.integers(1, k_max))
    v = draw(hs.lists(hs.floats(0.3, 4.0), min_size=k, max_size=k))
    w = draw(hs.lists(hs.floats(0.1, 1.0), min_size=k, max_size=k))
    return np.array(w), np.array(v)


def _open_gaps(law, margin=1e-3):
    """No pair of bulks within ``margin`` of merging (there the two routes may round differently)."""
    return bool(np.all(np.abs(law.merge_margin) > margin))


@settings(max_examples=25, deadline=None)
@given(_blocks(), _blocks(), hs.one_of(hs.just(1.0), hs.floats(0.2, 0.95)))
def test_critical_edges_of_block_sums_equal_the_block_law(first, second, total):
    """Asymptotic freeness: Silverstein(a1, v1) boxplus Silverstein(a2, v2) = Silverstein(a1 ++ a2,
    v1 ++ v2), whose edges come from the roots of H(s) = 1 (another equation, another solver); total
    weight 1 (square F: a hard edge at 0) included."""
    (w1, v1), (w2, v2) = first, second
    scale = total / (w1.sum() + w2.sum())
    exact = rmt.Silverstein(np.concatenate([w1, w2]) * scale, np.concatenate([v1, v2]))
    hypothesis_assume(_open_gaps(exact))
    conv = rmt.free_additive_convolution(rmt.Silverstein(w1 * scale, v1), rmt.Silverstein(w2 * scale, v2))
    assert conv.edge_diagnostics["method"] == "critical points"
    assert len(conv.support()) == len(exact.support())
    np.testing.assert_allclose(_edges(conv), _edges(exact), rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(hs.floats(0.1, 3.0), _atomic(0.5, 4.0))
def test_critical_edges_of_atoms_times_mp_equal_generalized_mp(c, atoms):
    """Free Poisson: AtomicLaw(t, h) boxtimes MP(c) = GeneralizedMarchenkoPastur(t, h, c), ratios
    below and above 1."""
    t, h = [x for x, _ in atoms.atoms], [w for _, w in atoms.atoms]
    exact = rmt.GeneralizedMarchenkoPastur(t, h, c)
    hypothesis_assume(_open_gaps(exact))
    conv = rmt.free_multiplicative_convolution(rmt.MarchenkoPastur(c), atoms)
    if len(t) > 1:                              # (one atom is a scaling: the grid scan serves it)
        assert conv.edge_diagnostics["method"] == "critical points"
    assert len(conv.support()) == len(exact.support())
    np.testing.assert_allclose(_edges(conv), _edges(exact), rtol=1e-9, atol=1e-12)


def test_critical_point_next_to_an_input_edge():
    """Regression: the left edge comes from a critical point 3e-4 (in arctan X) from the end of the
    Marchenko-Pastur branch; rounding put the outer-branch bisection just inside MP's support there,
    which once gave a NaN sample, a spurious root at the branch end and an edge off by 1e-6."""
    t, h = [3.53152234, 4.00186261], [0.40485373, 0.59514627]
    conv = rmt.free_multiplicative_convolution(rmt.MarchenkoPastur(0.39462875492119076), AtomicLaw(t, h))
    exact = rmt.GeneralizedMarchenkoPastur(t, h, 0.39462875492119076)
    np.testing.assert_allclose(_edges(conv), _edges(exact), rtol=1e-12)


def test_product_of_two_square_laws_has_its_hard_edge_at_zero():
    """Two Marchenko-Pastur laws of ratio 1 (hard edges at 0): the product's support starts at 0 exactly
    and a point at 1e-300 (where the subordination functions underflow) is reported as failed, not
    crashed on (numba raises on a complex division by zero; the kernels divide through ``cdiv``).
    The density grows like x^(-2/3) at 0, which the bulk quadrature (built for x^(-1/2)) integrates
    only to ~1e-5 (the pdf is not evaluated within 8 eps of an edge): mass and mean to 1e-4."""
    a, b = rmt.Silverstein([1.0], [0.6]), rmt.Silverstein([1.0], [0.9])
    law = rmt.free_multiplicative_convolution(a, b)
    assert law.edge_diagnostics["method"] == "critical points"
    assert law.support()[0][0] == 0.0
    assert law.integrated_mass() == pytest.approx(1.0, abs=1e-4)
    assert law.moment(1) == pytest.approx(0.6 * 0.9, abs=1e-4)
    res = law.stieltjes_result(np.array([1e-300 + 1e-300j, 1.0 + 1.0j]))
    assert not res.converged[0] and res.converged[1]


def test_critical_edges_find_a_gap_the_grid_scan_misses_in_a_product_of_atomic_laws():
    """Found by comparing the two edge methods on random inputs: a 9e-5 wide gap (the scan's cells are
    3e-3 wide). Independent check: the density from the subordination solver vanishes inside the
    gap and not just outside it."""
    a = AtomicLaw([0.3, 0.8, 1.7], [0.4568432527920954, 0.3171222848496168, 0.2260344623582878])
    b = AtomicLaw([1.0, 1.8, 4.1], [0.21426533585150434, 0.4393527286303565, 0.34638193551813923])
    law = rmt.free_multiplicative_convolution(a, b)
    assert len(law.support()) == 3
    (_, lo), (hi, _) = law.support()[1], law.support()[2]
    assert 5e-5 < hi - lo < 2e-4
    inside = law.pdf(np.linspace(lo, hi, 7)[1:-1])
    outside = law.pdf(np.array([lo - 1e-5, hi + 1e-5]))
    assert np.all(inside < 1e-12) and np.all(outside > 1e-4)
    assert law.integrated_mass() == pytest.approx(1.0, abs=1e-10)
    assert len(FreeConvolution(a, b, "multiplicative", edges="grid").support()) == 2


def test_a_point_the_kernel_rejects_falls_back_to_the_exact_continuation():
    """CI find (hypothesis): Semicircle(2.75) + delta_0 failed `pdf` at the grid point z = -4.4e-16 in a fresh
    environment (kernel status: off branch, residual 0); the exact route's fallback answers 1/(pi sqrt v)."""
    law = rmt.free_additive_convolution(rmt.Semicircle(2.75, 0.0), rmt.AtomicLaw([0.0], [1.0]))
    x = np.linspace(*law.support()[0], 101)
    assert law.pdf(x[50]) == pytest.approx(1 / (np.pi * np.sqrt(2.75)), rel=1e-12)
    assert np.all(law.pdf(x) >= 0)
