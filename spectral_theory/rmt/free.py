"""Free additive and multiplicative convolution of two spectral laws, by subordination.

* ``free_additive_convolution(a, b)``: the limit law of ``A + U B U^T`` (U Haar orthogonal), i.e.
  ``a boxplus b``. Subordination (Voiculescu 1993, Biane 1998): analytic ``w1, w2`` on the upper half
  plane with

  .. math::  g(z) = g_a(w_1(z)) = g_b(w_2(z)), \\qquad w_1(z) + w_2(z) = z + 1/g(z).

* ``free_multiplicative_convolution(a, b)`` (a, b on [0, inf)): the limit law of
  ``A^{1/2} U B U^T A^{1/2}``, i.e. ``a boxtimes b``. With ``T(w) = w g(w)`` (so ``T(1/z) = 1 + psi(z)``
  and ``eta = 1 - 1/T``) and ``W_i = 1/omega_i(1/zeta)``:

  .. math::  T_a(W_1(\\zeta)) = T_b(W_2(\\zeta)) = \\zeta g(\\zeta), \\qquad
             W_1 W_2 = \\zeta T / (T - 1).

Both are solved as the attracting fixed point of ``w1 -> Phi_z(w1)`` (Belinschi & Bercovici, "A new
approach to subordination results in free probability", J. Anal. Math. 101, 2007), see
:mod:`._free_kernels` (numba, ``prange`` over points, continuation from large Im z, warm starts along
the grid). The kernels use a discrete image of each input law (its atoms + the nodes of its bulk
quadrature: exact for atomic laws); every value is then **polished** by Newton's method on the exact
equations, using the input laws' own Stieltjes transforms (derivatives by a 4-point circle stencil of
radius 1e-3 times the distance to the input's support, relative error ~1e-12). The reported residual is
``|w1 - Phi_z(w1)| / |w1|`` with the exact transforms; ``converged`` requires it <= 1e-9.

Atoms (Bercovici & Voiculescu 1998; Belinschi 2003): ``a boxplus b`` has an atom at ``x + y`` iff
``a{x} + b{y} > 1``, of weight ``a{x} + b{y} - 1``. ``a boxtimes b`` has an atom at 0 of weight
``max(a{0}, b{0})`` and an atom at ``x y != 0`` iff ``a{x} + b{y} > 1`` (weight ``a{x} + b{y} - 1``).

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

from math import comb

import numpy as np

from .._checks import SpectralTheoryError, scalar
from . import _free_kernels as FK
from . import _kernels as K
from .atomic import AtomicLaw  # noqa: F401  (re-exported: st.rmt.free.AtomicLaw)
from .density import SpectralDensity, StieltjesResult
from .marchenko_pastur import MarchenkoPastur
from .silverstein import Silverstein, _CompanionLaw

_TOL = 1e-14
_MAXITER = 20000
_N_CHUNKS = 64
_RESIDUAL_OK = 1e-9
_POLISH_STEPS = 8
_STENCIL = 1e-3                    # circle-stencil radius relative to the distance to the support
_INSIDE = 1e-7                     # -Im g > _INSIDE |g|: x is inside the support
_N_GRID = 2048


# ---- two closed-form laws that the convolutions are tested against ----------------------------

class Semicircle(SpectralDensity):
    """Wigner semicircle with ``center`` m and ``variance`` s2 (radius R = 2 sqrt(s2)).

    .. math::  \\rho(x) = \\frac{2}{\\pi R^2}\\sqrt{R^2 - (x - m)^2},\\qquad
               g(z) = \\frac{(z - m) - \\sqrt{z - m - R}\\,\\sqrt{z - m + R}}{2 s_2}.

    Free cumulants: kappa_1 = m, kappa_2 = s2, the rest 0; central moments s2^k Catalan(k).
    """

    def __init__(self, variance=1.0, center=0.0):
        self.variance = s2 = scalar(variance, "variance", positive=True)
        self.center = m = scalar(center, "center")
        self.radius = 2.0 * np.sqrt(s2)
        self._bulks = ((m - self.radius, m + self.radius),)

    def _pdf_inside(self, x):
        u = x - self.center
        return 2.0 / (np.pi * self.radius ** 2) * np.sqrt(np.maximum(self.radius ** 2 - u * u, 0.0))

    def _stieltjes_result(self, z):
        u, r = z - self.center, self.radius
        # (u - S)/(2 s2) with S = sqrt(u - r) sqrt(u + r), rationalised ((u - S)(u + S) = r^2 = 4 s2) so
        # that nothing cancels at large |z|, where g ~ 1/z
        g = 2.0 / (u + np.sqrt(u - r) * np.sqrt(u + r))
        res = np.abs(self.variance * g * g - u * g + 1.0) / (np.abs(self.variance * g * g) + np.abs(u * g) + 1.0)
        return StieltjesResult(g, np.zeros(z.shape, dtype=int), res, np.ones(z.shape, dtype=bool))

    def boundary_stieltjes(self, x):
        xa = np.asarray(x, dtype=np.float64)
        u, r = xa - self.center, self.radius
        inside = np.abs(u) <= r
        root = np.where(inside, 1j * np.sqrt(np.maximum(r * r - u * u, 0.0)),
                        np.sqrt(u + 0j - r) * np.sqrt(u + 0j + r))
        return (u - root) / (2.0 * self.variance)

    def _cdf_formula(self, x):
        u = np.clip((x - self.center) / self.radius, -1.0, 1.0)
        return 0.5 + (u * np.sqrt(1.0 - u * u) + np.arcsin(u)) / np.pi

    def _moment_formula(self, k):
        m, s2 = self.center, self.variance
        central = [s2 ** (j // 2) * comb(j, j // 2) / (j // 2 + 1) if j % 2 == 0 else 0.0 for j in range(k + 1)]
        return float(sum(comb(k, j) * m ** (k - j) * central[j] for j in range(k + 1)))

    def __repr__(self):
        return f"Semicircle(variance={self.variance}, center={self.center})"


# ---- helpers ------------------------------------------------------------------------------------

def _discretize(law: SpectralDensity):
    """Atoms + bulk quadrature nodes of ``law`` as a discrete measure (x, m) for the kernels."""
    xs = [np.array([x for x, _ in law.atoms], dtype=float)]
    ms = [np.array([w for _, w in law.atoms], dtype=float)]
    for q in law._quadratures:
        keep = q.node_mass > 0
        xs.append(q.nodes[keep])
        ms.append(q.node_mass[keep])
    return np.ascontiguousarray(np.concatenate(xs)), np.ascontiguousarray(np.concatenate(ms))


def _kernel_law(law: SpectralDensity):
    """(law tuple for :mod:`._free_kernels`, exact?): closed forms / companion equation where known,
    else the discrete image (atoms + bulk quadrature nodes)."""
    empty, no_gaps = np.zeros(0), np.zeros((4, 0))
    if isinstance(law, Semicircle):
        return (FK.LAW_SEMICIRCLE, np.array([law.center, law.variance]), empty, empty, no_gaps), True
    if isinstance(law, MarchenkoPastur):
        return (FK.LAW_MARCHENKO_PASTUR, np.array([law.aspect, law.scale]), empty, empty, no_gaps), True
    if isinstance(law, _CompanionLaw):
        eq = law._eq
        gaps = np.ascontiguousarray(np.stack([eq.gap_x_lo, eq.gap_x_hi, eq.gap_s_lo, eq.gap_s_hi]))
        return (FK.LAW_COMPANION, np.array([law._c, eq.eta_top]), eq.a, eq.v, gaps), True
    x, m = _discretize(law)
    return (FK.LAW_DISCRETE, np.zeros(2), x, m, no_gaps), law.is_atomic


def _hull(law):
    pts = [e for b in law.support() for e in b] + [x for x, _ in law.atoms]
    return min(pts), max(pts)


def _distance_to_support(law, w):
    d = np.full(w.shape, np.inf)
    for lo, hi in law.support():
        dx = np.maximum(np.maximum(lo - w.real, w.real - hi), 0.0)
        d = np.minimum(d, np.hypot(dx, w.imag))
    for x, _ in law.atoms:
        d = np.minimum(d, np.abs(w - x))
    return d


def _exact_g(law, w):
    """g(w) and g'(w) from the law's own transform (4-point circle stencil for g')."""
    w = np.where((w.imag == 0) & law.in_support(w.real), w + 1e-14j * (1.0 + np.abs(w)), w)
    d = _distance_to_support(law, w)
    r = _STENCIL * np.maximum(d, 1e-12 * (1.0 + np.abs(w)))
    pts = np.concatenate([w, w + r, w + 1j * r, w - r, w - 1j * r])
    res = law.stieltjes_result(pts)
    v = res.value.reshape(5, -1)
    ok = res.converged.reshape(5, -1).all(axis=0)
    dg = (v[1] - 1j * v[2] - v[3] + 1j * v[4]) / (4.0 * r)
    return v[0], dg, ok


def free_cumulants(moments):
    """Free cumulants kappa_1..kappa_K from moments m_0..m_K (kappa[0] = 0), exact recursion.

    m_n = kappa_n + (terms in kappa_1..kappa_{n-1}), so kappa_n = m_n - m_n[kappa_1..kappa_{n-1}, 0].
    """
    m = np.asarray(moments, dtype=float)
    kmax = m.size - 1
    kappa = np.zeros(kmax + 1)
    for n in range(1, kmax + 1):
        kappa[n] = m[n] - K.free_cumulant_moments(kappa, kmax)[n]
    return kappa


# ---- the convolutions ---------------------------------------------------------------------------

class FreeConvolution(SpectralDensity):
    """Free additive (``kind="additive"``) or multiplicative convolution of two laws.

    ``edges``: "auto" (default: "critical" when both inputs have exact transforms and neither is a
    single Dirac mass, else "grid"), "critical" (exact, from the real critical points of the inverse
    map) or "grid" (``n_grid`` cells + bisection); see the module docstring.

    Attributes: ``first``, ``second`` (the input laws), ``kind``, ``edge_diagnostics`` (dict: the
    method and its counts: critical points found, or grid size, bisection steps and solver failures).
    Use :func:`free_additive_convolution` / :func:`free_multiplicative_convolution`.
    """

    def __init__(self, first: SpectralDensity, second: SpectralDensity, kind: str, n_grid: int = _N_GRID,
                 edges: str = "auto"):
        for name, law in (("first", first), ("second", second)):
            if not isinstance(law, SpectralDensity):
                raise SpectralTheoryError(f"`{name}` must be a SpectralDensity; got {type(law).__name__}")
        if kind not in ("additive", "multiplicative"):
            raise SpectralTheoryError(f"`kind` must be 'additive' or 'multiplicative'; got {kind!r}")
        self.first, self.second, self.kind = first, second, kind
        self._kind = FK.KIND_ADDITIVE if kind == "additive" else FK.KIND_MULTIPLICATIVE
        (lo_a, hi_a), (lo_b, hi_b) = _hull(first), _hull(second)
        if kind == "multiplicative":
            for name, lo in (("first", lo_a), ("second", lo_b)):
                if lo < 0:
                    raise SpectralTheoryError(f"`{name}`: free multiplicative convolution needs a law on "
                                              f"[0, inf); its support reaches {lo}")
            self._hull = (lo_a * lo_b, hi_a * hi_b)
        else:
            self._hull = (lo_a + lo_b, hi_a + hi_b)
        self._atoms = self._convolution_atoms()
        if kind == "multiplicative":
            self._moment_formula = None          # no closed form wired in: moments by quadrature
        self._degenerate = self.continuous_mass <= 1e-14
        (self._law_a, exact_a), (self._law_b, exact_b) = _kernel_law(first), _kernel_law(second)
        self._exact = exact_a and exact_b
        self._dirac = tuple(not law.support() and len(law.atoms) == 1 for law in (first, second))
        self._mean_a, self._mean_b = float(first.moment(1)), float(second.moment(1))
        self._bulks_a = np.array(first.support(), dtype=float).reshape(-1, 2)
        self._bulks_b = np.array(second.support(), dtype=float).reshape(-1, 2)
        lo, hi = self._hull
        self._eta_top = 2.0 * max(abs(lo), abs(hi), hi - lo) or 1.0
        self.edge_diagnostics = {}
        if self._degenerate:
            self._bulks = ()
        elif edges == "critical" or (edges == "auto" and self._exact and not any(self._dirac)):
            if not self._exact:
                raise SpectralTheoryError("`edges`='critical' needs inputs with exact transforms (semicircle, "
                                          "Marchenko-Pastur, Silverstein/GMP, atomic laws)")
            self._bulks = _exact_bulks(self)
        elif edges not in ("grid", "auto"):
            raise SpectralTheoryError(f"`edges` must be 'auto', 'critical' or 'grid'; got {edges!r}")
        else:
            self._bulks = self._find_bulks(n_grid)

    # ---- atoms ---------------------------------------------------------------------------------
    def _convolution_atoms(self):
        out = {}
        add = self.kind == "additive"
        if not add:
            a0 = sum(w for x, w in self.first.atoms if x == 0)
            b0 = sum(w for x, w in self.second.atoms if x == 0)
            if max(a0, b0) > 0:
                out[0.0] = max(a0, b0)
        for x, wa in self.first.atoms:
            for y, wb in self.second.atoms:
                if wa + wb > 1.0 and (add or (x != 0 and y != 0)):
                    loc = x + y if add else x * y
                    out[loc] = out.get(loc, 0.0) + wa + wb - 1.0
        return tuple(sorted(out.items()))

    # ---- solver --------------------------------------------------------------------------------
    def _exact_map(self, z, w1):
        """Phi_z(w1), Phi'(w1), w2 and g with the inputs' exact transforms (numpy, vectorised)."""
        ga, dga, oka = _exact_g(self.first, w1)
        if self._kind == FK.KIND_ADDITIVE:
            ha, dha = 1.0 / ga - w1, -dga / ga ** 2 - 1.0
            w2 = z + ha
            gb, dgb, okb = _exact_g(self.second, w2)
            hb, dhb = 1.0 / gb - w2, -dgb / gb ** 2 - 1.0
            return z + hb, dhb * dha, w2, ga, oka & okb
        ta, dta = w1 * ga, ga + w1 * dga
        pa, dpa = ta / (ta - 1.0), -dta / (ta - 1.0) ** 2
        w2 = z * pa / w1
        dw2 = z * (dpa / w1 - pa / w1 ** 2)
        gb, dgb, okb = _exact_g(self.second, w2)
        tb, dtb = w2 * gb, gb + w2 * dgb
        pb, dpb = tb / (tb - 1.0), -dtb / (tb - 1.0) ** 2
        phi = z * pb / w2
        return phi, z * (dpb / w2 - pb / w2 ** 2) * dw2, w2, ta / z, oka & okb

    def _polish(self, z, w1, active, it):
        """Newton on w1 = Phi_z(w1) with the exact transforms (in place on w1/it, where ``active``).

        A point stops when its step is at rounding level or when the residual stops decreasing
        (then the best value so far is kept).
        """
        best_res = np.full(z.shape, np.inf)
        active = active.copy()
        for _ in range(_POLISH_STEPS):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            phi, dphi, _, _, ok = self._exact_map(z[idx], w1[idx])
            f = w1[idx] - phi
            res = np.abs(f) / np.abs(w1[idx])
            worse = ~(res < best_res[idx]) | ~ok
            best_res[idx] = np.where(worse, best_res[idx], res)
            it[idx] += 1
            with np.errstate(divide="ignore", invalid="ignore"):
                step = f / (1.0 - dphi)
            new = w1[idx] - step
            new = np.where((z[idx].imag == 0) & (new.imag < 0), np.conj(new), new)
            move = ~worse & np.isfinite(new) & (np.abs(step) > 4e-16 * np.abs(w1[idx]))
            w1[idx[move]] = new[move]
            active[idx[~move]] = False

    def _finish(self, z, w1):
        """(g, w2, residual, converged) at w1 from the exact numpy map (generic inputs)."""
        phi, dphi, w2, g, ok = self._exact_map(z, w1)
        with np.errstate(divide="ignore", invalid="ignore"):
            residual = np.abs(w1 - phi) / np.abs(w1)
        residual = np.where(np.isfinite(residual), residual, np.inf)
        return g, w2, residual, ok & self._accept(z, w1, w2, g, dphi, residual)

    def _accept(self, z, w1, w2, g, dphi, residual):
        """Branch test and residual bound of a solution of the exact equations."""
        # Im z > 0: the fixed point in the upper half plane is unique (Schwarz-Pick). Real z: either
        # inside the support (Im w1 > 0, Im g < 0), or outside, where the value is the boundary
        # Denjoy-Wolff point: real, 0 <= Phi' < 1 (Julia), w1 and w2 off the inputs' bulks.
        # (a point-mass input b = delta_y makes the convolution a shift/scaling of a, and w1 = z - y
        # resp. zeta / y is then real on the real axis: only the other function leaves the axis)
        inside = ((w1.imag > 0) | self._dirac[1]) & ((w2.imag > 0) | self._dirac[0]) & (g.imag < 0)
        real_dw = (np.abs(w1.imag) <= 1e-12 * np.abs(w1)) & (np.abs(w2.imag) <= 1e-12 * np.abs(w2)) & \
            (dphi.real >= -1e-12) & (dphi.real < 1) & ~self.first.in_support(w1.real) & \
            ~self.second.in_support(w2.real)
        branch = np.where(z.imag > 0, inside, inside | real_dw)
        return branch & (residual <= _RESIDUAL_OK)

    def _solve(self, z):
        """(g, w1, w2, iterations, residual, converged) at complex z with Im z >= 0.

        Exact inputs (atomic, semicircle, Marchenko-Pastur, Silverstein-type laws): the numba kernel
        evaluates the inputs' transforms exactly and its values are final. Generic inputs: kernel on
        their discrete image, Newton polish with the exact transforms, and where that fails (the
        discrete image is poor when w1 or w2 comes close to an input's support) an exact
        continuation: Newton with the exact transforms along Im z + eta_top 10^-k, started from the
        kernel's value at Im z + eta_top (far from the axis).
        """
        z = np.asarray(z, dtype=np.complex128).ravel()
        w1, w2, g, dphi, residual, it, st = self._kernel(z)
        if self._exact:
            converged = (st == FK.STATUS_OK) & self._accept(z, w1, w2, g, dphi, residual)
            return g, w1, w2, it, residual, converged
        self._polish(z, w1, np.isfinite(w1) & (st == FK.STATUS_OK), it)
        g, w2, residual, converged = self._finish(z, w1)
        hard = np.flatnonzero(~converged)
        if hard.size:
            zh = z[hard]
            wh, _, _, _, _, ith, _ = self._kernel(zh + 1j * self._eta_top)
            for k in range(1, 16):
                zk = zh + 1j * (self._eta_top * 10.0 ** -k if k < 15 else 0.0)
                self._polish(zk, wh, np.isfinite(wh), ith)
            gh, w2h, rh, ch = self._finish(zh, wh)
            w1[hard], g[hard], w2[hard], residual[hard], converged[hard] = wh, gh, w2h, rh, ch
            it[hard] += ith
        return g, w1, w2, it, residual, converged

    def _kernel(self, z):
        """The numba solver on the sorted grid; returns (w1, w2, g, Phi', residual, iterations, status)."""
        order = np.lexsort((z.real, z.imag))
        zs = np.ascontiguousarray(z[order])
        out = FK.solve_grid(self._kind, zs, self._law_a, self._law_b, self._bulks_a, self._bulks_b,
                            self._mean_a, self._mean_b, self._eta_top, _TOL, _MAXITER, _N_CHUNKS)
        inv = np.empty_like(order)
        inv[order] = np.arange(order.size)
        return tuple(arr[inv] for arr in out)

    def _stieltjes_result(self, z):
        if self._degenerate:
            g = sum(w / (z - x) for x, w in self._atoms)
            return StieltjesResult(g, np.zeros(z.shape, dtype=int), np.zeros(z.shape), np.ones(z.shape, dtype=bool))
        g, _, _, it, res, ok = self._solve(z)
        return StieltjesResult(g, it, res, ok)

    def subordination(self, z):
        """(w1, w2) at z (Im z >= 0): for additive g(z) = g_a(w1) = g_b(w2); for multiplicative
        the spectral-variable functions W1, W2 with T_a(W1) = T_b(W2) = z g(z)."""
        _, w1, w2, it, res, ok = self._solve(np.atleast_1d(z))
        StieltjesResult(w1, it, res, ok).raise_if_failed("subordination")
        return w1, w2

    def boundary_stieltjes(self, x):
        """g(x + i0) for real x (limit from the upper half plane)."""
        xa = np.asarray(x, dtype=np.float64)
        res = self._stieltjes_result(xa.ravel() + 0j)
        res.raise_if_failed("boundary_stieltjes")
        return res.value.reshape(xa.shape)[()] if xa.ndim == 0 else res.value.reshape(xa.shape)

    def _pdf_inside(self, x):
        # at an exact (square-root) edge the density is 0, and the subordination map is neutral there
        # (Phi' = 1), so the solver would only crawl towards it: answer 0 without solving
        edges = np.array(self.support(), dtype=float).ravel()
        at_edge = np.zeros(x.shape, dtype=bool)
        for e in edges:
            at_edge |= np.abs(x - e) <= 8 * np.finfo(float).eps * max(abs(e), 1.0)
        out = np.zeros(x.shape)
        if np.any(~at_edge):
            g, _, _, it, res, ok = self._solve(x[~at_edge] + 0j)
            StieltjesResult(g, it, res, ok).raise_if_failed("pdf")
            out[~at_edge] = np.maximum(-g.imag / np.pi, 0.0)
        return out

    # ---- support -------------------------------------------------------------------------------
    def _inside(self, x):
        g, _, _, _, _, ok = self._solve(x + 0j)
        return -g.imag > _INSIDE * np.abs(g), ok

    def _find_bulks(self, n_grid):
        lo, hi = self._hull
        if hi <= lo:
            return ()
        h = (hi - lo) / n_grid
        x = lo + (np.arange(n_grid) + 0.5) * h
        atoms = np.array([a for a, _ in self._atoms])
        if atoms.size:                               # never evaluate on top of a pole
            hit = np.isin(x, atoms)
            x[hit] += 0.25 * h
        inside, ok = self._inside(x)
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
            ins, okm = self._inside(mid[open_])
            failures += int((~okm).sum())
            same = ins == a_in[open_]
            idx = np.flatnonzero(open_)
            a[idx[same]] = mid[open_][same]
            b[idx[~same]] = mid[open_][~same]
            steps += 1
        # the edge is the inside end of each final bracket
        edges = np.where(a_in, a, b)
        self.edge_diagnostics = {"method": "grid scan", "n_grid": n_grid, "bisection_steps": steps, "solver_failures": failures,
                                 "bracket_width": float(np.max(np.abs(b - a))) if a.size else 0.0}
        return tuple((float(edges[i]), float(edges[i + 1])) for i in range(0, edges.size, 2))

    # ---- moments -------------------------------------------------------------------------------
    def _moment_formula(self, k):
        if k == 0:
            return 1.0
        ka = free_cumulants([self.first.moment(j) for j in range(k + 1)])
        kb = free_cumulants([self.second.moment(j) for j in range(k + 1)])
        return float(K.free_cumulant_moments(ka + kb, k)[k])

    def __repr__(self):
        return f"FreeConvolution({self.first!r}, {self.second!r}, kind={self.kind!r})"


def free_additive_convolution(first: SpectralDensity, second: SpectralDensity) -> FreeConvolution:
    """Law of ``A + U B U^T`` for U Haar, in the large-size limit: ``first boxplus second``.

    Subordination (Biane 1998; Belinschi & Bercovici 2007): ``g(z) = g_a(w1) = g_b(w2)`` with
    ``w1 + w2 = z + 1/g(z)``; ``w1`` is the attracting fixed point of ``w -> z + h_b(z + h_a(w))``,
    ``h = 1/g - id``. Moments are exact from additivity of the free cumulants (``moment(k)``);
    atoms at ``x + y`` where ``a{x} + b{y} > 1``. See the module docstring for the edge accuracy.
    """
    return FreeConvolution(first, second, "additive")


def free_multiplicative_convolution(first: SpectralDensity, second: SpectralDensity) -> FreeConvolution:
    """Law of ``A^{1/2} U B U^T A^{1/2}`` (A, B >= 0, U Haar) in the large-size limit.

    With ``T(w) = w g(w)``: ``T_a(W1) = T_b(W2) = zeta g(zeta)`` and ``W1 W2 = zeta T/(T - 1)``
    (Belinschi & Bercovici 2007 in the spectral variable). Atom at 0 of weight ``max(a{0}, b{0})``.
    E.g. ``GeneralizedMarchenkoPastur(t, h, c)`` is ``AtomicLaw(t, h) boxtimes MarchenkoPastur(c)``.
    """
    return FreeConvolution(first, second, "multiplicative")


# ---- exact support edges: real critical points of the inverse map --------------------------------

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
        return FK.real_inverse_many(self.kl, self.mult, kind == "outer", float(lo), float(hi),
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


def _exact_bulks(conv):
    """Bulks of ``conv`` from the real critical points of its inverse map (see the module docstring)."""
    mult = conv.kind == "multiplicative"
    bra = _RealBranches(conv.first, conv._law_a, mult)
    brb = _RealBranches(conv.second, conv._law_b, mult)
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
    lo, hi = conv._hull                          # the support lies in the hull: clip rounding past it
    for (_, a), (b, _) in zip(merged[:-1], merged[1:]):
        a, b = max(a, lo), min(b, hi)
        if b > a:
            bulks.append((float(a), float(b)))
    conv.edge_diagnostics = {"method": "critical points", "n_pairs": len(bra.components) * len(brb.components),
                             "critical_points": n_roots, "samples_per_pair": _EDGE_SAMPLES}
    return tuple(bulks)
