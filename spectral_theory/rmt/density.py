"""`SpectralDensity`: one type for every spectral law (a continuous part on bulks plus atoms).

Conventions (used by every law in :mod:`spectral_theory.rmt`)
--------------------------------------------------------------
* The measure is ``mu = rho(x) dx + sum_j w_j delta(x - x_j)`` with total mass 1.
* Stieltjes transform ``g(z) = int dmu(l) / (z - l) = (1/D) tr (z - C)^{-1}``: ``g(z) ~ 1/z`` at
  infinity and ``Im g(z) < 0`` for ``Im z > 0`` (Herglotz up to sign); ``g(conj z) = conj g(z)``.
  The density is recovered as ``rho(x) = -Im g(x + i0) / pi``.
* ``support()`` returns the exact closed bulk intervals of the continuous part (not a thresholded
  grid); atoms are listed separately in ``atoms``.

What a family supplies (scipy.stats style: shared machinery here, formulas in the families):
``_bulks`` (tuple of (lo, hi)), ``_atoms`` (tuple of (x, w)), ``_pdf_inside(x)`` for x inside the
closed bulks, ``_stieltjes_result(z)`` for Im z > 0 or real z outside the support; optionally
``_cdf_formula`` and ``_moment_formula``. Everything else (cdf, moments, quantile, sampling, gaps,
pushforward) is generic and computed from an adaptive Gauss-Legendre quadrature of each bulk in the
variable ``x = lo + (hi - lo)(1 - cos theta)/2``, which turns square-root (and inverse square-root)
edge singularities into smooth integrands.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
from numpy.polynomial import legendre as _leg

from ..checks import (ConvergenceError, SpectralTheoryError, array, as_generator, complex_array, integer,
                      sample_count, scalar, unwrap)

_GL_ORDER = 20
_GL_T, _GL_W = _leg.leggauss(_GL_ORDER)
# Interpolation through the GL nodes (Legendre coefficients = _GL_COEF @ values) and the matrix
# giving the antiderivative-from-(-1) coefficients: cumulative(t) = legval(t, _GL_INT @ values).
_GL_COEF = np.linalg.inv(_leg.legvander(_GL_T, _GL_ORDER - 1))
_GL_INT = np.stack([_leg.legint(col, lbnd=-1) for col in _GL_COEF.T], axis=1)   # (ORDER+1, ORDER)
_PANEL_TOL = 1e-15          # absolute error target per panel (total mass is <= 1)
_MAX_PANELS = 8192
_INITIAL_PANELS = 16


@dataclass(frozen=True)
class StieltjesResult:
    """Stieltjes transform values with solver diagnostics (arrays of the shape of ``z``).

    ``residual`` is the dimensionless residual of the law's fixed-point equation at the returned
    value (0 for closed forms); ``converged`` is False where the solver failed or left the
    Herglotz branch.
    """
    value: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    converged: np.ndarray

    def raise_if_failed(self, where: str = "stieltjes"):
        bad = ~np.asarray(self.converged)
        if np.any(bad):
            i = int(np.flatnonzero(bad.ravel())[0])
            raise ConvergenceError(
                f"`{where}`: solver failed at {int(bad.sum())} point(s); first failure: residual "
                f"{np.ravel(self.residual)[i]:.3e} after {np.ravel(self.iterations)[i]} iterations")
        return self


@dataclass(frozen=True)
class Gap:
    """A gap of the spectrum: open interval (lo, hi) carrying no mass.

    ``mass_below`` is the total mass of the spectrum at or below ``lo`` (for the Jacobian
    pushforward: the fraction of eigenvalues below the gap); ``kind`` says what borders it
    ("bulk-bulk", "atom-bulk", "bulk-atom" or "atom-atom").
    """
    lo: float
    hi: float
    width: float
    mass_below: float
    kind: str


class _BulkQuadrature:
    """Adaptive composite Gauss-Legendre rule for one bulk in theta (see module docstring).

    Panels are bisected until the 20-point rule on a panel agrees with the sum over its halves to
    ``_PANEL_TOL``. Stores per panel the integrand at the nodes, so the cdf inside a panel is the
    exact antiderivative of the degree-19 interpolant (no new density evaluations).
    """

    def __init__(self, pdf_inside: Callable, lo: float, hi: float):
        self.lo, self.hi = lo, hi
        half = 0.5 * (hi - lo)

        def integrand(theta):                                        # dmu/dtheta
            x = np.clip(lo + 2.0 * half * np.sin(0.5 * theta) ** 2, lo, hi)   # 1 - cos, without cancellation
            return pdf_inside(x) * half * np.sin(theta)

        def panel_values(a, b):                                      # (P,), (P,) -> (P, ORDER)
            th = 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * _GL_T[None, :]
            return integrand(th.ravel()).reshape(th.shape)

        edges = np.linspace(0.0, np.pi, _INITIAL_PANELS + 1)
        done_a, done_b, done_vals = [], [], []
        a, b = edges[:-1], edges[1:]
        vals = panel_values(a, b)
        converged = False
        while a.size:
            whole = 0.5 * (b - a) * (vals @ _GL_W)
            m = 0.5 * (a + b)
            left, right = panel_values(a, m), panel_values(m, b)
            halves = 0.25 * (b - a) * (left @ _GL_W + right @ _GL_W)
            ok = np.abs(whole - halves) <= _PANEL_TOL
            n_total = sum(x.size for x in done_a) + 2 * a.size
            if n_total > _MAX_PANELS:                                 # accept what we have
                ok[:] = True
            done_a += [a[ok], m[ok]]
            done_b += [m[ok], b[ok]]
            done_vals += [left[ok], right[ok]]
            a, b = np.concatenate([a[~ok], m[~ok]]), np.concatenate([m[~ok], b[~ok]])
            vals = np.concatenate([left[~ok], right[~ok]])
            converged = not n_total > _MAX_PANELS
        a, b, vals = np.concatenate(done_a), np.concatenate(done_b), np.concatenate(done_vals)
        order = np.argsort(a)
        self.theta_lo, self.theta_hi, self.values = a[order], b[order], vals[order]
        self.converged = converged
        self.panel_mass = 0.5 * (self.theta_hi - self.theta_lo) * (self.values @ _GL_W)
        self.cumulative = np.concatenate([[0.0], np.cumsum(self.panel_mass)])
        self.mass = float(self.cumulative[-1])
        th = 0.5 * (self.theta_lo + self.theta_hi)[:, None] + \
            0.5 * (self.theta_hi - self.theta_lo)[:, None] * _GL_T[None, :]
        self.nodes = (lo + 2.0 * half * np.sin(0.5 * th) ** 2).ravel()                      # (P*ORDER,)
        self.node_mass = (0.5 * (self.theta_hi - self.theta_lo)[:, None] * self.values * _GL_W).ravel()
        self.int_coef = self.values @ _GL_INT.T                                      # (P, ORDER+1)

    def theta_of_x(self, x):
        x = np.clip(x, self.lo, self.hi)                # sin^2(theta/2) = (x - lo)/(hi - lo)
        return 2.0 * np.arctan2(np.sqrt(x - self.lo), np.sqrt(self.hi - x))

    def _partial(self, panel, t):
        """Mass from the start of ``panel`` to local coordinate t in [-1, 1]."""
        vander = _leg.legvander(t, _GL_ORDER)                                        # (n, ORDER+1)
        half = 0.5 * (self.theta_hi[panel] - self.theta_lo[panel])
        return half * np.einsum("ij,ij->i", vander, self.int_coef[panel])

    def cdf(self, x):
        theta = self.theta_of_x(x)
        panel = np.clip(np.searchsorted(self.theta_hi, theta), 0, self.theta_hi.size - 1)
        t = (2.0 * theta - self.theta_lo[panel] - self.theta_hi[panel]) / (self.theta_hi[panel] - self.theta_lo[panel])
        return self.cumulative[panel] + self._partial(panel, t)

    def inverse_cdf(self, m):
        """x with bulk mass m (0 <= m <= mass): panel by search, then safeguarded Newton in t."""
        m = np.clip(m, 0.0, self.mass)
        panel = np.clip(np.searchsorted(self.cumulative, m, side="right") - 1, 0, self.panel_mass.size - 1)
        target = m - self.cumulative[panel]
        lo_t, hi_t = -np.ones_like(m), np.ones_like(m)
        t = np.zeros_like(m)
        half = 0.5 * (self.theta_hi[panel] - self.theta_lo[panel])
        coef = self.values[panel] @ _GL_COEF.T                                        # density coefficients
        for _ in range(60):
            f = self._partial(panel, t) - target
            lo_t = np.where(f < 0, t, lo_t)
            hi_t = np.where(f >= 0, t, hi_t)
            df = half * np.einsum("ij,ij->i", _leg.legvander(t, _GL_ORDER - 1), coef)
            with np.errstate(divide="ignore", invalid="ignore"):
                t_new = t - f / df
            # outside the closed bracket: bisect.  (Not <= / >=: at convergence the step is below an ulp and
            # t_new == t, an end of the bracket; rejecting it bisected converged points away again, so the
            # loop always ran its 60 iterations.)
            bad = ~np.isfinite(t_new) | (t_new < lo_t) | (t_new > hi_t)
            t_new = np.where(bad, 0.5 * (lo_t + hi_t), t_new)
            if np.all(np.abs(t_new - t) <= 1e-15):
                t = t_new
                break
            t = t_new
        theta = self.theta_lo[panel] + (t + 1.0) * half
        return self.lo + (self.hi - self.lo) * np.sin(0.5 * theta) ** 2


#: Mean and standard deviation of the GOE Tracy-Widom law TW_1, the law of a real symmetric matrix's
#: extreme eigenvalue on the edge scale (Tracy & Widom 1996; Bornemann 2010): the one copy of these constants.
TW1_MEAN = -1.2065335745820
TW1_STD = 1.2679830576398          # sqrt of the variance 1.6077810345810 (tracy_widom.moments(1))


#: float64 per point :meth:`SpectralDensity.quantile` holds at its peak: the Legendre matrices of the
#: Newton step and of the partial mass and the gathered coefficients (about ORDER + 1 each), and the
#: iterates, brackets and masks
_QUANTILE_FLOATS = 4 * (_GL_ORDER + 1) + 24

#: highest moment order :meth:`SpectralDensity.moment` computes (the companion recursion is O(K k^2))
MAX_MOMENT_ORDER = 10_000


def _as_real_array(x, name, finite=True):
    """A real float64 array of any shape (complex, bool, str, object and NaN are errors naming it)."""
    return array(x, name, allow_empty=True, finite=finite)


def _out(arr, like):
    return unwrap(arr.reshape(np.shape(like)))


class SpectralDensity:
    """A probability measure on the real line: continuous density on bulks plus atoms.

    Public methods: ``pdf(x)``, ``cdf(x)``, ``stieltjes(z)`` (and ``stieltjes_result(z)`` with solver
    diagnostics), ``support()``, ``atoms``, ``moment(k)``, ``quantile(q)``, ``sample(n, rng=)``,
    ``gaps()``, ``pushforward(f)``, ``jacobian_pushforward(tau)``. See the module docstring for the
    sign convention of the Stieltjes transform.
    """

    _bulks: tuple = ()
    _atoms: tuple = ()

    # ---- to be supplied by the families --------------------------------------------------------
    def _pdf_inside(self, x: np.ndarray) -> np.ndarray:          # x inside the closed bulks
        raise NotImplementedError

    def _stieltjes_result(self, z: np.ndarray) -> StieltjesResult:  # Im z > 0 or real outside
        raise NotImplementedError

    _cdf_formula = None
    _moment_formula = None

    # ---- structure -----------------------------------------------------------------------------
    def support(self) -> list[tuple[float, float]]:
        """The bulks of the continuous part: exact closed intervals, sorted."""
        return [tuple(map(float, b)) for b in self._bulks]

    @property
    def atoms(self) -> list[tuple[float, float]]:
        """Point masses as (location, weight), sorted by location."""
        return [tuple(map(float, a)) for a in self._atoms]

    @property
    def is_atomic(self) -> bool:
        """True when the law has no continuous part: its Stieltjes transform is a finite sum of poles,
        exact (the free convolutions then solve on the atoms exactly and find edges from critical
        points)."""
        return not self._bulks

    @property
    def continuous_mass(self) -> float:
        """1 - total atom weight (exact, not integrated)."""
        return 1.0 - sum(w for _, w in self._atoms)

    def in_support(self, x) -> np.ndarray:
        """Whether each x lies in a closed bulk of the support (atoms excluded)."""
        return self._in_bulks(_as_real_array(x, "x", finite=False))

    def _in_bulks(self, x) -> np.ndarray:
        """in_support on an unchecked float array (NaN: False), for internal use."""
        inside = np.zeros(np.shape(x), dtype=bool)
        for lo, hi in self._bulks:
            inside |= (x >= lo) & (x <= hi)
        return inside

    # ---- density and transform -----------------------------------------------------------------
    def pdf(self, x):
        """Density of the continuous part (atoms excluded); exactly 0 outside the bulks (and at +-inf)."""
        xa = _as_real_array(x, "x", finite=False)
        flat = xa.ravel()
        out = np.zeros(flat.shape)
        inside = self._in_bulks(flat)
        if np.any(inside):
            out[inside] = np.maximum(self._pdf_inside(flat[inside]), 0.0)
        return _out(out, xa)

    def stieltjes_result(self, z) -> StieltjesResult:
        """g(z) = int dmu / (z - l) with diagnostics; z off the closed support (or in C \\ R).

        Real z inside a closed bulk (the branch cut) or at an atom (a pole) is an error; the
        boundary value g(x + i0) on the cut is ``boundary_stieltjes(x)``. Lower half plane by
        g(conj z) = conj g(z).
        """
        za = complex_array(z, "z")                  # complex is the API here; bool/str/NaN/inf are not
        flat = za.ravel()
        real = flat.imag == 0
        if np.any(real & self._in_bulks(flat.real)):
            bad = flat.real[real & self._in_bulks(flat.real)][0]
            raise SpectralTheoryError(
                f"`z` = {bad} lies on the real axis inside the support {self.support()}, where the "
                "Stieltjes transform has a branch cut; use Im z > 0 or `boundary_stieltjes`")
        for loc, _ in self._atoms:
            if np.any(real & (flat.real == loc)):
                raise SpectralTheoryError(f"`z` = {loc} is an atom of the law (a pole of the Stieltjes transform)")
        lower = flat.imag < 0
        work = np.where(lower, np.conj(flat), flat)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = self._stieltjes_result(work)
        val = np.where(lower, np.conj(res.value), res.value)
        overflow = np.asarray(res.converged, dtype=bool).ravel() & ~np.isfinite(np.ravel(val))
        if np.any(overflow):
            raise SpectralTheoryError(f"`z` = {flat[overflow][0]}: g(z) is beyond the float64 range (z is within "
                                      "rounding of a pole: an atom, or a singular edge of the density)")
        shape = za.shape
        return StieltjesResult(val.reshape(shape), np.asarray(res.iterations).reshape(shape),
                               np.asarray(res.residual).reshape(shape),
                               np.asarray(res.converged).reshape(shape))

    def stieltjes(self, z):
        """g(z) = int dmu(l) / (z - l) (~ 1/z at infinity, Im g < 0 for Im z > 0).

        Raises ConvergenceError if the solver fails anywhere (use ``stieltjes_result`` for flags).
        """
        res = self.stieltjes_result(z).raise_if_failed("stieltjes")
        return res.value[()] if np.ndim(z) == 0 else res.value

    # ---- generic integrals ---------------------------------------------------------------------
    @cached_property
    def _quadratures(self) -> tuple:
        return tuple(_BulkQuadrature(self._pdf_inside, lo, hi) for lo, hi in self._bulks)

    def integrated_mass(self) -> float:
        """Total mass by quadrature of the density plus atoms (should be 1; a consistency check)."""
        return sum(q.mass for q in self._quadratures) + sum(w for _, w in self._atoms)

    def cdf(self, x, method: str | None = None):
        """P(X <= x), atoms included (0 at -inf, 1 at +inf). ``method``: "formula" (if the family has
        one) or "quadrature"."""
        xa = _as_real_array(x, "x", finite=False)
        method = self._pick(method, self._cdf_formula, "cdf")
        if method == "formula":
            return _out(np.asarray(self._cdf_formula(xa.ravel()), dtype=float), xa)
        flat = xa.ravel()
        out = np.zeros(flat.shape)
        for loc, w in self._atoms:
            out += np.where(flat >= loc, w, 0.0)
        for q in self._quadratures:
            out += np.where(flat >= q.hi, q.mass, 0.0)
            inside = (flat > q.lo) & (flat < q.hi)
            if np.any(inside):
                out[inside] += q.cdf(flat[inside])
        return _out(np.clip(out, 0.0, 1.0), xa)

    def ks_distance(self, samples, exclude_atom=None, atol=1e-9) -> float:
        r"""Kolmogorov-Smirnov distance :math:`\sup_x |F_n(x) - F(x)|` of ``samples`` (e.g. the
        eigenvalues of one matrix) to this law, exact at atoms.

        With the samples sorted, :math:`x_{(1)} \le \dots \le x_{(n)}`, the supremum is attained at a
        sample, from the right or the left:
        :math:`\max_i \max(i/n - F(x_{(i)}),\ F(x_{(i)}^-) - (i-1)/n)` with :math:`F(x^-)` the cdf
        without the atom at x.  A sample within ``atol`` of an atom is that atom (the rounding of an
        exactly degenerate eigenvalue).

        Parameters
        ----------
        samples : 1-D array of real values (any order).
        exclude_atom : location of an atom to condition away, optional: samples within ``atol`` of it
            are dropped and the law is conditioned on the rest,
            :math:`F_c = (F - w_0 [x \ge x_0])/(1 - w_0)` (e.g. the tangent eigenvalues of a covariance
            against its law without the atom at 0 of the normal directions).
        atol : float >= 0.

        Returns
        -------
        float in [0, 1].  Against the DKW bound :math:`\sqrt{\log(2/\delta)/(2n)}` (iid samples, n the
        number of samples kept) it is a goodness-of-fit test.
        """
        x = np.sort(_as_real_array(samples, "samples").ravel())
        atol = scalar(atol, "atol", nonnegative=True)
        atoms = self.atoms
        w0 = 0.0
        if exclude_atom is not None:
            x0 = scalar(exclude_atom, "exclude_atom")
            w0 = sum(w for loc, w in atoms if abs(loc - x0) <= atol)
            x = x[np.abs(x - x0) > atol]
            atoms = [(loc, w) for loc, w in atoms if abs(loc - x0) > atol]
        if x.size == 0:
            raise SpectralTheoryError("`samples` must contain at least one value (after `exclude_atom`)")
        atom_mass = np.zeros_like(x)
        for loc, w in atoms:
            hit = np.abs(x - loc) <= atol
            x[hit], atom_mass[hit] = loc, w
        F = np.asarray(self.cdf(x), dtype=float).reshape(x.shape)
        if exclude_atom is not None:
            F = (F - w0 * (x >= x0)) / (1.0 - w0)
            atom_mass = atom_mass / (1.0 - w0)
        i = np.arange(1, x.size + 1) / x.size
        return float(max(np.max(i - F), np.max(F - atom_mass - (i - 1.0 / x.size))))

    def moment(self, k, method: str | None = None) -> float:
        """E[X^k] (atoms included). ``method``: "formula" (exact, if available) or "quadrature"."""
        k = integer(k, "k", minimum=0, maximum=MAX_MOMENT_ORDER)
        method = self._pick(method, self._moment_formula, "moment")
        with np.errstate(over="ignore"):
            if method == "formula":
                try:
                    total = float(self._moment_formula(k))
                except OverflowError:                 # a Python float or int beyond float64
                    total = np.inf
                if not np.isfinite(total):
                    raise SpectralTheoryError(f"`k` = {k}: the moment E[X^k] overflows float64")
                return total
            total = sum(w * np.float64(loc) ** k for loc, w in self._atoms)
            for q in self._quadratures:
                total += float(np.sum(q.node_mass * q.nodes ** k))
        if not np.isfinite(total):
            raise SpectralTheoryError(f"`k` = {k}: the moment E[X^k] overflows float64")
        return float(total)

    @staticmethod
    def _pick(method, formula, name):
        if method is None:
            return "formula" if formula is not None else "quadrature"
        if method not in ("formula", "quadrature"):
            raise SpectralTheoryError(f"`method` of `{name}` must be 'formula' or 'quadrature'; got {method!r}")
        if method == "formula" and formula is None:
            raise SpectralTheoryError(f"this law has no closed-form `{name}`; use method='quadrature'")
        return method

    def _components(self):
        """Atoms and bulks sorted by location: list of (kind, lo, hi, mass)."""
        comps = [("atom", x, x, w) for x, w in self._atoms]
        comps += [("bulk", lo, hi, q.mass) for (lo, hi), q in zip(self._bulks, self._quadratures)]
        return sorted(comps, key=lambda c: (c[1], c[2]))

    def quantile(self, q):
        """Smallest x with cdf(x) >= q (generic inverse of the quadrature cdf)."""
        qa = _as_real_array(q, "q")
        if np.any((qa < 0) | (qa > 1)):
            raise SpectralTheoryError("`q` must lie in [0, 1]")
        flat = qa.ravel()
        out = np.full(flat.shape, np.nan)
        start = 0.0
        comps = self._components()
        # rescale so the component masses sum exactly to 1 (quadrature error is ~1e-13)
        total = sum(c[3] for c in comps)
        for kind, lo, hi, mass in comps:
            mass = mass / total
            sel = np.isnan(out) & (flat <= start + mass)
            if np.any(sel):
                if kind == "atom":
                    out[sel] = lo
                else:
                    quad = next(qq for qq in self._quadratures if qq.lo == lo)
                    out[sel] = quad.inverse_cdf((flat[sel] - start) * total)
            start += mass
        out[np.isnan(out)] = comps[-1][2]
        return _out(out, qa)

    def sample(self, n, rng=None) -> np.ndarray:
        """n iid draws by inverse-cdf sampling (reproducible through ``rng``)."""
        n = sample_count(n, "n", _QUANTILE_FLOATS, minimum=0)
        return self.quantile(as_generator(rng).random(n))

    def gaps(self) -> list[Gap]:
        """Gaps between consecutive components (bulks and atoms), with the mass below each."""
        out, below = [], 0.0
        comps = self._components()
        total = sum(c[3] for c in comps)
        for c, d in zip(comps[:-1], comps[1:]):
            below += c[3] / total
            if d[1] > c[2]:
                out.append(Gap(float(c[2]), float(d[1]), float(d[1] - c[2]), float(below), f"{c[0]}-{d[0]}"))
        return out

    def edge_scale(self, edge, dim) -> float:
        r"""Tracy-Widom scale of the extreme eigenvalue at a square-root edge of a ``dim`` x ``dim`` matrix.

        .. math::  \rho(x) \approx \frac{K}{\pi}\sqrt{|E - x|} \;\Rightarrow\;
                   \lambda_{\rm ext} \approx E \pm (K\,\mathrm{dim})^{-2/3}\, TW_1

        (GOE semicircle: K = 1, scale N^{-2/3}; Marchenko-Pastur: Johnstone 2001, see
        :func:`spectral_theory.spiked.edge_scale`). The mean of TW_1 is -1.21 (standard deviation 1.27),
        so the expected offset of the extreme eigenvalue from E is about 1.2 times this scale. K comes
        from the density at 1e-7 and 4e-7 bulk widths inside the edge (Richardson-extrapolated); a
        ratio of the two that is not 2 (within 5%) means the edge is not of square-root type (e.g. a
        hard edge) and raises.
        """
        edge = scalar(edge, "edge")
        dim = scalar(dim, "dim", positive=True)

        def near(e):
            return abs(edge - e) <= 1e-12 * max(1.0, abs(e))

        match = [(lo, hi) for lo, hi in self._bulks if near(lo) or near(hi)]
        if not match:
            raise SpectralTheoryError(f"`edge` = {edge!r} is not an end of a bulk of the support {self.support()}")
        lo, hi = match[0]
        edge, inward = (hi, -1.0) if near(hi) else (lo, 1.0)
        h = 1e-7 * (hi - lo)
        rho = self.pdf(np.array([edge + inward * h, edge + inward * 4 * h]))
        if not 1.9 <= rho[1] / rho[0] <= 2.1:
            raise SpectralTheoryError(f"the edge at {edge!r} is not a square-root edge (density ratio "
                                      f"{rho[1] / rho[0]:.3g} over a 4x distance, 2 expected)")
        k_h, k_4h = np.pi * rho[0] / np.sqrt(h), np.pi * rho[1] / np.sqrt(4 * h)
        k = (4 * k_h - k_4h) / 3                       # Richardson: the O(h) correction cancels
        return float((k * dim) ** (-2.0 / 3.0))

    def boundary_stieltjes(self, x):
        """g(x + i0) for real x (inside the support: Im g = -pi rho(x)); family-specific."""
        raise NotImplementedError

    # ---- maps ----------------------------------------------------------------------------------
    def pushforward(self, f: "MonotoneMap") -> "PushforwardDensity":
        """Law of f(X) for a strictly monotone map f (a ``MonotoneMap``)."""
        if not isinstance(f, MonotoneMap):
            raise SpectralTheoryError("`f` must be a MonotoneMap (with inverse and derivative), e.g. JacobianMap(tau)")
        return PushforwardDensity(self, f)

    def jacobian_pushforward(self, tau) -> "PushforwardDensity":
        """Law of -tau/(X + tau): the spectrum of tau * J when X is the spectrum of C (the support must
        lie above -tau)."""
        fmap = JacobianMap(tau)
        pts = [e for b in self._bulks for e in b] + [x for x, _ in self._atoms]
        if pts and min(pts) <= -fmap.tau:
            raise SpectralTheoryError(f"`tau` = {fmap.tau}: the law's support starts at {min(pts)}, outside the "
                                      "domain (-tau, inf) of -tau/(X + tau) (a pole inside the support)")
        return self.pushforward(fmap)

    def __repr__(self):
        return f"{type(self).__name__}(support={self.support()}, atoms={self.atoms})"


@dataclass(frozen=True)
class MonotoneMap:
    """A strictly monotone C^1 map with its inverse and derivative, on the open domain (lo, hi)."""
    forward: Callable
    inverse: Callable
    derivative: Callable
    domain: tuple = (-np.inf, np.inf)
    name: str = "f"

    def increasing(self) -> bool:
        lo, hi = self.domain
        probe = 0.0 if lo < 0 < hi else (lo + 1.0 if np.isfinite(lo) else hi - 1.0)
        return bool(self.derivative(np.array([probe]))[0] > 0)

    def pull_stieltjes(self, law: SpectralDensity, w):       # no closed form in general
        return None


class JacobianMap(MonotoneMap):
    """The score-Jacobian map f(l) = -tau / (l + tau) (increasing on l > -tau).

    f^{-1}(y) = -tau (1 + 1/y), f'(l) = tau / (l + tau)^2. Since f is a Moebius map, the
    Stieltjes transform of the image law is exact:
    g_f(w) = 1/w + (tau / w^2) g(-tau (1 + 1/w)).
    """

    def __init__(self, tau):
        tau = scalar(tau, "tau", positive=True)
        object.__setattr__(self, "tau", tau)
        super().__init__(forward=lambda l: -tau / (l + tau), inverse=lambda y: -tau * (1.0 + 1.0 / y),
                         derivative=lambda l: tau / (l + tau) ** 2, domain=(-tau, np.inf),
                         name=f"l -> -{tau:g}/(l + {tau:g})")

    def pull_stieltjes(self, law, w):
        w = np.asarray(w, dtype=np.complex128)
        res = law.stieltjes_result(-self.tau * (1.0 + 1.0 / w))
        return StieltjesResult(1.0 / w + self.tau / w ** 2 * res.value, res.iterations,
                               res.residual, res.converged)


class PushforwardDensity(SpectralDensity):
    """Image law of ``base`` under a monotone map: ``rho_f(y) = rho(f^{-1}(y)) / |f'(f^{-1}(y))|``.

    Atoms move to f(x_j) with their weights; bulk edges map exactly (and swap for a decreasing map).
    """

    def __init__(self, base: SpectralDensity, fmap: MonotoneMap):
        self.base, self.map = base, fmap
        lo_d, hi_d = fmap.domain
        pts = [e for b in base._bulks for e in b] + [x for x, _ in base._atoms]
        if pts and (min(pts) <= lo_d or max(pts) >= hi_d):
            raise SpectralTheoryError(f"the law's support [{min(pts)}, {max(pts)}] leaves the domain {fmap.domain} of `f`")
        f = lambda x: float(fmap.forward(np.array([x], dtype=float))[0])
        inc = fmap.increasing()
        bulks = [(f(lo), f(hi)) if inc else (f(hi), f(lo)) for lo, hi in base._bulks]
        self._bulks = tuple(sorted(bulks))
        self._atoms = tuple(sorted((f(x), w) for x, w in base._atoms))

    def _pdf_inside(self, y):
        x = self.map.inverse(y)
        return self.base.pdf(x) / np.abs(self.map.derivative(x))

    def _stieltjes_result(self, w):
        exact = self.map.pull_stieltjes(self.base, w)
        if exact is not None:
            return exact
        # generic: quadrature of dmu / (w - y) (accurate only away from the support)
        val = sum(wt / (w - x) for x, wt in self._atoms) + 0j
        for q in self._quadratures:
            val = val + (q.node_mass[None, :] / (w[:, None] - q.nodes[None, :])).sum(axis=1)
        z = np.zeros(w.shape, dtype=int)
        return StieltjesResult(val, z, np.zeros(w.shape), np.ones(w.shape, dtype=bool))


__all__ = ["StieltjesResult", "Gap", "SpectralDensity", "MonotoneMap", "JacobianMap", "MAX_MOMENT_ORDER",
           "PushforwardDensity"]
