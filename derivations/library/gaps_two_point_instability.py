"""Symmetric two-point data: the central fixed point loses stability at tau = a^2 (speciation)."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import tau, x

NAME = "gaps_two_point_instability"
TITLE = "Symmetric two-point instability: speciation at $\\tau = a^2$"

a = sp.Symbol("a", positive=True)


def _normal(u, mean, var):
    return sp.exp(-(u - mean) ** 2 / (2 * var)) / sp.sqrt(2 * sp.pi * var)


def build() -> Derivation:
    p = (_normal(x, a, tau) + _normal(x, -a, tau)) / 2
    score = sp.diff(sp.log(p), x)
    score_closed = (-x + a * sp.tanh(a * x / tau)) / tau
    J0 = sp.diff(score_closed, x).subs(x, 0)
    root = sp.solve(sp.Eq(J0, 0), tau)
    S, J, Ts = sp.Function("s")(x), sp.Function("J")(0), sp.Symbol("tau_S")
    steps = (
        Step(S, score_closed,
             "Data at $\\pm a$ with equal weights, VE noise $\\tau$: the noisy density is a two-Gaussian mixture "
             "and its score is $(-x + a\\tanh(a x/\\tau))/\\tau$.", "score",
             claim=Eq(score, score_closed), method="numeric"),
        Step(J, J0,
             "Its Jacobian at the symmetric point $x = 0$ (where the score vanishes: a fixed point of the "
             "probability-flow drift).", "jacobian_at_centre", claim=Eq(J0, (a**2 - tau) / tau**2)),
        Step(Ts, a**2,
             "It changes sign at $\\tau = a^2$ (sympy solve): for $\\tau > a^2$ the score pulls every point "
             "towards the centre, below it pushes away from it - the symmetry breaks and trajectories "
             "commit to one of the two points. $a^2$ is the largest eigenvalue of the data covariance, "
             "hence the speciation time $\\tau_S = \\Lambda$.", "instability",
             claim=(Eq(sp.Integer(len(root)), 1), Eq(root[0], a**2))),
        Step(sp.Symbol("t_S"), sp.log(1 + a**2) / 2,
             "In OU time ($\\tau = e^{2t} - 1$): $t_S = \\frac12\\log(1 + \\Lambda) \\approx \\frac12\\log\\Lambda$ "
             "for large $\\Lambda$ (Biroli et al.).", "ou_time",
             claim=Eq(sp.exp(2 * (sp.log(1 + a**2) / 2)) - 1, a**2)),
    )
    results = (
        Result("jacobian_at_centre", J, (a**2 - tau) / tau**2, (a, tau), "Score Jacobian at the centre."),
        Result("tau_speciation", Ts, a**2, (a,), "Instability (speciation) noise variance."),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("For two symmetric data points $\\pm a$ the central fixed point of the reverse dynamics is "
                   "stable for $\\tau > a^2$ and unstable below: spontaneous symmetry breaking at the "
                   "speciation noise variance $\\tau_S = a^2$, the largest covariance eigenvalue."),
        symbols={a: "half-distance between the two points", tau: "VE noise variance", x: "position"},
        steps=steps, results=results,
        references=("raya2023spontaneous", "biroli2024dynamical"),
        regime=sp.true, regime_text="all $a, \\tau > 0$",
        domain={a: (0.1, 3), tau: (0.05, 10), x: (-3, 3)},
        twins=(Twin("two_point_empirical", "vs spectral_theory.speciation_tau and Empirical([+a, -a]).score_jacobian(0)",
                    _twin_two_point, tol=1e-10, requires=("spectral_theory.speciation_tau",)),),
    )


def _twin_two_point(d: Derivation, rng) -> float:
    import spectral_theory as st
    J0 = d.numeric("jacobian_at_centre")
    err = 0.0
    for _ in range(5):
        a_, tau_ = rng.uniform(0.1, 3), np.exp(rng.uniform(-2, 2))
        model = st.Empirical(np.array([[a_], [-a_]]))
        err = max(err, abs(st.speciation_tau(model) - a_**2) / a_**2)
        mine = J0(a_, tau_)
        theirs = model.score_jacobian(np.zeros(1), np.sqrt(tau_))[0, 0]
        err = max(err, abs(mine - theirs) / max(abs(theirs), 1.0 / tau_))
    return err
