"""Silverstein laws: ``C = F diag(v) F^T`` and the generalised Marchenko-Pastur law.

One equation serves both (see :mod:`._kernels`): the *companion* Stieltjes transform ``gc`` solves

.. math::  z = 1/g_c + \\sum_k a_k v_k / (1 - v_k g_c).

* ``Silverstein(fractions, variances)``: the D x D matrix ``C = F diag(v) F^T``, F with iid N(0, 1/D)
  entries, block k of ``m_k = alpha_k D`` columns with variance ``v_k``. Its law *is* the companion
  law with ``a_k = alpha_k`` (an atom ``1 - sum alpha_k`` at 0). One block reduces to
  Marchenko-Pastur: edges ``v (1 -/+ sqrt(alpha))^2`` and the atom ``1 - alpha``.
* ``GeneralizedMarchenkoPastur(values t_j, weights h_j, aspect c)``: the p x p sample covariance
  ``S = Sigma^{1/2} Z Z^T Sigma^{1/2} / N`` (c = p/N, Sigma with spectrum sum_j h_j delta_{t_j}). The
  N x N companion ``Z^T Sigma Z / N`` has the companion law with ``a_j = c h_j``, and
  ``mu_S = (mu_c - (1 - c) delta_0) / c``, i.e. ``g_S = (g_c - (1 - c)/z) / c``
  (Silverstein & Bai 1995; Bai & Silverstein, *Spectral Analysis of Large Dimensional Random
  Matrices*, 2010, ch. 6).

So ``Silverstein(alpha, v)`` equals ``GeneralizedMarchenkoPastur(v, alpha/sum(alpha), sum(alpha))``
mapped to its companion; the tests check this identity and both against sampled matrices.

Edges are the values ``z(s*)`` at the real roots of ``H(s*) = 1`` (exact up to bisection to machine
precision); moments come exactly from the free cumulants ``kappa_n = sum_k a_k v_k^n``.
"""
from __future__ import annotations

import numpy as np

from .._checks import SpectralTheoryError
from ..parameters import check, renamed, renamed_attribute
from . import _kernels as K
from .density import SpectralDensity, StieltjesResult

_TOL = 1e-15
_MAXITER = 20000
_RESIDUAL_OK = 1e-9
_HARD_EDGE_TOL = 1e-13  # |sum a - 1| below this is a square system: hard edge at 0, no atom
_N_CHUNKS = 64          # parallel chunks of the sorted grid (warm starts run inside a chunk)


