r"""Spectral densities of symmetric operators from matrix-vector products, with error bars.

Two independent routes, both averaging over k random probes :math:`v_p` (Rademacher or Gaussian,
normalised: :math:`q_p = v_p/|v_p|` is uniform enough that :math:`E[q_p^\top f(A) q_p] = \operatorname{tr}
f(A)/D` exactly), all probes advanced together as one (k, D) block per matvec:

* :func:`slq_density` - **stochastic Lanczos quadrature** (Ubaru, Chen, Saad, SIAM J. Matrix Anal.
  Appl. 38, 2017; Lin, Saad, Yang, SIAM Review 58, 2016): m Lanczos steps from :math:`q_p` give
  :math:`T_p = \sum_i \theta_{pi} y_{pi} y_{pi}^\top`, and the probe's spectral measure
  :math:`\mu_p = \sum_j (q_p^\top u_j)^2 \delta_{\lambda_j}` is estimated by its m-node Gauss quadrature
  :math:`\sum_i (e_1^\top y_{pi})^2 \delta_{\theta_{pi}}`, exact for polynomials of degree < 2m.
* :func:`kpm_density` - the **kernel polynomial method** (Weisse, Wellein, Alvermann, Fehske, Rev.
  Mod. Phys. 78, 275, 2006): Chebyshev moments :math:`\mu_n = q^\top T_n(\tilde A) q` of the operator
  rescaled into [-1, 1], by the three-term recurrence (two moments per matvec), damped by the Jackson
  kernel.

Error bars (both stated as fields of the results):

* **probe spread**: the per-probe estimates are independent and unbiased, so every reported quantity
  (cdf, moments) is the probe mean with standard error sd/sqrt(k) (``cdf_stderr``, ``moment_stderr``;
  for Gaussian probes the per-probe variance of (1/D) tr f is about 2 Var(f)/D, so at image scale a few
  probes suffice).
* **quadrature resolution**: SLQ - the Chebyshev-Markov-Stieltjes-Krein inequalities (Szegő,
  *Orthogonal Polynomials*, Thm 3.41.1; Akhiezer 1965, ch. 3) bracket the probe's cdf at the nodes of
  the Gauss rule and of canonical Gauss-Radau rules built from the same tridiagonal (all measures with
  the moments Lanczos computed lie inside); between consecutive bracket points F lies between the
  lower end on the left and the upper end on the right (monotonicity), and the estimate is the midpoint
  of that interval (a step function, the minimax choice), its pointwise bound (``cdf_bound``, sup
  ``cdf_resolution``) the half-width, about half the largest Gauss weight of an unresolved node where
  the Gauss rule alone needs the whole weight.  Converged nodes (Ritz residual far below the spacing
  to their neighbours, location certain to ``lanczos.CONVERGED``; copies of a multiple eigenvalue
  grouped, ``SLQEstimate.converged``) are eigenvalues with their exact mass, e.g. the atom at -1 of
  :math:`\tau J`; bulk edges come with their resolution (``bulks``), and the x-resolution in the bulk
  is the Gauss node spacing (``node_spacing``).  ``slq_density(tol=)`` chooses the number of steps from
  these bars: it stops once ``ks_bar`` = z x spread + resolution reaches ``tol``.  KPM - the Jackson
  kernel has width :math:`\pi/N` of the rescaled variable, i.e. ``resolution = pi * h / N`` for the
  half-width h of the bounds; its cdf is compared with the law smoothed by the same kernel (exact law
  moments), so the KS bar is the probe spread only.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.polynomial import chebyshev as _cheb
from numpy.polynomial import polynomial as _poly
from scipy.linalg import eigh_tridiagonal

from spectral_theory.checks import ConvergenceError, SpectralTheoryError, as_generator, integer, scalar, unwrap

from .lanczos import CONVERGED, SYMMETRY_TOL, apply, lanczos_tridiagonal

__all__ = ["KSDistance", "Bulk", "SpectralEstimate", "SLQEstimate", "KPMEstimate", "slq_density", "kpm_density"]

#: KPM: the Lanczos bounds [theta_min - r_min, theta_max + r_max] are widened by this fraction of their
#: width on each side (Weisse et al. 2006 use 0.01-0.025).
KPM_MARGIN = 0.025
_KPM_BOUND_STEPS = 30
#: SLQ: canonical (Gauss-Radau) rules per probe whose nodes carry the cdf brackets (about this many
#: bracket points per Gauss interval; the bound's slack over the sharp half-width is ~ 1/(2(R + 1)) weight).
BRACKET_RULES = 16
_FRACTIONS = 8                # positions per Gauss interval whose a-values the rules are chosen from
_TIE = 1e-12                  # relative distance below which two nodes of a rule are one point
_GHOST = 1e-8                 # a Gauss weight below this (a rounding-level ghost copy of a converged node): no claim
#: SLQ with ``tol``: the first step at which the error bar is checked.
FIRST_CHECK = 10


@dataclass(frozen=True)
class KSDistance:
    r"""Kolmogorov-Smirnov distance of a probe-averaged estimate to a law, with its error bar.

    ``value`` :math:`\sup_x |\hat F(x) - F(x)|`; ``stderr`` the largest pointwise standard error of
    :math:`\hat F` over the points of the sup (the sup of the probe noise concentrates within about one
    such unit of its mean, Borell-TIS, and its mean is a few units: :math:`\sqrt{2\ln n_{\rm eff}}`);
    ``resolution`` the quadrature's own bound on :math:`\sup|E\hat F - F|` (SLQ: the sup of the
    pointwise CMS bound ``SLQEstimate.cdf_bound``; KPM: 0, both sides being smoothed by the same
    kernel).  A law consistent with the estimate has ``value <= z * stderr + resolution`` (plus the
    law's own finite-size allowance).
    """
    value: float
    stderr: float
    resolution: float


@dataclass(frozen=True)
class Bulk:
    """A bulk of an SLQ estimate: edges ``lo`` < ``hi``, each within its resolution (``lo_resolution``,
    ``hi_resolution``) of the spectrum's edge, and its probe-mean ``mass``."""
    lo: float
    hi: float
    lo_resolution: float
    hi_resolution: float
    mass: float


def _probes(kind, k, D, rng):
    gen = as_generator(rng)
    if kind == "rademacher":
        return 2.0 * gen.integers(0, 2, size=(k, D)) - 1.0
    if kind == "gaussian":
        return gen.standard_normal((k, D))
    raise SpectralTheoryError(f"`probes` must be 'rademacher' or 'gaussian'; got {kind!r}")


def _law(law):
    """(cdf(x), cdf(x-), jump locations, scale) of a SpectralDensity or of a sample of eigenvalues."""
    if hasattr(law, "cdf") and hasattr(law, "atoms"):
        atoms = law.atoms
        locs = np.array([a for a, _ in atoms])
        wts = np.array([w for _, w in atoms])

        def left(x):
            hit = (x[:, None] == locs[None, :]) if locs.size else np.zeros((x.size, 0), bool)
            return law.cdf(x) - hit @ wts if locs.size else law.cdf(x)
        ends = [e for b in law.support() for e in b]
        return law.cdf, left, locs, max([1.0] + [abs(e) for e in ends] + [abs(a) for a in locs])
    try:
        x = np.sort(np.asarray(law, dtype=np.float64).ravel())
    except (TypeError, ValueError) as e:
        raise SpectralTheoryError("`law` must be a SpectralDensity or an array of eigenvalues") from e
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise SpectralTheoryError("`law` (eigenvalues) must be a nonempty finite array")
    n = x.size
    return (lambda t: np.searchsorted(x, t, "right") / n, lambda t: np.searchsorted(x, t, "left") / n,
            x, max(1.0, float(np.abs(x).max())))


def _mean_se(values):
    """Probe mean and its standard error along axis 0 (se 0 for one probe is replaced by nan)."""
    k = values.shape[0]
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(k) if k > 1 else np.full(mean.shape, np.nan)
    return mean, se


def _searchsorted_rows(a, x, side):
    """Row-wise ``searchsorted(a[p], x, side)`` for ascending rows a (k, n) and queries x (q,), (k, q):
    exact (no shifted keys, which round queries near a point onto it), by one stable row-wise argsort
    of the rows with the queries appended (``right``: after, ``left``: before the equal points)."""
    k, n = a.shape
    q = x.size
    right = side == "right"
    xs = np.broadcast_to(x, (k, q))
    o = np.argsort(np.concatenate([a, xs] if right else [xs, a], axis=1), axis=1, kind="stable")
    query = o >= n if right else o < q
    count = np.cumsum(~query, axis=1)                                   # points before each position
    rows, cols = np.nonzero(query)
    out = np.empty((k, q), dtype=np.intp)
    out[rows, o[rows, cols] - (n if right else 0)] = count[rows, cols]
    return out


@dataclass(frozen=True)
class SpectralEstimate:
    """Probe-averaged spectral law of a symmetric D x D operator (base of the SLQ and KPM results).

    Every method returns the probe mean; ``*_stderr`` its standard error over the k independent
    probes (nan for one probe).  ``dim`` D, ``n_probes`` k, ``matvecs`` operator applications
    (vectors), ``probes`` the probe distribution.
    """
    dim: int
    n_probes: int
    matvecs: int
    probes: str

    def _probe_cdf(self, x, strict=False):              # (n,) -> (k, n); strict: P(X < x)
        raise NotImplementedError

    def _probe_moment(self, p):                          # -> (k,)
        raise NotImplementedError

    def cdf(self, x):
        """Probe mean of the estimated P(X <= x) (array of the shape of x)."""
        xa = np.asarray(x, dtype=np.float64)
        return unwrap(self._probe_cdf(xa.ravel()).mean(axis=0).reshape(xa.shape))

    def cdf_stderr(self, x):
        """Standard error of :meth:`cdf` over probes."""
        xa = np.asarray(x, dtype=np.float64)
        return unwrap(_mean_se(self._probe_cdf(xa.ravel()))[1].reshape(xa.shape))

    def moment(self, p) -> float:
        """E[X^p] (probe mean)."""
        return float(self._probe_moment(integer(p, "p", minimum=0)).mean())

    def moment_stderr(self, p) -> float:
        """Standard error of :meth:`moment` over probes."""
        return float(_mean_se(self._probe_moment(integer(p, "p", minimum=0)))[1])


@dataclass(frozen=True)
class SLQEstimate(SpectralEstimate):
    r"""Stochastic Lanczos quadrature (see the module docstring).

    ``nodes``, ``weights``, ``residuals`` (k, m): Gauss nodes :math:`\theta_{pi}`, weights
    :math:`(e_1^\top y_{pi})^2` and Ritz residuals :math:`\beta_m|e_m^\top y_{pi}|` per probe (rows of
    probes whose Krylov space closed early are padded with weight 0); ``n_steps`` m; ``asymmetry``
    the largest relative Arnoldi-vs-Lanczos discrepancy of the operator; ``alpha``, ``beta`` (k, m)
    the Lanczos tridiagonals (``lanczos.Tridiagonals``), from which the cdf brackets are built.
    """
    nodes: np.ndarray
    weights: np.ndarray
    residuals: np.ndarray
    n_steps: int
    asymmetry: float
    alpha: np.ndarray
    beta: np.ndarray

    @cached_property
    def scale(self) -> float:
        return max(float(np.abs(self.nodes).max()), np.finfo(float).tiny)

    @cached_property
    def converged(self) -> np.ndarray:
        r"""(k, m) nodes that are eigenvalues with their exact mass.

        Consecutive live nodes of a probe closer than ``_TIE`` x scale or than the smaller of their
        residuals are one group (finite precision Lanczos finds copies of a multiple eigenvalue, e.g.
        the atom at -1 of :math:`\tau J`, that converge onto it and share its weight arbitrarily); a
        group with residual :math:`r = (\sum r_i^2)^{1/2}` (of its Ritz subspace), width w and distance
        ``gap`` to the
        probe's nearest live nodes outside it is converged when r <= 1e-4 gap (the subspace's error
        angle is at most r/gap, Davis-Kahan, so its weight is its eigenvalues' mass to ~2e-4 sqrt(weight)
        at worst) and its location is certain to ``CONVERGED`` x scale: w + min(r, r^2/gap) (every Ritz
        value is within r of an eigenvalue, and within r^2/gap of it when the others are gap away,
        Kato-Temple)."""
        k, m = self.nodes.shape
        live = self.weights > _GHOST
        th = self.nodes
        inf = np.full((k, 1), np.inf)
        prev = np.hstack([-inf, np.maximum.accumulate(np.where(live, th, -np.inf), axis=1)[:, :-1]])
        nxt = np.hstack([np.minimum.accumulate(np.where(live, th, np.inf)[:, ::-1], axis=1)[:, ::-1][:, 1:], inf])
        t, res, before, after = th[live], self.residuals[live], prev[live], nxt[live]
        # a node within the smaller residual of its predecessor is a copy of the same eigenvalue
        link = np.minimum(res, np.r_[np.inf, res[:-1]])
        start = ~(t - before <= np.maximum(_TIE * self.scale, link))           # per live node, row-major
        r2 = res ** 2
        first = np.flatnonzero(start)
        last = np.append(first[1:], t.size) - 1
        r = np.sqrt(np.add.reduceat(r2, first)) if t.size else np.zeros(0)
        gap = np.minimum(t[first] - before[first], after[last] - t[last])
        with np.errstate(divide="ignore", invalid="ignore"):
            where = np.minimum(r, np.where(gap > 0, r ** 2 / gap, np.inf))
        ok = (r <= 1e-4 * gap) & (t[last] - t[first] + where <= CONVERGED * self.scale)
        out = np.zeros((k, m), dtype=bool)
        out[live] = ok[np.cumsum(start) - 1]
        return out

    @cached_property
    def _bracket(self):
        r"""Per probe, points g (k, n) ascending with Markov-Krein brackets [L, U] (k, n) of its cdf.

        The m-node Gauss rule fixes the probe measure's moments of order <= 2m (the 2m-th through
        :math:`\beta_m`).  Among all measures with these moments, :math:`F(g^-)` and :math:`F(g)` at a node g
        of a *canonical* rule (m + 1 nodes, exact to order 2m: :math:`T_m` bordered by :math:`\beta_m` and a
        free last diagonal entry a, a Gauss-Radau rule) lie between that rule's mass below g and its
        mass up to g (Chebyshev-Markov-Stieltjes-Krein; Akhiezer, *The classical moment problem*, 1965,
        ch. 3; Szegő Thm 3.41.1 for the Gauss nodes, a = -inf).  The bracket width is the Christoffel
        function there, about *half* the Gauss step's two-node CMS bound.  ``BRACKET_RULES`` values of a
        per probe give brackets at about R points per Gauss interval.  The entry a placing a node at t is
        :math:`a(t) = t - \sum_i r_i^2/(t - \theta_i)` (secular equation of the bordered matrix in the
        eigenbasis of :math:`T_m`, :math:`r_i` the Ritz residuals), increasing on each interval; the R
        values are quantiles of a(t) over ``_FRACTIONS`` positions per interval, weighted by the
        interval's Gauss weights (the heaviest intervals, where the bound peaks, get evenly spread points).
        Converged nodes (eigenvalues with their exact mass) enter as exact jumps; finally the brackets
        are tightened by monotonicity (running max of L from the left, running min of U from the right).
        """
        k, m = self.nodes.shape
        live = self.weights > _GHOST
        i = np.arange(m)
        # probes that stopped early are padded on top with weight 0 and residual 0 (decoupled)
        used = (self.weights > 0) | (self.residuals > 0)
        steps = m - np.argmax(used[:, ::-1], axis=1)
        th = self.nodes
        r2 = np.where(i[None, :] < steps[:, None], self.residuals, 0.0) ** 2        # (beta_s Y_si)^2
        R = BRACKET_RULES
        conv = self.converged
        # free entries a(t) = t - sum_i r_i^2/(t - theta_i) putting a node at t (monotone on each interval)
        f = (np.arange(_FRACTIONS) + 0.5) / _FRACTIONS
        t = th[:, :-1, None] + f[None, None, :] * np.diff(th, axis=1)[:, :, None]          # (k, m-1, F)
        bulk = live[:, 1:] & ~conv[:, 1:] & ~conv[:, :-1] & (np.diff(th, axis=1) > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = t - np.einsum("km,kjfm->kjf", r2, 1.0 / (t[..., None] - th[:, None, None, :]))
        # R values of a: quantiles of these, weighted by the interval's Gauss weights (the bound is
        # largest in the heaviest intervals, so those get their bracket points most evenly spread)
        heavy = np.where(bulk, self.weights[:, 1:] + self.weights[:, :-1], 0.0)
        a = np.where(bulk[..., None] & np.isfinite(a), a, np.inf).reshape(k, -1)
        wa = np.where(np.isfinite(a), np.repeat(heavy, _FRACTIONS, axis=1), 0.0)
        o = np.argsort(a, axis=1)
        a, cw = np.take_along_axis(a, o, 1), np.cumsum(np.take_along_axis(wa, o, 1), axis=1)
        total = cw[:, -1:]
        level = (np.arange(R) + 0.5) / R * np.where(total > 0, total, 1.0)
        pick = np.minimum((cw[:, :, None] < level[:, None, :]).sum(axis=1), a.shape[1] - 1)          # (k, R)
        a = np.take_along_axis(a, pick, 1)
        a = np.where((total > 0) & np.isfinite(a), a, th[:, :1] - 1.0)               # nothing to resolve
        # the rules: T_s bordered by beta_s and a, one O(s^2) tridiagonal eigenproblem each (LAPACK
        # stemr; k R small calls cost less than one batched dense eigh); stopped probes padded on top
        nodes, w = np.empty((k, R, m + 1)), np.zeros((k, R, m + 1))
        for p in range(k):
            sp = steps[p]
            d, e = np.append(self.alpha[p, :sp], 0.0), self.beta[p, :sp]
            for j in range(R):
                d[-1] = a[p, j]
                t, V = eigh_tridiagonal(d, e)
                nodes[p, j, :sp + 1], nodes[p, j, sp + 1:] = t, t[-1]
                w[p, j, :sp + 1] = V[0] ** 2
        up = np.cumsum(w, axis=2)
        up = up / up[:, :, -1:]
        lo = up - w
        # nodes of a rule within rounding of each other (a nearly decoupled direction) share their
        # eigenvectors arbitrarily: one point, bracket from below the first to above the last
        tie = np.diff(nodes, axis=2) <= _TIE * self.scale
        j = np.arange(m + 1)
        first = np.maximum.accumulate(np.where(np.concatenate([np.ones((k, R, 1), bool), ~tie], 2), j, 0), axis=2)
        last = np.minimum.accumulate(np.where(np.concatenate([~tie, np.ones((k, R, 1), bool)], 2), j, m)[..., ::-1],
                                     axis=2)[..., ::-1]
        lo, up = np.take_along_axis(lo, first, 2), np.take_along_axis(up, last, 2)
        # a rule's node within rounding of a converged node (decoupled there) carries no information
        # the exact jump does not; its rounding-level side would make a wrong bracket: vacuous instead
        near = np.abs(nodes.reshape(k, -1)[:, :, None] - th[:, None, :]) <= CONVERGED * self.scale
        near = (near & conv[:, None, :]).any(axis=2).reshape(k, R, m + 1)
        lo, up = np.where(near, 0.0, lo), np.where(near, 1.0, up)
        # Gauss nodes: bracket [S_{nu-1}, S_nu]; converged ones as a left and a right exact copy
        S = np.cumsum(self.weights, axis=1)
        below = S - self.weights
        gx = np.concatenate([th, th, nodes.reshape(k, -1)], axis=1)
        below, S = np.where(live | conv, below, 0.0), np.where(live | conv, S, 1.0)    # weight 0: no claim
        L = np.concatenate([below, np.where(conv, S, below), lo.reshape(k, -1)], axis=1)
        U = np.concatenate([np.where(conv, below, S), S, up.reshape(k, -1)], axis=1)
        flag = np.concatenate([np.zeros((k, m)), 2 * np.ones((k, m)), np.ones((k, R * (m + 1)))], axis=1)
        o = np.argsort(flag, axis=1, kind="stable")                                    # ties: left, rules, right
        gx, L, U = (np.take_along_axis(v, o, 1) for v in (gx, L, U))
        o = np.argsort(gx, axis=1, kind="stable")
        gx, L, U = (np.take_along_axis(v, o, 1) for v in (gx, L, U))
        L = np.clip(np.maximum.accumulate(L, axis=1), 0.0, 1.0)
        U = np.clip(np.minimum.accumulate(U[:, ::-1], axis=1)[:, ::-1], 0.0, 1.0)
        U = np.maximum(U, L)                                                           # rounding
        return gx, L, U

    def _evaluate(self, x, strict=False):
        """(estimate, bound) (k, n) per probe: the midpoint and half-width of the bracket of F(x)
        (``strict``: of F(x-)).  Between a probe's consecutive bracket points g_i <= x < g_{i+1}, F(x)
        and F(x-) lie in [L_i, U_{i+1}] (F is monotone), which contains the bracket [L_i, U_i]
        at g_i itself, so the estimate is a right-continuous step function (its left limits are the
        strict values) and the minimax one given the brackets; below the first point [0, U_0], above
        the last [L_n, 1]."""
        gx, L, U = self._bracket
        k, n = gx.shape
        j = _searchsorted_rows(gx, x, "left" if strict else "right")            # points <= x (< x strict)
        lo = np.where(j > 0, np.take_along_axis(L, np.maximum(j - 1, 0), 1), 0.0)
        hi = np.where(j < n, np.take_along_axis(U, np.minimum(j, n - 1), 1), 1.0)
        return 0.5 * (lo + hi), 0.5 * (hi - lo)

    @cached_property
    def _steps(self):
        """(stderr, bound) of the probe-mean step estimate on the intervals of the merged partition:
        its value on [g, next point of any probe) for each distinct bracket point g of all probes, and
        first the value below them all; every sup over x of a probe-mean quantity is a max over these.
        The stderr only after clusters of points closer than 1e-8 x scale (the default ``atol`` of
        :meth:`ks_distance`: the probes' copies of one converged eigenvalue differ by rounding, and
        between them the probes disagree by its whole mass)."""
        g = np.unique(self._bracket[0])
        (e0, b0), (est, bound) = self._evaluate(g[:1], strict=True), self._evaluate(g)
        est, bound = np.hstack([e0, est]), np.hstack([b0, bound])                # first: below g[0]
        ends = np.r_[True, np.diff(g) > 1e-8 * self.scale, True][1:]             # last point of a cluster
        return _mean_se(est[:, np.r_[True, ends]])[1], bound.mean(axis=0)

    @cached_property
    def cdf_resolution(self) -> float:
        """Sup over x of ``cdf_bound`` (the bound is constant between consecutive bracket points of
        all probes)."""
        return float(self._steps[1].max())

    @cached_property
    def cdf_stderr_max(self) -> float:
        """Sup over x of ``cdf_stderr`` outside the rounding-width clusters of bracket points (nan for
        one probe): at least the ``stderr`` of :meth:`ks_distance` against any law (default ``atol``)."""
        return float(np.nanmax(self._steps[0])) if self.n_probes > 1 else float("nan")

    def ks_bar(self, z=2.0) -> float:
        r"""KS error bar against any law: ``z * cdf_stderr_max + cdf_resolution``, at least
        :math:`z\,s + r` of :meth:`ks_distance` for every ``law`` (its stderr s and resolution r are
        sups over fewer points); the quantity the ``tol`` rule of :func:`slq_density` stops on."""
        return float(scalar(z, "z", nonnegative=True) * self.cdf_stderr_max + self.cdf_resolution)

    @cached_property
    def node_spacing(self) -> float:
        """Typical Gauss node spacing in the bulk: probe mean of the median gap between consecutive
        unresolved nodes (the x-resolution of the quadrature)."""
        live = (self.weights > 0) & ~self.converged
        gaps = [np.median(np.diff(t[l])) for t, l in zip(self.nodes, live) if l.sum() > 1]
        return float(np.mean(gaps)) if gaps else 0.0

    def _probe_cdf(self, x, strict=False):
        return self._evaluate(x, strict)[0]

    def _probe_moment(self, p):
        return np.einsum("km,km->k", self.weights, self.nodes ** p)

    def cdf_bound(self, x, strict=False):
        r"""Pointwise bound on :math:`|E\hat F(x) - F(x)|` (``strict``: on P(X < x)): the probe mean of
        the Markov-Krein bracket bound of :meth:`_evaluate` (see ``_bracket``).  At most
        ``cdf_resolution`` everywhere."""
        xa = np.asarray(x, dtype=np.float64).ravel()
        return unwrap(self._evaluate(xa, strict)[1].mean(axis=0).reshape(np.shape(x)))

    def pdf(self, x, bandwidth=None):
        r"""Gaussian-smoothed density :math:`\frac1k\sum_{p,i} w_{pi}\,\phi_h(x - \theta_{pi})`, h =
        ``bandwidth`` (default ``node_spacing``: narrower shows the nodes, not the density)."""
        h = self.node_spacing if bandwidth is None else scalar(bandwidth, "bandwidth", positive=True)
        if not h > 0:
            raise SpectralTheoryError("no bulk nodes to set a bandwidth from; pass `bandwidth`")
        xa = np.asarray(x, dtype=np.float64)
        z = (xa.ravel()[:, None] - self.nodes.ravel()[None, :]) / h
        dens = np.exp(-0.5 * z ** 2) @ self.weights.ravel() / (np.sqrt(2 * np.pi) * h * self.n_probes)
        return unwrap(dens.reshape(xa.shape))

    def _pooled(self):
        keep = self.weights.ravel() > 0
        t, w = self.nodes.ravel()[keep], self.weights.ravel()[keep] / self.n_probes
        order = np.argsort(t)
        return t[order], w[order]

    def quantile(self, q):
        """Smallest pooled node with (probe-mean) cdf >= q."""
        qa = np.asarray(q, dtype=np.float64)
        if np.any(~(qa >= 0) | ~(qa <= 1)):
            raise SpectralTheoryError("`q` must lie in [0, 1]")
        t, w = self._pooled()
        c = np.cumsum(w)
        i = np.minimum(np.searchsorted(c, qa.ravel() * c[-1] - 1e-14), t.size - 1)
        return unwrap(t[i].reshape(qa.shape))

    def _clusters(self, gap=None, atol=None):
        """Clusters of pooled nodes as (:class:`Bulk`, is it a point mass) (ascending).  A point mass has its
        edges within atol and either all its nodes within atol or a converged node among its certified ones
        (an eigenvalue with its exact mass): a bulk with a single certified node also has lo = hi, but that
        node is an unconverged Ritz value."""
        gap = 5 * self.node_spacing if gap is None else scalar(gap, "gap", positive=True)
        atol = 1e-8 * self.scale if atol is None else scalar(atol, "atol", nonnegative=True)
        # a probe has at most one Ritz value per gap of the spectrum (Cauchy interlacing): an
        # unconverged node farther than `gap` from both neighbours of its own probe is not a bulk
        spacing = np.diff(self.nodes, axis=1)
        inf = np.full((self.n_probes, 1), np.inf)
        lone = (np.minimum(np.hstack([inf, spacing]), np.hstack([spacing, inf])) > gap) & ~self.converged
        # a node within its residual of both neighbours is certified to sit next to eigenvalues
        # (an eigenvalue lies within the residual of every Ritz value); cluster edges are the extreme
        # certified nodes, so a Ritz value in a gap next to a bulk does not move the bulk's edge
        certified = self.residuals <= np.minimum(np.hstack([inf, spacing]), np.hstack([spacing, inf]))
        keep = (self.weights > 0) & ~lone
        probe = np.broadcast_to(np.arange(self.n_probes)[:, None], keep.shape)[keep]
        t, w, c, conv = self.nodes[keep], self.weights[keep] / self.n_probes, certified[keep], self.converged[keep]
        order = np.argsort(t)
        t, w, c, conv, probe = t[order], w[order], c[order], conv[order], probe[order]
        cut = np.flatnonzero(np.diff(t) > max(gap, atol)) + 1
        out = []
        for a, b in zip(np.concatenate([[0], cut]), np.concatenate([cut, [t.size]])):
            edge = t[a:b][c[a:b]] if np.any(c[a:b]) else t[a:b]
            res = [abs(e - o) + self._edge_spacing(t[a:b], probe[a:b], side)
                   for e, o, side in ((edge[0], t[a], 0), (edge[-1], t[b - 1], 1))]
            point = edge[-1] - edge[0] <= atol and (t[b - 1] - t[a] <= atol or bool(np.any(conv[a:b][c[a:b]])))
            out.append((Bulk(float(edge[0]), float(edge[-1]), float(res[0]), float(res[1]), float(w[a:b].sum())), point))
        return out, atol

    def _edge_spacing(self, t, probe, side):
        """Probe mean of the spacing between a probe's two outermost nodes of a cluster at one side (0:
        lower, 1: upper): extreme Ritz values approach a bulk's edge from inside on the scale of the
        node spacing there (Gauss nodes crowd at a square-root edge like the eigenvalues do)."""
        o = np.lexsort((t if side == 0 else -t, probe))
        t, probe = t[o], probe[o]
        start = np.flatnonzero(np.r_[True, probe[1:] != probe[:-1]])
        count = np.diff(np.r_[start, t.size])
        two = start[count >= 2]
        return float(np.abs(t[two + 1] - t[two]).mean()) if two.size else self.node_spacing

    def bulks(self, gap=None, atol=None):
        r"""The bulks as :class:`Bulk` (edges with their resolution, mass), ascending.

        Clusters of pooled nodes are split at spacings wider than ``gap`` (default 5 ``node_spacing``)
        and kept when wider than ``atol`` and heavier than ``cdf_resolution``; a probe's unconverged
        node farther than ``gap`` from both its neighbours is left out (a Ritz value inside a gap of
        the spectrum: at most one per gap and probe, by interlacing).  Edges are the extreme nodes whose
        Ritz residual is below the spacing to their neighbours (certified next to eigenvalues); an
        edge's resolution is its distance to the cluster's outermost node plus the probe-mean spacing of
        the outermost nodes there (extreme Ritz values converge to the edge from inside on that scale).
        A gap is claimed only where it is resolved: two neighbouring clusters whose gap is narrower
        than the sum of the resolutions of its two edges are one bulk.
        """
        cl, atol = self._clusters(gap, atol)
        cl = [b for b, point in cl if not point and b.mass > self.cdf_resolution]
        out = []
        for b in cl:
            if out and b.lo - out[-1].hi <= out[-1].hi_resolution + b.lo_resolution:     # unresolved gap
                p = out.pop()
                b = Bulk(p.lo, b.hi, p.lo_resolution, b.hi_resolution, p.mass + b.mass)
            out.append(b)
        return out

    def support(self, gap=None, atol=None):
        """Bulks as (lo, hi) (see :meth:`bulks`, which also gives the edges' resolutions)."""
        return [(b.lo, b.hi) for b in self.bulks(gap, atol)]

    @property
    def atoms(self):
        """Point masses (location, mass): clusters of nodes narrower than the default ``atol``."""
        cl, atol = self._clusters()
        return [(b.lo, b.mass) for b, point in cl if point and b.mass > self.cdf_resolution]

    def ks_distance(self, law, atol=None) -> KSDistance:
        r"""KS distance of the probe-mean quadrature cdf to ``law`` (a SpectralDensity or eigenvalues).

        The estimate is constant between its bracket points and the law monotone, so the sup is taken
        over left and right limits at the bracket points and the law's atoms or eigenvalues (and the
        resolution is the largest ``cdf_bound`` there); jump points closer than
        ``atol`` (default 1e-8 x the spectral scale) count as one (a degenerate eigenvalue computed as a
        Ritz value and by ``eigvalsh`` differs by rounding).
        """
        F, F_left, jumps, law_scale = _law(law)
        atol = 1e-8 * max(self.scale, law_scale) if atol is None else scalar(atol, "atol", nonnegative=True)
        pts = np.sort(np.concatenate([self._bracket[0].ravel(), jumps]))
        cut = np.flatnonzero(np.diff(pts) > atol) + 1
        lo = pts[np.concatenate([[0], cut])]
        hi = pts[np.concatenate([cut - 1, [pts.size - 1]])]
        right, left = self._probe_cdf(hi), self._probe_cdf(lo, strict=True)
        (mr, sr), (ml, sl) = _mean_se(right), _mean_se(left)
        value = max(np.abs(mr - F(hi)).max(), np.abs(ml - F_left(lo)).max())
        bound = max(self.cdf_bound(hi).max(), self.cdf_bound(lo, strict=True).max())
        return KSDistance(float(value), float(max(np.nanmax(sr, initial=0), np.nanmax(sl, initial=0)))
                          if self.n_probes > 1 else float("nan"), float(bound))


def slq_density(matvec, dim, *, n_probes, n_steps, probes="rademacher", rng=None, tol=None,
                z=2.0) -> SLQEstimate:
    r"""Spectral law of a symmetric operator by stochastic Lanczos quadrature.

    Parameters
    ----------
    matvec : callable (k, D) -> (k, D), symmetric (e.g. ``operators.model_operator(model, x, sigma)``).
    dim : D.
    n_probes : k independent probes, advanced together (one matvec of the (k, D) block per step).
    n_steps : m Lanczos steps per probe (m <= D); Gauss quadrature with m nodes, exact for moments of
        order < 2m.  Full reorthogonalisation (CGS2), cost O(k D m^2) beside k m matvecs.  With ``tol``:
        the most steps allowed.
    probes : "rademacher" (default; smaller variance of diagonal-heavy traces) or "gaussian".
    rng : Generator or seed of the probes.
    tol : None, or the KS error bar to reach: Lanczos stops at the first checked step s whose estimate
        has ``ks_bar(z)`` = z ``cdf_stderr_max`` + ``cdf_resolution`` <= tol (an upper bound of
        z stderr + resolution of ``ks_distance`` to any law), and that estimate is returned.  The
        checks (brackets of the s-step tridiagonals; no matvecs) run at step ``FIRST_CHECK`` and then
        where the last check predicts the bar reaches tol, the resolution falling like 1/s (Gauss
        weights ~ 1/s) and the spread staying: :math:`s' = \lceil s\,r/(\mathrm{tol} - z\,\mathrm{se})
        \rceil` (at least s + 1, at most ``n_steps``); a prediction beyond 2 ``n_steps`` (or a spread
        alone above tol: more steps do not shrink it) is checked again at step 2 ``FIRST_CHECK`` and then
        raises.  Needs k >= 2.
    z : standard errors in the bar (default 2).

    Returns
    -------
    SLQEstimate (cdf, pdf, moment, quantile, support, atoms, ks_distance, with error bars; ``n_steps``
    the steps taken).

    Raises
    ------
    SpectralTheoryError
        Naming ``matvec`` for a wrong output shape, NaN or a non-symmetric operator (detected on the
        Arnoldi coefficients the reorthogonalisation computes anyway); naming a bad parameter.
    ConvergenceError
        When ``tol`` is not reached within ``n_steps`` (with the bar's two parts: a spread part near tol
        asks for more probes, a resolution part for more steps).
    """
    D = integer(dim, "dim", minimum=1)
    k = integer(n_probes, "n_probes", minimum=1)
    m = integer(n_steps, "n_steps", minimum=1, maximum=D)
    z = scalar(z, "z", positive=True)
    V = _probes(probes, k, D, rng)

    def estimate(tri):
        nodes, weights, residuals = tri.ritz()
        return SLQEstimate(D, k, tri.matvecs, probes, nodes, weights, residuals, tri.alpha.shape[1],
                           tri.asymmetry, tri.alpha, tri.beta)
    if tol is None:
        return estimate(lanczos_tridiagonal(matvec, V, m))
    tol = scalar(tol, "tol", positive=True)
    if k < 2:
        raise SpectralTheoryError(f"`n_probes` must be >= 2 with `tol` (the bar needs the probe spread); got {k}")
    plan = {"next": min(FIRST_CHECK, m), "found": None}

    def stop(tri):
        s = tri.alpha.shape[1]
        if s < plan["next"]:
            return False
        est = estimate(tri)
        if est.ks_bar(z) <= tol:
            plan["found"] = est
            return True
        spread, res = z * est.cdf_stderr_max, est.cdf_resolution
        guess = s * res / (tol - spread) if spread < tol else np.inf
        if guess > 2 * m:                                  # predicted out of reach: confirm once, then stop
            if s >= 2 * FIRST_CHECK:
                fail(est, s)
            guess = 2 * FIRST_CHECK
        plan["next"] = int(min(m, max(s + 1, np.ceil(guess))))
        return False

    def fail(est, s):
        spread, res = z * est.cdf_stderr_max, est.cdf_resolution
        more = int(np.ceil(k * (2 * spread / tol) ** 2))          # spread / sqrt(k): half of tol
        raise ConvergenceError(
            f"SLQ did not reach the KS bar tol = {tol:g} ({k} probes, {s} of at most n_steps = {m} steps): bar "
            f"{spread + res:.4g} = {z:g} x stderr {spread / z:.3g} + resolution {res:.3g}; "
            + (f"the spread part is {spread / tol:.0%} of tol: raise n_probes (to ~{more})" if spread >= 0.5 * tol
               else "raise n_steps"))
    tri = lanczos_tridiagonal(matvec, V, m, stop=stop)
    est = plan["found"] or estimate(tri)
    if not est.ks_bar(z) <= tol:
        fail(est, est.n_steps)
    return est


# ---- kernel polynomial method ---------------------------------------------------------------------
def jackson(n_moments):
    r"""Jackson damping factors :math:`g_n`, n = 0..N-1 (Weisse et al. 2006, eq. 71)."""
    N = n_moments
    n = np.arange(N)
    q = np.pi / (N + 1)
    return ((N - n + 1) * np.cos(q * n) + np.sin(q * n) / np.tan(q)) / (N + 1)


@dataclass(frozen=True)
class KPMEstimate(SpectralEstimate):
    r"""Kernel polynomial method (see the module docstring).

    ``chebyshev`` (k, N): per-probe Chebyshev moments :math:`q_p^\top T_n(\tilde A) q_p` of
    :math:`\tilde A = (A - c)/h`; ``bounds`` (a, b) = (c - h, c + h); ``n_moments`` N.  The density is
    :math:`\rho(x) = \big[g_0\mu_0 + 2\sum_{n\ge1} g_n\mu_n T_n(\tilde x)\big] / (\pi h \sqrt{1-\tilde x^2})`
    with Jackson factors :math:`g_n` (nonnegative for every probe: its moments are those of a positive
    measure); the cdf is its exact integral.
    """
    chebyshev: np.ndarray
    bounds: tuple
    n_moments: int

    @property
    def resolution(self) -> float:
        """Jackson kernel width pi h / N in the units of the spectrum."""
        return float(np.pi * 0.5 * (self.bounds[1] - self.bounds[0]) / self.n_moments)

    @property
    def cdf_resolution(self) -> float:
        """0: :meth:`ks_distance` compares with the law smoothed by the same kernel."""
        return 0.0

    def _theta(self, x):
        a, b = self.bounds
        return np.arccos(np.clip((2 * x - a - b) / (b - a), -1.0, 1.0))

    def _smoothed_cdf(self, mu, theta):                  # mu (k, N), theta (n,) -> (k, n)
        g = jackson(self.n_moments)
        n = np.arange(1, self.n_moments)
        series = np.sin(np.outer(n, theta)) / (n[:, None] * np.pi)            # (N-1, n)
        return (g[0] * mu[:, :1] * (np.pi - theta[None, :]) / np.pi - 2 * (g[1:] * mu[:, 1:]) @ series)

    def _probe_cdf(self, x, strict=False):               # continuous: strict makes no difference
        return np.clip(self._smoothed_cdf(self.chebyshev, self._theta(x)), 0.0, 1.0)

    def _probe_moment(self, p):
        if p >= self.n_moments:
            raise SpectralTheoryError(f"`p` must be < n_moments = {self.n_moments} for a KPM moment; got {p}")
        a, b = self.bounds
        power = _poly.polypow([0.5 * (a + b), 0.5 * (b - a)], p)               # (c + h x)^p in x
        coef = _cheb.poly2cheb(power)
        return self.chebyshev[:, :coef.size] @ coef

    def pdf(self, x):
        """Jackson-smoothed density (probe mean); 0 outside the bounds."""
        xa = np.asarray(x, dtype=np.float64)
        a, b = self.bounds
        xt = (2 * xa.ravel() - a - b) / (b - a)
        inside = np.abs(xt) < 1
        th = np.arccos(np.clip(xt, -1, 1))
        g = jackson(self.n_moments)
        mu = self.chebyshev.mean(axis=0)
        n = np.arange(self.n_moments)
        series = (g * mu * np.where(n > 0, 2.0, 1.0)) @ np.cos(np.outer(n, th))
        with np.errstate(divide="ignore", invalid="ignore"):
            dens = np.where(inside, series / (np.pi * 0.5 * (b - a) * np.sqrt(1 - xt ** 2)), 0.0)
        return unwrap(dens.reshape(xa.shape))

    def quantile(self, q):
        """Inverse of the (continuous) probe-mean cdf, by bisection in arccos of the rescaled x."""
        qa = np.asarray(q, dtype=np.float64)
        if np.any(~(qa >= 0) | ~(qa <= 1)):
            raise SpectralTheoryError("`q` must lie in [0, 1]")
        lo, hi = np.zeros(qa.size), np.full(qa.size, np.pi)                   # theta: cdf decreasing
        mu = self.chebyshev.mean(axis=0, keepdims=True)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            above = self._smoothed_cdf(mu, mid)[0] >= qa.ravel()
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        a, b = self.bounds
        return unwrap((0.5 * (a + b) + 0.5 * (b - a) * np.cos(0.5 * (lo + hi))).reshape(qa.shape))

    def support(self):
        """The spectral bounds [(a, b)] (KPM resolves no sharp edges; see ``resolution``)."""
        return [tuple(map(float, self.bounds))]

    def law_moments(self, law):
        r"""Chebyshev moments :math:`\int T_n(\tilde x)\, d\mu` of a law on these bounds.

        Eigenvalues: exact means of :math:`T_n`.  A SpectralDensity: atoms exactly; the continuous part
        :math:`F_c` (cdf minus atoms) by parts,
        :math:`\int T_n\,dF_c = F_c(b) - n\int_0^\pi F_c(c + h\cos\theta) \sin n\theta\, d\theta`, by the
        midpoint rule on max(8192, 32 N) points (F_c is continuous).
        """
        a, b = self.bounds
        h, c = 0.5 * (b - a), 0.5 * (a + b)
        n = np.arange(self.n_moments)
        F, _, jumps, _ = _law(law)
        if hasattr(law, "atoms"):
            ends = [e for bulk in law.support() for e in bulk] + list(jumps)
            locs, wts = jumps, np.array([w for _, w in law.atoms])
        else:
            ends, locs, wts = list(jumps), jumps, np.full(jumps.size, 1.0 / jumps.size)
        if ends and (min(ends) < a - 1e-12 * h or max(ends) > b + 1e-12 * h):
            raise SpectralTheoryError(f"`law` has mass outside the estimate's bounds {self.bounds}: "
                                      f"[{min(ends):.6g}, {max(ends):.6g}]; pass wider `bounds` to kpm_density")
        mu = (np.cos(np.outer(n, np.arccos(np.clip((locs - c) / h, -1, 1)))) @ wts if locs.size
              else np.zeros(self.n_moments))
        if hasattr(law, "atoms") and law.support():
            M = max(8192, 32 * self.n_moments)
            th = (np.arange(M) + 0.5) * np.pi / M
            xs = c + h * np.cos(th)
            Fc = F(xs) - (xs[:, None] >= locs[None, :]) @ wts if locs.size else F(xs)
            mass_c = float(F(np.array([b]))[0]) - float(wts.sum())
            mu = mu + mass_c - n * (np.sin(np.outer(n, th)) @ Fc) * (np.pi / M)
        return mu

    def ks_distance(self, law, atol=None) -> KSDistance:
        r"""KS distance to ``law`` after the same Jackson smoothing of both (exact law moments from
        :meth:`law_moments`), on a grid of 8N points uniform in :math:`\arccos\tilde x` (the kernel's
        natural variable); the error bar is the probe spread only.  ``atol`` is unused (kept for the
        common signature)."""
        theta = (np.arange(8 * self.n_moments) + 0.5) * np.pi / (8 * self.n_moments)
        ref = self._smoothed_cdf(self.law_moments(law)[None, :], theta)[0]
        mean, se = _mean_se(self._smoothed_cdf(self.chebyshev, theta))
        return KSDistance(float(np.abs(mean - ref).max()),
                          float(np.nanmax(se)) if self.n_probes > 1 else float("nan"), 0.0)


def kpm_density(matvec, dim, *, n_probes, n_moments, bounds=None, probes="rademacher",
                rng=None) -> KPMEstimate:
    r"""Spectral law of a symmetric operator by the kernel polynomial method (Jackson kernel).

    Parameters
    ----------
    matvec, dim, n_probes, probes, rng : as for :func:`slq_density`.
    n_moments : N Chebyshev moments (N/2 + 1 matvecs per probe, by :math:`\mu_{2n} = 2|t_n|^2 - \mu_0`,
        :math:`\mu_{2n+1} = 2 t_{n+1}^\top t_n - \mu_1`, :math:`t_n = T_n(\tilde A) q`); resolution
        :math:`\pi h/N`.
    bounds : (a, b) containing the spectrum, or None: 30 Lanczos steps on one extra probe give
        :math:`[\theta_{\min} - r_{\min}, \theta_{\max} + r_{\max}]` (Ritz values and residuals),
        widened by ``KPM_MARGIN`` = 2.5% of the width on each side.

    Raises
    ------
    ConvergenceError
        When a moment exceeds 1 in magnitude (the spectrum leaves the bounds: :math:`|T_n| \le 1` only
        on [-1, 1]).
    SpectralTheoryError
        Naming ``matvec`` for bad output, or for asymmetry (the moments by the doubling identities
        disagree with the direct ones :math:`q^\top t_n`, which holds only for symmetric A).
    """
    D = integer(dim, "dim", minimum=1)
    k = integer(n_probes, "n_probes", minimum=1)
    N = integer(n_moments, "n_moments", minimum=2)
    gen = as_generator(rng)
    count = 0
    if bounds is None:
        tri = lanczos_tridiagonal(matvec, gen.standard_normal((1, D)), min(_KPM_BOUND_STEPS, D))
        nodes, weights, res = tri.ritz()
        live = weights[0] > 0
        t, r = nodes[0][live], res[0][live]
        a, b = t[0] - r[0], t[-1] + r[-1]
        width = max(b - a, 1e-12 * max(abs(a), abs(b), 1e-300))
        a, b = a - KPM_MARGIN * width, b + KPM_MARGIN * width
        count += tri.matvecs
    else:
        try:
            a, b = (scalar(v, "bounds") for v in bounds)
        except TypeError as e:
            raise SpectralTheoryError("`bounds` must be a pair (a, b)") from e
        if not b > a:
            raise SpectralTheoryError(f"`bounds` must have a < b; got {bounds!r}")
    c, h = 0.5 * (a + b), 0.5 * (b - a)
    Z = _probes(probes, k, D, gen)
    t0 = Z / np.linalg.norm(Z, axis=1, keepdims=True)

    def op(T):
        return (apply(matvec, T) - c * T) / h

    mu = np.zeros((k, N))
    direct = np.zeros((k, N // 2 + 2))
    mu[:, 0] = 1.0
    t1 = op(t0)
    count += k
    mu[:, 1] = direct[:, 1] = np.einsum("kd,kd->k", t0, t1)
    direct[:, 0] = 1.0
    prev, cur, n = t0, t1, 1
    while 2 * n < N:
        nxt = 2 * op(cur) - prev
        count += k
        mu[:, 2 * n] = 2 * np.einsum("kd,kd->k", cur, cur) - mu[:, 0]
        if 2 * n + 1 < N:
            mu[:, 2 * n + 1] = 2 * np.einsum("kd,kd->k", nxt, cur) - mu[:, 1]
        direct[:, n + 1] = np.einsum("kd,kd->k", t0, nxt)
        prev, cur, n = cur, nxt, n + 1
    both = min(N, n + 1)
    size = max(1.0, float(np.abs(mu).max()), float(np.abs(direct).max()))    # rounding grows with |mu|
    dev = float(np.abs(direct[:, :both] - mu[:, :both]).max()) / size
    if dev > SYMMETRY_TOL * both:
        raise SpectralTheoryError(
            f"`matvec` is not symmetric: Chebyshev moments by the doubling identities differ from the "
            f"direct ones by {dev:.2e} (relative); pass an explicit choice: operators.symmetric_part(op), "
            "or lanczos_singular")
    worst = float(np.abs(mu).max())
    if worst > 1 + 1e-8:
        raise ConvergenceError(f"KPM: a Chebyshev moment reached {worst:.3g} > 1: the spectrum leaves the "
                               f"bounds ({a:.6g}, {b:.6g}); pass wider `bounds`")
    return KPMEstimate(D, k, count, probes, mu, (float(a), float(b)), N)
