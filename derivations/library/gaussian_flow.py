"""Closed-form probability-flow ODE of a Gaussian, per eigendirection (sympy dsolve)."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import mu0 as m, sigma

NAME = "gaussian_flow"
TITLE = "Closed-form probability-flow ODE of a Gaussian model"

lam0 = sp.Symbol("lambda", nonnegative=True)        # eigenvalue; zero for directions off the data subspace
sT = sp.Symbol("sigma_T", positive=True)
st_ = sp.Symbol("sigma_t", nonnegative=True)
xT = sp.Symbol("x_T", real=True)


def build() -> Derivation:
    y = sp.Function("y")
    xs = sp.Symbol("x", real=True)
    # the VE (alpha = 1) denoiser along the eigendirection, from derivation gaussian_tweedie
    D = m + lam0 / (lam0 + sigma**2) * (xs - m)
    drift = sp.simplify((xs - D) / sigma)
    ode = sp.Eq(y(sigma).diff(sigma), drift.subs(xs, m + y(sigma)))
    solution = sp.dsolve(ode, y(sigma), ics={y(sT): xT - m}).rhs
    factor = sp.sqrt((lam0 + sigma**2) / (lam0 + sT**2))
    closed = (xT - m) * factor
    flow = m + (xT - m) * sp.sqrt((lam0 + st_**2) / (lam0 + sT**2))
    dxs = sp.Derivative(sp.Function("x")(sigma), sigma)
    steps = (
        Step(dxs, (xs - sp.Function("D")(xs)) / sigma,
             "Probability-flow ODE in VE form ($\\alpha = 1$): $dx/d\\sigma = -\\sigma\\,\\nabla\\log p_\\sigma(x) = "
             "(x - D(x;\\sigma))/\\sigma$, with the Gaussian denoiser $D = m + \\lambda(x - m)/(\\lambda + \\sigma^2)$ "
             "of derivation gaussian_tweedie along an eigendirection of eigenvalue $\\lambda \\ge 0$.", "ode",
             claim=Eq(drift, sigma * (xs - m) / (lam0 + sigma**2))),
        Step(sp.Derivative(y(sigma), sigma), sigma * y(sigma) / (lam0 + sigma**2),
             "For the deviation $y = x - m$ the ODE is linear and separable.", "linear_ode",
             claim=Eq(ode.rhs, sigma * y(sigma) / (lam0 + sigma**2))),
        Step(y(sigma), closed,
             "sympy dsolve with $y(\\sigma_T) = x_T - m$ (checked: equal to the closed form, which solves "
             "the ODE and meets the initial condition).", "dsolve",
             claim=(Eq(solution, closed), Eq(sp.diff(closed, sigma), sigma * closed / (lam0 + sigma**2)),
                    Eq(closed.subs(sigma, sT), xT - m))),
        Step(sp.Function("x")(st_), flow,
             "Evaluating at $\\sigma_t$. Off the data subspace ($\\lambda = 0$) the factor is $\\sigma_t/\\sigma_T$; "
             "at $\\sigma_t = 0$ it is $\\sqrt{\\lambda/(\\lambda + \\sigma_T^2)}$, which maps "
             "$x_T \\sim N(m, \\lambda + \\sigma_T^2)$ to an exact sample of $N(m, \\lambda)$ (checked).", "flow",
             claim=(Eq(flow.subs(lam0, 0), m + (xT - m) * st_ / sT),
                    Eq((flow.subs(st_, 0) - m) ** 2 / (xT - m) ** 2 * (lam0 + sT**2), lam0))),
    )
    results = (
        Result("flow", sp.Function("x")(st_), flow, (xT, m, lam0, sT, st_),
               "Exact solution from $\\sigma_T$ down to $\\sigma_t$ along an eigendirection.",
               regime=st_ <= sT, regime_text="0 <= sigma_t <= sigma_T"),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("For Gaussian data the probability-flow ODE decouples into linear scalar ODEs along the "
                   "covariance eigendirections, solved in closed form: the deviation from the mean is "
                   "rescaled by $\\sqrt{(\\lambda + \\sigma_t^2)/(\\lambda + \\sigma_T^2)}$."),
        symbols={m: "data mean along the eigendirection", lam0: "eigenvalue of the data covariance",
                 sigma: "noise level (the ODE's time)", sT: "initial noise level", st_: "final noise level",
                 xT: "initial point", xs: "point at noise level $\\sigma$"},
        steps=steps, results=results,
        references=("wang2023hidden", "li2024understanding", "notes:gaussian"),
        regime=sp.true, regime_text="exact for every $\\sigma_t \\le \\sigma_T$",
        domain={m: (-2, 2), lam0: (0, 5), sigma: (0.01, 5), sT: (0.5, 10), st_: (0, 0.5), xT: (-5, 5),
                xs: (-5, 5)},
        twins=(Twin("gaussian_flow", "vs spectral_theory.Gaussian(mean, cov).flow (D = 6, rank 4)",
                    _twin_flow, tol=1e-10, requires=("spectral_theory.Gaussian.flow",)),),
    )


def _twin_flow(d: Derivation, rng) -> float:
    import spectral_theory as st
    dim, rank = 6, 4
    U = np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    lam_ = np.concatenate([rng.uniform(0.1, 4.0, rank), np.zeros(dim - rank)])   # rank-deficient
    mean = rng.standard_normal(dim)
    model = st.Gaussian(mean, (U * lam_) @ U.T)
    f = d.numeric("flow")
    err = 0.0
    for s_T, s_t in ((rng.uniform(1, 10), 0.0), (rng.uniform(1, 10), rng.uniform(0.01, 1))):
        xT_ = mean + rng.standard_normal((4, dim)) * 3
        mine = f(xT_ @ U, mean @ U, lam_, s_T, s_t) @ U.T
        theirs = model.flow(xT_, s_T, s_t)
        err = max(err, np.max(np.abs(mine - theirs)) / np.max(np.abs(theirs)))
    return err
