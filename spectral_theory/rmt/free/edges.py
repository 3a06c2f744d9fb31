"""Support edges of a free convolution: exact (critical points of the inverse map) or by a grid scan.

Support edges, exactly (default for inputs with exact transforms: semicircle, Marchenko-Pastur,
Silverstein/GMP, atomic laws; not a single Dirac): the edges are the values of the inverse map at its
real critical points.  Outside the support the subordination functions are real; parametrised by
X = g (additive; z = w1 + w2 - 1/g with g_a(w1) = g_b(w2) = g) or X = T = w g(w) (multiplicative),
each input's real inverse is taken on every component of R minus its support (explicit z(g) where
known, else bisection), and a real point lies outside the convolution's support exactly where
dz/dX < 0.  Sign changes of dz/dX are found on 401 samples per pair of components (plus both ends),
bisected to rounding, and local extrema that stay on one side are refined by golden-section search, so a
gap or bulk narrower than the sample spacing is still found.  A gap may also end where a subordination
function reaches an input's edge (dz/dX stays negative up to the end of the branch).  Checked against
closed forms, the Silverstein law and GeneralizedMarchenkoPastur to ~1e-12 over random inputs
(tests/test_rmt_free.py).

Otherwise (``edges="grid"``, and the default for other inputs): the support lies in the hull
``[lo_a + lo_b, hi_a + hi_b]`` (``[lo_a lo_b, hi_a hi_b]``); the boundary density is evaluated at the
midpoints of ``n_grid`` cells (default 2048) and each in/out transition is refined by bisection on the
predicate ``-Im g(x + i0) > 1e-7 |g(x + i0)|``. Near a square-root edge ``-Im g ~ C sqrt(d)``, so an
edge is off by about ``(1e-7 |g| / C)^2`` (~1e-14 of the scale for order-one laws; the semicircle test
checks 1e-9). Bulks or gaps narrower than one grid cell are not seen (a missed bulk shows up as
``integrated_mass() < 1``); a density below ``1e-7 |g|`` inside a bulk would split it.
"""
from __future__ import annotations

import numpy as np

from ..marchenko_pastur import MarchenkoPastur
from ..semicircle import Semicircle
from ..silverstein import Silverstein
from ._real import real_inverse_many

_INSIDE = 1e-7                     # -Im g > _INSIDE |g|: x is inside the support


# ---- exact: real critical points of the inverse map ----------------------------------------------

_EDGE_SAMPLES = 401        # samples of the real parameter per pair of branches (then refined)
_BISECT = 200              # bisection steps (stop earlier when the bracket is at rounding level)