class CompanionEquation:
    """The companion equation for coefficients ``a_k > 0`` and distinct sorted ``v_k > 0``.

    Attributes: ``critical_s`` (roots of H = 1), ``edges`` (z at those roots, increasing),
    ``bulks`` (pairs of edges), ``atom_at_zero`` (max(0, 1 - sum a)), ``merge_margin``
    (1 - min H on each inner pole interval: > 0 means a gap is open there, its size says how far from
    merging; < 0 means no gap between those poles).
    """

    def __init__(self, a: np.ndarray, v: np.ndarray):
        order = np.argsort(v)
        self.a, self.v = np.ascontiguousarray(a[order]), np.ascontiguousarray(v[order])
        self.total = float(self.a.sum())
        s, minima = K.critical_points(self.a, self.v)
        self.merge_margin = 1.0 - minima
        edges = K.edges_from_critical_points(s, self.a, self.v)
        if abs(self.total - 1.0) <= _HARD_EDGE_TOL:
            # sum a = 1: H(0) = 1, the lowest edge is the hard edge z(0) = 0 (density ~ x^{-1/2}); in
            # floating point the root and edge come out at +-1e-30 or so, on either side of 0
            self.total = 1.0
            s[0], edges[0] = 0.0, 0.0
        # A gap narrower than rounding (width ~ (1 - min H)^{3/2}) can come out with its two edges
        # swapped or equal: such a gap is numerically closed, so the two bulks are merged.
        keep = np.ones(s.size, dtype=bool)
        for i in range(1, s.size - 1, 2):
            if edges[i + 1] <= edges[i]:
                keep[i] = keep[i + 1] = False
        s, edges = s[keep], edges[keep]
        self.critical_s, self.edges = s, edges
        self.bulks = tuple((float(self.edges[2 * i]), float(self.edges[2 * i + 1])) for i in range(s.size // 2))
        self.atom_at_zero = max(0.0, 1.0 - self.total)
        # gaps of the support in x, each with its monotone s-branch
        inf = np.inf
        xs = np.concatenate([[-inf], self.edges, [inf]])
        ss = np.concatenate([[-inf], s, [inf]])
        self.gap_x_lo, self.gap_x_hi = np.ascontiguousarray(xs[0::2]), np.ascontiguousarray(xs[1::2])
        self.gap_s_lo, self.gap_s_hi = np.ascontiguousarray(ss[0::2]), np.ascontiguousarray(ss[1::2])
        self.eta_top = 2.0 * max(abs(self.edges[-1]), float(np.dot(self.a, self.v)))

    def solve(self, z: np.ndarray) -> StieltjesResult:
        """Companion g at complex z (Im z >= 0), all points in parallel."""
        z = np.asarray(z, dtype=np.complex128).ravel()
        order = np.lexsort((z.real, z.imag))                 # warm starts run along the sorted grid
        zs = np.ascontiguousarray(z[order])
        g, it, res, st = K.solve_grid(zs, self.a, self.v, self.gap_x_lo, self.gap_x_hi,
                                      self.gap_s_lo, self.gap_s_hi, self.eta_top, _TOL, _MAXITER,
                                      _N_CHUNKS)
        out = [np.empty_like(arr) for arr in (g, it, res, st)]
        for dst, src in zip(out, (g, it, res, st)):
            dst[order] = src
        g, it, res, st = out
        ok = (st == K.STATUS_OK) & (res <= _RESIDUAL_OK)
        return StieltjesResult(g, it, res, ok)

    def free_cumulants(self, kmax: int) -> np.ndarray:
        return np.array([0.0] + [float(np.dot(self.a, self.v ** n)) for n in range(1, kmax + 1)])

    def moments(self, kmax: int) -> np.ndarray:
        """Moments m_0..m_kmax of the companion law (exact recursion from the free cumulants)."""
        return K.free_cumulant_moments(self.free_cumulants(kmax), kmax)


class _CompanionLaw(SpectralDensity):
    """mu = (mu_c - (1 - c) delta_0) / c for the companion law mu_c of ``eq`` (c = 1: mu = mu_c)."""

    def _setup(self, eq: CompanionEquation, c: float, atom_zero: float):
        self._eq, self._c = eq, c
        self._bulks = eq.bulks
        self._atoms = ((0.0, atom_zero),) if atom_zero > 0 else ()

    def _convert(self, z, gc):
        if self._c == 1.0:
            return gc
        return (gc - (1.0 - self._c) / z) / self._c

    def _stieltjes_result(self, z):
        res = self._eq.solve(z)
        return StieltjesResult(self._convert(z, res.value), res.iterations, res.residual, res.converged)

    def boundary_stieltjes(self, x):
        """g(x + i0) for real x (not at the atom): Im g = -pi rho(x) inside the support."""
        xa = np.asarray(x, dtype=np.float64)
        if self._atoms and np.any(xa == 0.0):
            raise SpectralTheoryError("`x` = 0 is an atom (a pole of the Stieltjes transform)")
        res = self._eq.solve(xa.astype(np.complex128)).raise_if_failed("boundary_stieltjes")
        val = self._convert(xa.ravel() + 0j, res.value)
        return val.reshape(xa.shape)[()] if xa.ndim == 0 else val.reshape(xa.shape)

    def _pdf_inside(self, x):
        # the edges are exact; there the density vanishes (soft edge; x = 0 is a hard edge when
        # sum a = 1: infinite density). Solving at an edge would return ~sqrt(eps) instead of 0.
        soft = np.isin(x, self._eq.edges[self._eq.edges != 0])
        hard = x == 0
        work = ~(soft | hard)
        out = np.zeros(x.shape)
        out[hard] = np.inf
        if np.any(work):
            res = self._eq.solve(x[work].astype(np.complex128)).raise_if_failed("pdf")
            out[work] = np.maximum(-res.value.imag / (np.pi * self._c), 0.0)
        return out

    def _moment_formula(self, k):
        if k == 0:
            return 1.0
        return self._eq.moments(k)[k] / self._c

    def stieltjes_residual(self, z, g):
        """Residual of the law's equation at a candidate value g of *this* law's transform."""
        z = np.asarray(z, dtype=np.complex128)
        gc = self._c * np.asarray(g) + (1.0 - self._c) / z
        r = sum(a * v / (1.0 - v * gc) for a, v in zip(self._eq.a, self._eq.v))
        return np.abs(gc * (z - r) - 1.0)

    @property
    def merge_margin(self):
        """Per inner pole interval, 1 - min H (> 0: a gap between those bulks; see CompanionEquation)."""
        return self._eq.merge_margin


def _merge(values, coeffs):
    """Sum coefficients of equal values; drop zero coefficients and zero values."""
    keep = (coeffs > 0) & (values > 0)
    vals, inv = np.unique(values[keep], return_inverse=True)
    return vals, np.bincount(inv, weights=coeffs[keep], minlength=vals.size)


class Silverstein(_CompanionLaw):
    """Spectrum of ``C = F diag(v) F^T`` (D x D), F iid N(0, 1/D), blocks ``alpha_k = m_k/D``.

    .. math::  g(z) = \\Big( z - \\sum_k \\frac{\\alpha_k v_k}{1 - v_k g(z)} \\Big)^{-1},
               \\qquad \\text{atom } 1 - \\sum_k \\alpha_k \\text{ at } 0.

    Parameters
    ----------
    fractions : array of alpha_k >= 0 with sum <= 1 (the rest of the spectrum is the atom at 0).
    variances : array of v_k >= 0 (zero-variance blocks belong to the atom at 0).
    """

    weights = renamed_attribute("fractions")

    @renamed(weights="fractions")
    def __init__(self, fractions, variances):
        w = check("fractions", fractions, ndim=1)
        v = check("variances", variances, ndim=1, shape=(w.size,))
        vals, coeffs = _merge(v, w)
        if vals.size == 0:
            raise SpectralTheoryError("`fractions`/`variances`: need at least one block with positive fraction and variance")
        self.fractions, self.variances = w, v
        eq = CompanionEquation(coeffs, vals)
        self._setup(eq, 1.0, 1.0 - min(eq.total, 1.0))

    def __repr__(self):
        return f"Silverstein(fractions={self.fractions.tolist()}, variances={self.variances.tolist()})"


class GeneralizedMarchenkoPastur(_CompanionLaw):
    """Limit spectrum of the sample covariance of N samples from a population with spectrum
    ``sum_j h_j delta_{t_j}`` in dimension p, ``aspect = p/N`` (Silverstein & Bai 1995).

    .. math::  z = \\frac{1}{g_c} + c \\sum_j \\frac{h_j t_j}{1 - t_j g_c}, \\qquad
               g(z) = \\frac{g_c(z) - (1 - c)/z}{c}.

    Atom at 0: ``h_0`` (population mass at 0) if ``c (1 - h_0) <= 1``, else ``1 - 1/c``.
    """

    ratio = renamed_attribute("aspect")

    @renamed(ratio="aspect")
    def __init__(self, population_values, population_weights, aspect):
        t = check("population_values", population_values, ndim=1)
        h = check("population_weights", population_weights)
        if h.size != t.size:
            raise SpectralTheoryError(f"`population_weights` must have the length of `population_values` ({t.size}); got {h.size}")
        c = check("aspect", aspect, scalar_only=True)
        vals, coeffs = _merge(t, h)
        if vals.size == 0:
            raise SpectralTheoryError("`population_values`: the population must have some positive mass")
        self.population_values, self.population_weights, self.aspect = t, h, c
        h0 = float(h[t == 0].sum())
        atom = h0 if c * (1.0 - h0) <= 1.0 else 1.0 - 1.0 / c
        self._setup(CompanionEquation(c * coeffs, vals), c, atom)

    def __repr__(self):
        return (f"GeneralizedMarchenkoPastur(population_values={self.population_values.tolist()}, "
                f"population_weights={self.population_weights.tolist()}, aspect={self.aspect})")


__all__ = ["CompanionEquation", "Silverstein", "GeneralizedMarchenkoPastur"]
