"""Collapse (memorization) time of the exact empirical score: annealed estimate."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..printing import Notation
from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import tau, x

NAME = "gaps_collapse_time"
TITLE = "Collapse time of the empirical score (annealed estimate, Biroli et al.)"

P = sp.Symbol("P", positive=True)                   # number of training points
d = sp.Symbol("d", positive=True)                   # dimension of the data
s2 = sp.Symbol("sigma_d^2", positive=True)          # per-dimension data variance
yv = sp.Symbol("y", real=True)                      # one coordinate of a training point
t = sp.Symbol("t", positive=True)                   # OU time


def build() -> Derivation:
    prior = sp.exp(-yv**2 / (2 * s2)) / sp.sqrt(2 * sp.pi * s2)
    kernel = sp.exp(-(x - yv) ** 2 / (2 * tau))
    per_dim = sp.sqrt(tau / (tau + s2)) * sp.exp(-x**2 / (2 * (tau + s2)))
    log_others = sp.log(P) + d / 2 * sp.log(tau / (tau + s2)) - d / 2
    log_true = -d / 2
    condition = sp.expand_log(log_others - log_true, force=True)
    tau_c = s2 / (P ** (2 / d) - 1)
    roots = sp.solve(sp.Eq(condition, 0), tau)
    Z, Lw = Notation("mean_kernel", r"\mathbb{E}_y[k]"), Notation("log_others", r"\log\sum_{i>1} k_i")
    Tc, tC = sp.symbols("tau_C t_C")
    steps = (
        Step(Z, per_dim,
             "P training points $y_i \\sim N(0, \\sigma^2 I_d)$, a noisy point $x = y_1 + \\sqrt\\tau\\,\\xi$. "
             "The unnormalised posterior weight of a training point is $k = e^{-|x - y|^2/(2\\tau)}$; per "
             "dimension its average over a fresh $y$ is a Gaussian integral (sympy).", "gaussian_integral",
             claim=Eq(sp.integrate(prior * kernel, (yv, -sp.oo, sp.oo)), per_dim)),
        Step(Lw, log_others,
             "Annealed sum over the $P - 1 \\approx P$ other points, with $|x|^2 \\approx d(\\sigma^2 + \\tau)$ "
             "(law of large numbers in d: each coordinate has $x_i^2 \\approx \\sigma^2 + \\tau$): $\\log\\sum_{i>1} k_i \\approx \\log P + \\frac d2 \\log\\frac{\\tau}"
             "{\\tau + \\sigma^2} - \\frac d2$, while the true point has $\\log k_1 = -|\\xi|^2/2 \\approx -d/2$.",
             "annealed", claim=Eq(sp.log(P * per_dim.subs(x, sp.sqrt(s2 + tau)) ** d),
                                  sp.log(P) + d / 2 * sp.log(tau / (tau + s2)) - d / 2),
             method="numeric"),
        Step(Tc, tau_c,
             "The posterior condenses on the true point when its weight beats the others: "
             "$\\log P + \\frac d2 \\log\\frac{\\tau}{\\tau+\\sigma^2} = 0$ (sympy solve: one root).",
             "collapse_tau", claim=(Eq(sp.Integer(len(roots)), 1), Eq(roots[0], tau_c))),
        Step(tC, sp.log(1 + tau_c) / 2,
             "In OU time ($\\tau = e^{2t} - 1$) this is Biroli et al.'s "
             "$t_C = \\frac12\\log(1 + \\sigma^2/(P^{2/d} - 1))$.", "ou_time",
             claim=Eq(sp.exp(2 * (sp.log(1 + tau_c) / 2)) - 1, tau_c)),
    )
    results = (
        Result("tau_collapse", Tc, tau_c, (P, d, s2), "Collapse noise variance (VE).",
               regime=P > 1, regime_text="P > 1 training points"),
        Result("t_collapse_ou", tC, sp.log(1 + tau_c) / 2, (P, d, s2), "Collapse time (OU).",
               regime=P > 1, regime_text="P > 1 training points"),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("For P Gaussian training points of variance $\\sigma^2$ in d dimensions, the exact empirical "
                   "score's posterior condenses on one training point below $\\tau_C = \\sigma^2/(P^{2/d} - 1)$ "
                   "(annealed estimate, large d with $\\log P/d$ fixed); for data on an m-dimensional linear "
                   "manifold the normal coordinates cancel from the weights, so d = m (an extrapolation)."),
        symbols={P: "number of training points", d: "data dimension", s2: "per-dimension data variance",
                 tau: "VE noise variance", x: "one coordinate of the noisy point", yv: "one coordinate of a training point",
                 t: "OU time"},
        steps=steps, results=results,
        references=("biroli2024dynamical", "notes:spectral_gaps"),
        regime=P > 1, regime_text="P > 1",
        domain={P: (2, 1e5), d: (1, 50), s2: (0.1, 5), tau: (0.01, 10), x: (-3, 3), yv: (-3, 3)},
        twins=(Twin("collapse_tau", "vs spectral_theory.collapse_tau and collapse_time(OU)", _twin_collapse,
                    tol=1e-12, requires=("spectral_theory.collapse_tau",)),),
    )


def _twin_collapse(dv: Derivation, rng) -> float:
    import spectral_theory as st
    ou = st.OU(50.0)
    err = 0.0
    for _ in range(10):
        P_, d_, s_ = int(rng.integers(2, 100000)), float(rng.uniform(1, 50)), float(rng.uniform(0.1, 5))
        # the compiled P^(2/d) - 1 cancels when P^(2/d) ~ 1: its relative rounding error is
        # eps q/(q - 1), q = P^(2/d); errors are measured in units of that condition number
        q = P_ ** (2 / d_)
        cond = q / (q - 1)
        tc = dv.numeric("tau_collapse")(P_, d_, s_)
        err = max(err, abs(st.collapse_tau(P_, d_, s_) - tc) / tc / cond)
        tt = dv.numeric("t_collapse_ou")(P_, d_, s_)
        # and the compiled log(1 + tau_C) adds a relative rounding error eps / log(1 + tau_C)
        err = max(err, abs(st.collapse_time(ou, P_, d_, s_) - tt) / tt / (cond + 1 / np.log1p(tc)))
    return err