class _RealBranches:
    """The real branches of the inverse of X = g (additive) or X = T = w g(w) (multiplicative) of an
    exactly known input law, on the components of R minus its support ("obstacles": bulks and atoms;
    for T an atom at 0 is no obstacle, T is analytic there).

    X is strictly decreasing in w on every component (X' = -int dmu/(w - l)^2 for g,
    -int l dmu/(w - l)^2 for T on [0, inf)), so each component is a bijection onto an open interval of X
    and the inverse is found by bisection (exact to rounding). The outer component (through w = inf,
    where X = X_inf = 0 resp. 1) is searched in theta = arctan(1/(w - c)), c the centre of the hull.
    """

    def __init__(self, law, kernel_law, multiplicative):
        self.law, self.kl, self.mult = law, kernel_law, multiplicative
        self.x_inf = 1.0 if multiplicative else 0.0
        obst = [(lo, hi, "bulk") for lo, hi in law.support()]
        obst += [(x, x, "atom") for x, _ in law.atoms if not (multiplicative and x == 0.0)]
        obst.sort()
        self.obstacles = obst
        comps = [("outer", obst[-1][1], obst[0][0], obst[-1], obst[0])] if obst else []
        for left, right in zip(obst[:-1], obst[1:]):
            if right[0] > left[1]:
                comps.append(("bounded", left[1], right[0], left, right))
        self.components = []
        for kind, lo, hi, left, right in comps:
            x_at_lo = self._end_value(lo, left, from_right=True)    # X just right of lo
            x_at_hi = self._end_value(hi, right, from_right=False)  # X just left of hi
            # X decreasing in w: bounded (lo, hi) -> (X(hi-), X(lo+)); outer (hi_last, inf) u
            # (-inf, lo_first) -> (X(lo_first-), X(hi_last+)) through X_inf
            self.components.append((kind, lo, hi, x_at_hi, x_at_lo))

    def _edge_g(self, e):
        law = self.law
        if isinstance(law, Semicircle):
            return float(np.sign(e - law.center)) / np.sqrt(law.variance)
        if isinstance(law, MarchenkoPastur):
            s, c = law.scale, law.aspect
            return (e - s * (1 - c)) / (2 * s * c * e)
        eq = law._eq
        s_star = eq.critical_s[np.argmin(np.abs(eq.edges - e))]
        return (1.0 / s_star - (1.0 - law._c) / e) / law._c

    def _end_value(self, e, obstacle, from_right):
        _, _, what = obstacle
        if what == "atom" or e == 0.0:          # a pole, or a hard edge at 0 (g ~ 1/sqrt)
            if self.mult and e == 0.0:
                return 0.0                       # T(w) = w g(w) -> 0 at a hard edge at 0
            return np.inf if from_right else -np.inf
        g = self._edge_g(e)
        return e * g if self.mult else g

    def _explicit_inverse(self):
        """For additive X = g, laws whose inverse map is explicit: z(g) = 1/g + R(g) and z'(g).

        Semicircle R = m + s g; Marchenko-Pastur R = s/(1 - c s g); Silverstein (the equation of
        spectral_gaps.md) z = 1/g + sum_k a_k v_k/(1 - v_k g).  None otherwise (then bisection).  Since
        z(g(w)) = w for every real w outside the support, this is the exact inverse on every component.
        """
        law = self.law
        if self.mult:
            return None
        if isinstance(law, Semicircle):
            m, s2 = law.center, law.variance
            return (lambda g: m + 1 / g + s2 * g), (lambda g: -1 / g**2 + s2)
        if isinstance(law, MarchenkoPastur):
            c, s = law.aspect, law.scale
            return (lambda g: 1 / g + s / (1 - c * s * g)), (lambda g: -1 / g**2 + c * s**2 / (1 - c * s * g) ** 2)
        if isinstance(law, Silverstein):
            a, v = np.asarray(law.fractions), np.asarray(law.variances)
            return (lambda g: 1 / g + np.sum(a * v / (1 - np.multiply.outer(g, v)), axis=-1),
                    lambda g: -1 / g**2 + np.sum(a * v**2 / (1 - np.multiply.outer(g, v)) ** 2, axis=-1))
        return None

    def inverse(self, comp, target):
        """w on component ``comp`` with X(w) = target (array); X(w) and X'(w) there.  Explicit where the
        law's inverse map is known (:meth:`_explicit_inverse`), else by bisection."""
        kind, lo, hi, _, _ = comp
        explicit = self._explicit_inverse()
        if explicit is not None:
            z, dz = explicit
            X = np.asarray(target, dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                w = z(X)
                return w, X.copy(), 1.0 / dz(X)
        return real_inverse_many(self.kl, self.mult, kind == "outer", float(lo), float(hi),
                                    np.ascontiguousarray(target, dtype=np.float64))


def _pair_curve(bra, brb, ca, cb, mult):
    """theta -> (D, z) on the pair of branches (ca of law a, cb of law b) with X = X_inf + tan theta.

    D = dz/dX divided by a positive scale (D in [-1, 1]); D < 0 exactly where the real point z(X) is
    outside the support (module docstring).
    """
    def curve(theta):
        # X -> X_inf is w -> inf on an outer branch (z = inf - inf there, and the R-transform
        # cancellation loses eps/X^2): step off it (the pieces are smooth across it)
        theta = np.where(np.abs(theta) < 1e-6, np.copysign(1e-6, theta), theta)
        X = bra.x_inf + np.tan(theta)
        w1, _, d1 = bra.inverse(ca, X)
        w2, _, d2 = brb.inverse(cb, X)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if mult:                              # dzeta/dT of zeta = W1 W2 (T - 1)/T, term by term
                t1 = w2 * (X - 1.0) / (X * d1)
                t2 = w1 * (X - 1.0) / (X * d2)
                t3 = w1 * w2 / (X * X)
                z = w1 * w2 * (X - 1.0) / X
            else:                                 # dz/dg of z = w1 + w2 - 1/g
                t1, t2, t3 = 1.0 / d1, 1.0 / d2, 1.0 / (X * X)
                z = w1 + w2 - 1.0 / X
            # positive scale; on an outer branch its term and t3 blow up together at X -> X_inf
            # and cancel (R-transform), so they are scaled as one
            if ca[0] == "outer" and cb[0] != "outer":
                scale = np.abs(t2) + np.abs(t1 + t3)
            elif cb[0] == "outer" and ca[0] != "outer":
                scale = np.abs(t1) + np.abs(t2 + t3)
            else:
                scale = np.abs(t1) + np.abs(t2) + np.abs(t3)
            D = (t1 + t2 + t3) / scale
        return D, z
    return curve


def _bisect_roots(f, a, b):
    """Sign changes of f bracketed by (a, b) (arrays, f(a) and f(b) of opposite sign) -> roots."""
    fa = f(a)[0]
    for _ in range(_BISECT):
        m = 0.5 * (a + b)
        open_ = (m > a) & (m < b)
        if not np.any(open_):
            break
        fm = f(m)[0]
        same = np.sign(fm) == np.sign(fa)
        a = np.where(open_ & same, m, a)
        b = np.where(open_ & ~same, m, b)
    return 0.5 * (a + b)


def _golden(f, a, b, sign):
    """argmin of sign * f on (a, b) (arrays; f unimodal there) by golden-section search."""
    r = 0.5 * (np.sqrt(5.0) - 1.0)
    c, d = b - r * (b - a), a + r * (b - a)
    for _ in range(90):
        fc, fd = sign * f(c)[0], sign * f(d)[0]
        left = fc < fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        c, d = b - r * (b - a), a + r * (b - a)
        if np.all(b - a <= 4e-16 * np.maximum(np.abs(a), np.abs(b)) + 1e-300):
            break
    m = 0.5 * (a + b)
    return m, f(m)[0]


def _pair_gaps(bra, brb, ca, cb, mult, n=_EDGE_SAMPLES):
    """Gaps (x_lo, x_hi) of the convolution's support produced by one pair of branches."""
    lo_x, hi_x = max(ca[3], cb[3]), min(ca[4], cb[4])
    if not lo_x < hi_x:
        return [], 0
    t_lo, t_hi = np.arctan(lo_x - bra.x_inf), np.arctan(hi_x - bra.x_inf)
    f = _pair_curve(bra, brb, ca, cb, mult)
    both_outer = ca[0] == "outer" and cb[0] == "outer"
    # cell midpoints plus the two ends (nudged inside): a critical point within half a cell of a range
    # end - e.g. next to an input law's own edge, where that branch ends - must still show a sign change
    ends = np.array([t_lo, t_hi]) + np.array([1.0, -1.0]) * 1e-12 * (t_hi - t_lo)
    theta = np.concatenate([ends[:1], t_lo + (t_hi - t_lo) * (np.arange(n) + 0.5) / n, ends[1:]])
    D = f(theta)[0]
    keep = np.isfinite(D)                        # a sample exactly on an input's pole or edge tells nothing
    theta, D = theta[keep], D[keep]
    roots = []
    # sign changes between samples
    ch = np.flatnonzero(np.sign(D[1:]) != np.sign(D[:-1]))
    if ch.size:
        roots.append(_bisect_roots(f, theta[ch], theta[ch + 1]))
    # nearly touching bulks (or a thin bulk): a local extremum of D between samples may cross 0
    for sign in (1.0, -1.0):                     # minima with D > 0, maxima with D < 0
        s = sign * D
        ext = np.flatnonzero((s[1:-1] <= s[:-2]) & (s[1:-1] <= s[2:]) & (s[1:-1] > 0)) + 1
        if ext.size:
            m, fm = _golden(f, theta[ext - 1], theta[ext + 1], sign)
            hit = sign * fm < 0
            if np.any(hit):
                roots.append(_bisect_roots(f, theta[ext - 1][hit], m[hit]))
                roots.append(_bisect_roots(f, m[hit], theta[ext + 1][hit]))
    r = np.unique(np.concatenate(roots)) if roots else np.zeros(0)
    knots = np.concatenate([[t_lo], r, [t_hi]])
    mids = 0.5 * (knots[1:] + knots[:-1])
    Dm = f(mids)[0]

    def z_at(t, x_end):
        if not np.isfinite(x_end):
            # X -> +-inf at a range end: w1, w2 -> the atoms bounding the components, 1/X -> 0
            w1 = ca[1] if x_end > 0 else ca[2]
            w2 = cb[1] if x_end > 0 else cb[2]
            return w1 * w2 if mult else w1 + w2
        return float(f(np.array([t]))[1][0])

    gaps = []
    for i in np.flatnonzero(Dm < 0):
        ta, tb = knots[i], knots[i + 1]
        za = z_at(ta, lo_x if i == 0 else 0.0)
        zb = z_at(tb, hi_x if i + 1 == knots.size - 1 else 0.0)
        if both_outer and ta < 0.0 < tb:         # through w = inf: the outer gap
            gaps += [(zb, np.inf), (-np.inf, za)]
        else:
            gaps.append((zb, za))                 # z decreases along an admissible piece
    return gaps, int(r.size)


def exact_bulks(first, second, kernel_a, kernel_b, mult, hull):
    """Bulks of ``first`` boxplus/boxtimes ``second`` from the real critical points of the inverse map
    (module docstring); ``kernel_a``/``kernel_b`` their kernel tuples, ``hull`` the support's hull.
    Returns (bulks, diagnostics)."""
    bra = _RealBranches(first, kernel_a, mult)
    brb = _RealBranches(second, kernel_b, mult)
    gaps, n_roots = [], 0
    for ca in bra.components:
        for cb in brb.components:
            g, k = _pair_gaps(bra, brb, ca, cb, mult)
            gaps += g
            n_roots += k
    gaps = sorted((a, b) for a, b in gaps if b > a)
    merged = []
    for a, b in gaps:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    bulks = []
    lo, hi = hull                                # the support lies in the hull: clip rounding past it
    for (_, a), (b, _) in zip(merged[:-1], merged[1:]):
        a, b = max(a, lo), min(b, hi)
        if b > a:
            bulks.append((float(a), float(b)))
    diagnostics = {"method": "critical points", "n_pairs": len(bra.components) * len(brb.components),
                   "critical_points": n_roots, "samples_per_pair": _EDGE_SAMPLES}
    return tuple(bulks), diagnostics


# ---- grid scan --------------------------------------------------------------------------------

def grid_bulks(boundary_g, hull, atoms, n_grid):
    """Bulks by the grid scan: ``n_grid`` cell midpoints of the hull, each in/out transition bisected
    on the predicate ``-Im g(x + i0) > _INSIDE |g(x + i0)|``.

    ``boundary_g(x) -> (g, ok)``: the convolution's g(x + i0) at real points and the solver's success.
    Returns (bulks, diagnostics).
    """
    def inside_at(x):
        g, ok = boundary_g(x)
        return -g.imag > _INSIDE * np.abs(g), ok

    lo, hi = hull
    if hi <= lo:
        return (), {"method": "grid scan", "n_grid": n_grid}
    h = (hi - lo) / n_grid
    x = lo + (np.arange(n_grid) + 0.5) * h
    atoms = np.array([a for a, _ in atoms])
    if atoms.size:                               # never evaluate on top of a pole
        hit = np.isin(x, atoms)
        x[hit] += 0.25 * h
    inside, ok = inside_at(x)
    failures = int((~ok).sum())
    # in/out transitions, with the hull ends counted as outside
    state = np.concatenate([[False], inside, [False]])
    pts = np.concatenate([[lo], x, [hi]])
    flips = np.flatnonzero(state[1:] != state[:-1])
    a, b = pts[flips].copy(), pts[flips + 1].copy()      # a has state[flips], b the other
    a_in = state[flips]
    steps = 0
    while True:
        open_ = (b - a) > 4 * np.finfo(float).eps * np.maximum(np.abs(a), np.abs(b)) + 1e-300
        open_ &= ((a + b) / 2 != a) & ((a + b) / 2 != b)
        if not np.any(open_) or steps > 200:
            break
        mid = 0.5 * (a + b)
        ins, okm = inside_at(mid[open_])
        failures += int((~okm).sum())
        same = ins == a_in[open_]
        idx = np.flatnonzero(open_)
        a[idx[same]] = mid[open_][same]
        b[idx[~same]] = mid[open_][~same]
        steps += 1
    # the edge is the inside end of each final bracket
    edges = np.where(a_in, a, b)
    diagnostics = {"method": "grid scan", "n_grid": n_grid, "bisection_steps": steps, "solver_failures": failures,
                   "bracket_width": float(np.max(np.abs(b - a))) if a.size else 0.0}
    return tuple((float(edges[i]), float(edges[i + 1])) for i in range(0, edges.size, 2)), diagnostics


__all__ = ["exact_bulks", "grid_bulks"]
