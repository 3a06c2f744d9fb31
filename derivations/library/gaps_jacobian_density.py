"""Closed-form density of tau*J for data on a linear manifold with one variance block."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import lam, tau

NAME = "gaps_jacobian_density"
TITLE = "Single-block score-Jacobian spectrum in closed form (Marchenko-Pastur pushforward)"

v = sp.Symbol("v", positive=True)                    # latent variance of the block
al = sp.Symbol("alpha_m", positive=True)             # block fraction m/D
y = sp.Symbol("y", negative=True)                    # eigenvalue of tau J


def build() -> Derivation:
    lo_c = v * (1 - sp.sqrt(al)) ** 2                # edges of the spectrum of C (F entries of variance 1/D)
    hi_c = v * (1 + sp.sqrt(al)) ** 2
    rho_c = sp.sqrt((hi_c - lam) * (lam - lo_c)) / (2 * sp.pi * v * lam)
    image = -tau / (lam + tau)
    lam_of_y = sp.solve(sp.Eq(image, y), lam)[0]
    y_lo = image.subs(lam, lo_c)                     # lower edge of the bulk of tau*J
    y_hi = image.subs(lam, hi_c)
    rho_j_pushed = rho_c.subs(lam, lam_of_y) * sp.diff(lam_of_y, y)
    rho_j = sp.sqrt((tau + lo_c) * (tau + hi_c) * (y - y_lo) * (y_hi - y)) / (2 * sp.pi * v * y**2 * (1 + y))
    inside = (y > y_lo) & (y < y_hi)
    R, Rj, L = sp.Function("rho_C")(lam), sp.Function("rho_J")(y), sp.Function("lambda")(y)
    Ylo, Yhi = sp.symbols("y_- y_+")

    steps = (
        Step(R, rho_c,
             "One block of $m = \\alpha D$ latent directions of variance $v$, $F$ with iid $N(0, 1/D)$ "
             "entries: the nonzero eigenvalues of $C = v F F^\\top$ follow Marchenko-Pastur with edges "
             "$\\lambda_\\mp = v(1 \\mp \\sqrt\\alpha)^2$ and total mass $\\alpha$ (the rest is an atom at "
             "0). Checked: the edges are the roots of $4 v^2 \\alpha - (\\lambda - v(1 + \\alpha))^2$, the "
             "discriminant of the one-block Stieltjes equation (the density itself is checked against "
             "the solver by the twin).",
             "mp_density",
             claim=Eq(sp.expand((hi_c - lam) * (lam - lo_c)),
                      sp.expand(-(lam - v * (1 + al)) ** 2 + 4 * v**2 * al))),
        Step(L, lam_of_y,
             "The eigenvalue $\\lambda$ of $C$ behind an eigenvalue $y = -\\tau/(\\lambda + \\tau)$ of $\\tau J$ "
             "(sympy solve, one root).", "inverse_map", claim=Eq(image.subs(lam, lam_of_y), y)),
        Step(sp.Derivative(L, y), sp.diff(lam_of_y, y), "Its derivative (positive: the map is increasing).",
             "jacobian_factor", claim=Eq(sp.diff(lam_of_y, y), tau / y**2)),
        Step(sp.Tuple(Ylo, Yhi), sp.Tuple(y_lo, y_hi),
             "Bulk edges of $\\tau J$: the images of the edges of $C$; the atom at 0 maps to -1.", "edges",
             claim=(Eq(y_lo, -tau / (tau + lo_c)), Eq(image.subs(lam, 0), -1))),
        Step(Rj, rho_j,
             "Change of variables $\\rho_J(y) = \\rho_C(\\lambda(y))\\, d\\lambda/dy$; using "
             "$\\lambda - \\lambda_- = -(\\tau + \\lambda_-)(y - y_-)/y$ and "
             "$\\lambda_+ - \\lambda = (\\tau + \\lambda_+)(y_+ - y)/(-y)$ the density closes in $y$ "
             "(checked at random points inside the bulk, 50 digits).", "closed_form",
             claim=Eq(rho_j_pushed, rho_j), method="numeric", where=inside),
    )
    results = (
        Result("density", Rj, rho_j, (y, tau, v, al),
               "Density of the continuous part of the spectrum of $\\tau J$ (mass $\\alpha$) on $(y_-, y_+)$.",
               regime=inside, regime_text="y inside the bulk (y_-, y_+)"),
        Result("lower_edge", Ylo, y_lo, (tau, v, al), "Lower edge of the bulk (manifold gap's upper end)."),
        Result("upper_edge", Yhi, y_hi, (tau, v, al), "Upper edge of the bulk."),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("For data on a linear manifold with one variance block the spectrum of $\\tau J$ is an "
                   "atom of weight $1 - \\alpha$ at $-1$ plus a bulk on $(y_-, y_+)$ with the closed-form density "
                   "$\\rho_J(y) \\propto \\sqrt{(y-y_-)(y_+-y)}/(y^2(1+y))$ (the result below), "
                   "$y_\\pm = -\\tau/(\\tau+\\lambda_\\mp)$, $\\lambda_\\pm = v(1\\pm\\sqrt\\alpha)^2$."),
        symbols={v: "latent variance of the block", al: "block fraction $m/D$", tau: "VE noise variance",
                 lam: "eigenvalue of $C$", y: "eigenvalue of $\\tau J$"},
        steps=steps, results=results,
        references=("marchenko1967distribution", "ventura2025manifolds", "notes:spectral_gaps"),
        regime=al < 1, regime_text="$0 < \\alpha < 1$ (fewer latent directions than dimensions), $D \\to \\infty$",
        domain={v: (0.2, 5), al: (0.02, 0.95), tau: (0.01, 20), lam: (0.01, 20), y: (-0.999, -0.001)},
        twins=(Twin("jacobian_spectrum_single_block",
                    "vs spectral_theory.jacobian_spectrum(LinearManifold(D, [(m, v)]), tau): pdf and support",
                    _twin_density, tol=1e-8, requires=("spectral_theory.jacobian_spectrum",)),),
    )


def _twin_density(d: Derivation, rng) -> float:
    import spectral_theory as st
    dens, lo_f, hi_f = d.numeric("density"), d.numeric("lower_edge"), d.numeric("upper_edge")
    err = 0.0
    for _ in range(3):
        D = 1000
        m = int(rng.integers(20, 900))
        v_, tau_ = rng.uniform(0.2, 5), np.exp(rng.uniform(-3, 3))
        law = st.jacobian_spectrum(st.LinearManifold(D, [(m, v_)], rng=0), tau_)
        (lo, hi), = law.support()
        a_ = m / D
        err = max(err, abs(lo - lo_f(tau_, v_, a_)) / abs(lo), abs(hi - hi_f(tau_, v_, a_)) / abs(hi))
        ys = lo + (hi - lo) * rng.uniform(0.01, 0.99, 20)
        mine, theirs = dens(ys, tau_, v_, a_), law.pdf(ys)
        err = max(err, float(np.max(np.abs(mine - theirs)) / np.max(theirs)))
    return err
