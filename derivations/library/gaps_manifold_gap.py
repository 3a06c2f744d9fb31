"""The manifold gap of tau*J and the phase boundaries it sets."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import delta, lam, tau

NAME = "gaps_manifold_gap"
TITLE = "Manifold gap of the rescaled score Jacobian and the phase boundaries"

gm = sp.Symbol("gamma_-", positive=True)             # smallest nonzero eigenvalue (lower edge) of C
gp = sp.Symbol("gamma_+", positive=True)             # largest eigenvalue (upper edge) of C
v = sp.Symbol("v", positive=True)
al = sp.Symbol("alpha_m", positive=True)


def build() -> Derivation:
    image = -tau / (lam + tau)
    width = image.subs(lam, gm) - image.subs(lam, 0)
    W = sp.Function("W")(tau)
    Tm, Tc, Tt = sp.symbols("tau_gap tau_cons tau_triv")
    t_gap = sp.solve(sp.Eq(width, delta), tau)[0]
    t_cons = sp.solve(sp.Eq(image.subs(lam, gm), -delta), tau)[0]
    t_triv = sp.solve(sp.Eq(image.subs(lam, gp) + 1, delta), tau)[0]
    gm_one = v * (1 - sp.sqrt(al)) ** 2
    steps = (
        Step(image.subs(lam, 0), -1,
             "Directions normal to the data ($\\lambda = 0$) give the eigenvalue $-1$ of $\\tau J$ at every "
             "$\\tau$: an atom of weight $1 - m/D$.", "normal_atom", claim=Eq(image.subs(lam, 0), -1)),
        Step(W, gm / (gm + tau),
             "The manifold gap runs from the atom to the image of the smallest nonzero eigenvalue "
             "$\\gamma_-$ of $C$ (the map is increasing); it tends to 1 as $\\tau \\to 0$ and to 0 as "
             "$\\tau \\to \\infty$.", "width", claim=Eq(width, gm / (gm + tau))),
        Step(sp.Derivative(W, tau), sp.diff(width, tau), "It shrinks monotonically with the noise.",
             "monotone", claim=Eq(sp.diff(width, tau), -gm / (gm + tau) ** 2)),
        Step(Tm, t_gap,
             "It exceeds a resolution $\\Delta$ for $\\tau < \\gamma_-(1-\\Delta)/\\Delta$ (sympy solve): "
             "from then on the largest drop of the sorted spectrum counts the normal directions.",
             "visible", claim=Eq(t_gap, gm * (1 - delta) / delta)),
        Step(Tc, t_cons,
             "Consolidation: every tangent eigenvalue lies within $\\Delta$ of 0 once the lowest one, "
             "$-\\tau/(\\gamma_- + \\tau)$, does (the manifold gap then exceeds $1 - \\Delta$).",
             "consolidation", claim=Eq(t_cons, gm * delta / (1 - delta))),
        Step(Tt, t_triv,
             "Trivial phase: the whole spectrum within $\\Delta$ of $-1$ until the top tangent eigenvalue "
             "$-\\tau/(\\gamma_+ + \\tau)$ leaves it.", "trivial", claim=Eq(t_triv, gp * (1 - delta) / delta)),
        Step(sp.Symbol("gamma_-__(1)"), gm_one,
             "For one block of variance $v$ and fraction $\\alpha$ (Gaussian $F$), $\\gamma_-$ is the lower "
             "Marchenko-Pastur edge; checked: it is the smaller root of $(\\lambda - v(1+\\alpha))^2 = 4v^2\\alpha$.",
             "one_block_edge", claim=Eq((gm_one - v * (1 + al)) ** 2, 4 * v**2 * al)),
    )
    results = (
        Result("width", W, gm / (gm + tau), (gm, tau), "Manifold gap.", regime=sp.true,
               regime_text="all gamma_-, tau > 0"),
        Result("tau_visible", Tm, gm * (1 - delta) / delta, (gm, delta), "Largest tau with manifold gap >= Delta."),
        Result("tau_consolidation", Tc, gm * delta / (1 - delta), (gm, delta), "Coverage/consolidation boundary."),
        Result("tau_trivial", Tt, gp * (1 - delta) / delta, (gp, delta), "Trivial/coverage boundary."),
        Result("gamma_minus_one_block", sp.Symbol("gamma_-__(1)"), gm_one, (v, al),
               "Lower edge for one block.", regime=al < 1, regime_text="0 < alpha_m < 1"),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("The gap of $\\tau J$ above the atom at $-1$ (the normal directions) has width "
                   "$\\gamma_-/(\\gamma_- + \\tau)$; with a resolution $\\Delta$ it is visible below "
                   "$\\gamma_-(1-\\Delta)/\\Delta$, and the three phases are separated at "
                   "$\\tau_{\\rm triv} = \\gamma_+(1-\\Delta)/\\Delta$ and $\\tau_{\\rm cons} = \\gamma_-\\Delta/(1-\\Delta)$."),
        symbols={gm: "smallest nonzero eigenvalue or lower edge of $C$", gp: "largest eigenvalue or upper edge of $C$",
                 tau: "VE noise variance", lam: "eigenvalue of $C$", delta: "resolution threshold",
                 v: "block variance", al: "block fraction $m/D$"},
        steps=steps, results=results,
        references=("ventura2025manifolds", "notes:spectral_gaps"),
        regime=delta < sp.Rational(1, 2), regime_text="resolution $0 < \\Delta < 1/2$",
        domain={gm: (0.01, 5), gp: (0.5, 50), tau: (0.01, 20), lam: (0.01, 20), delta: (0.01, 0.49),
                v: (0.2, 5), al: (0.02, 0.95)},
        twins=(Twin("phases_one_block", "vs spectral_theory.phases and manifold_gap of a one-block LinearManifold",
                    _twin_phases, tol=1e-10, requires=("spectral_theory.phases",)),),
    )


def _twin_phases(d: Derivation, rng) -> float:
    import spectral_theory as st
    err = 0.0
    for _ in range(3):
        D, m = 500, int(rng.integers(10, 400))
        v_, dl, tau_ = rng.uniform(0.2, 5), rng.uniform(0.02, 0.45), np.exp(rng.uniform(-3, 3))
        model = st.LinearManifold(D, [(m, v_)], rng=0)
        ph = st.phases(model, dl)
        g_minus = d.numeric("gamma_minus_one_block")(v_, m / D)
        g_plus = v_ * (1 + np.sqrt(m / D)) ** 2
        rel = lambda a, b: abs(a - b) / abs(b)
        err = max(err, rel(ph.gamma_minus, g_minus),
                  rel(ph.tau_consolidation, d.numeric("tau_consolidation")(g_minus, dl)),
                  rel(ph.tau_trivial, d.numeric("tau_trivial")(g_plus, dl)),
                  rel(ph.tau_manifold_gap, d.numeric("tau_visible")(g_minus, dl)),
                  rel(st.manifold_gap(model, tau_).width, d.numeric("width")(g_minus, tau_)))
    return err
