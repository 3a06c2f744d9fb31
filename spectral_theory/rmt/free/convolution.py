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
:mod:`._solver` (numba, ``prange`` over points, continuation from large Im z, warm starts along
the grid). The kernels use a discrete image of each input law (its atoms + the nodes of its bulk
quadrature: exact for atomic laws); every value is then **polished** by Newton's method on the exact
equations, using the input laws' own Stieltjes transforms (derivatives by a 4-point circle stencil of
radius 1e-3 times the distance to the input's support, relative error ~1e-12). The reported residual is
``|w1 - Phi_z(w1)| / |w1|`` with the exact transforms; ``converged`` requires it <= 1e-9, or for the
multiplicative kind at most its rounding floor ``4 eps |T| / |T - 1|`` (``T = z g``; the map evaluates
``T/(T - 1)``, and ``T - 1 ~ E[AB]/z`` cancels at large ``|z|``) where that is larger, up to 1e-6.

Atoms (Bercovici & Voiculescu 1998; Belinschi 2003): ``a boxplus b`` has an atom at ``x + y`` iff
``a{x} + b{y} > 1``, of weight ``a{x} + b{y} - 1``. ``a boxtimes b`` has an atom at 0 of weight
``max(a{0}, b{0})`` and an atom at ``x y != 0`` iff ``a{x} + b{y} > 1`` (weight ``a{x} + b{y} - 1``).

Support edges: :mod:`.edges` (exact, from the real critical points of the inverse map, for inputs with
exact transforms; else a grid scan).
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from ...checks import SpectralTheoryError
from .. import _kernels as K
from ..density import SpectralDensity, StieltjesResult, _as_real_array
from . import _solver as FK
from ._laws import kernel_law
from .edges import exact_bulks, grid_bulks

_TOL = 1e-14
_MAXITER = 20000
_N_CHUNKS = 64
_RESIDUAL_OK = 1e-9
_RESIDUAL_FLOOR_MAX = 1e-6      # no rounding floor excuses more: beyond it a point is reported failed
_POLISH_STEPS = 8
_STENCIL = 1e-3                    # circle-stencil radius relative to the distance to the support
_N_GRID = 2048


# ---- helpers ------------------------------------------------------------------------------------

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
    w = np.where((w.imag == 0) & law._in_bulks(w.real), w + 1e-14j * (1.0 + np.abs(w)), w)
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

    Attributes: ``first``, ``second`` (the input laws), ``kind``, ``edge_diagnostics`` (read-only
    mapping returned by the edge search: the method and its counts).
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
        (self._law_a, exact_a), (self._law_b, exact_b) = kernel_law(first), kernel_law(second)
        self._exact = exact_a and exact_b
        self._dirac = tuple(not law.support() and len(law.atoms) == 1 for law in (first, second))
        self._mean_a, self._mean_b = float(first.moment(1)), float(second.moment(1))
        self._bulks_a = np.array(first.support(), dtype=float).reshape(-1, 2)
        self._bulks_b = np.array(second.support(), dtype=float).reshape(-1, 2)
        lo, hi = self._hull
        self._eta_top = 2.0 * max(abs(lo), abs(hi), hi - lo) or 1.0
        if self._degenerate:
            self._bulks, self._edge_diagnostics = (), {}
        elif edges == "critical" or (edges == "auto" and self._exact and not any(self._dirac)):
            if not self._exact:
                raise SpectralTheoryError("`edges`='critical' needs inputs with exact transforms (semicircle, "
                                          "Marchenko-Pastur, Silverstein/GMP, atomic laws)")
            self._bulks, self._edge_diagnostics = exact_bulks(first, second, self._law_a, self._law_b,
                                                              kind == "multiplicative", self._hull)
        elif edges not in ("grid", "auto"):
            raise SpectralTheoryError(f"`edges` must be 'auto', 'critical' or 'grid'; got {edges!r}")
        else:
            self._bulks, self._edge_diagnostics = grid_bulks(self._boundary_g, self._hull, self._atoms, n_grid)

    @property
    def edge_diagnostics(self):
        """How the support edges were found (read-only mapping): ``method`` ("critical points" or
        "grid scan") and its counts (pairs of branches and critical points, or grid size, bisection
        steps, solver failures and the final bracket width)."""
        return MappingProxyType(self._edge_diagnostics)

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
            (dphi.real >= -1e-12) & (dphi.real < 1) & ~self.first._in_bulks(w1.real) & \
            ~self.second._in_bulks(w2.real)
        branch = np.where(z.imag > 0, inside, inside | real_dw)
        bound = _RESIDUAL_OK
        if self._kind == FK.KIND_MULTIPLICATIVE:
            with np.errstate(divide="ignore", invalid="ignore"):
                floor = 4 * np.finfo(float).eps * np.abs(z * g) / np.abs(z * g - 1)
            bound = np.clip(np.nan_to_num(floor, nan=np.inf), _RESIDUAL_OK, _RESIDUAL_FLOOR_MAX)
        return branch & (residual <= bound)

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
            if np.all(converged):
                return g, w1, w2, it, residual, converged
            # the rare point the kernel's continuation rejects (e.g. Semicircle + delta_0 at z = -4e-16, a
            # CI find): the generic route's exact continuation below
        else:
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
        xa = _as_real_array(x, "x")
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
    def _boundary_g(self, x):
        g, _, _, _, _, ok = self._solve(x + 0j)
        return g, ok

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


__all__ = ["free_cumulants", "FreeConvolution", "free_additive_convolution",
           "free_multiplicative_convolution"]
