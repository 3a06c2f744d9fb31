"""Two training timescales of a random-features score model: gradient flow on the quadratic DSM loss relaxes
each eigenmode of its Hessian at its own rate; Gaussian equivalence places the modes (erf closed forms)."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..core import Derivation, Eq, Result, Step, Twin
from ..printing import Notation
from ..symbols import alpha, sigma

NAME = "rf_training_timescales"
TITLE = "Random-features score model: the generalization and memorization timescales of training"

lam = sp.Symbol("lambda", positive=True)        # an eigenvalue of the DSM-loss Hessian U (not a data eigenvalue)
c = sp.Symbol("c", real=True)                   # the component of E[phi eta^T] along that eigenvector
t = sp.Symbol("t", positive=True)               # training time, learning rate x steps
d, p, n = sp.symbols("d p n", positive=True)    # data dimension, features, training points
v2, s2 = Notation("v2", "v^{2}", positive=True), Notation("s2", "s^{2}", positive=True)
mu1, gam2 = Notation("mu1", r"\mu_{1}", positive=True), Notation("Gamma2", r"\Gamma^{2}", positive=True)


def build() -> Derivation:
    a = sp.Function("a")
    ell = sigma**2 * lam * a(t) ** 2 / d + 2 * sigma * c * a(t) / d
    a_star = -c / (sigma * lam)
    a_t = a_star * (1 - sp.exp(-2 * sigma**2 * lam * t / d))
    tau = d / (2 * sigma**2 * lam)
    # erf features, h = alpha u + sigma z (unit data variance): Williams' E erf(a) erf(b) and E erf'(h)
    g2 = alpha**2 + sigma**2
    k2 = alpha**2 / (1 + 2 * sigma**2)                  # variance of the noise-averaged preactivation
    mu1_erf = 2 / sp.sqrt(sp.pi) / sp.sqrt(1 + 2 * g2)
    v2_erf = 2 / sp.pi * sp.asin(2 * k2 / (1 + 2 * k2)) - alpha**2 * mu1_erf**2
    s2_erf = 2 / sp.pi * sp.asin(2 * g2 / (1 + 2 * g2)) - g2 * mu1_erf**2 - v2_erf
    lam_gen = p / d * mu1**2 * gam2 + v2 + s2
    lam_mem = v2 * p / n + s2
    exponent = n * sp.diff(sp.log(d / (2 * sigma**2 * lam_mem)), n)
    A = a(t)
    T = sp.Symbol("tau", positive=True)
    Mu, V, S = (Notation(f"{k}_erf", tex) for k, tex in (("mu1", r"\mu_{1}^{\mathrm{erf}}"),
                                                           ("v2", r"v^{2}_{\mathrm{erf}}"),
                                                           ("s2", r"s^{2}_{\mathrm{erf}}")))
    Lg, Lm = Notation("lambda_gen", r"\lambda_{\mathrm{gen}}"), Notation("lambda_mem", r"\lambda_{\mathrm{mem}}")
    K = Notation("kappa_mem", r"\frac{\partial\log\tau_{\mathrm{mem}}}{\partial\log n}")
    steps = (
        Step(Notation("L", "L"), ell + 1,
             "With read-out rows expanded in the eigenvectors of the Hessian $U$ (eigenvalue $\\lambda$), the DSM loss "
             "$\\frac{\\sigma^2}{d}\\operatorname{tr}(AUA^\\top) + \\frac{2\\sigma}{d}\\operatorname{tr}(AC) + 1$ is a "
             "sum of independent quadratics in the components $a$; $c$ is the component of "
             "$C = E[\\varphi\\eta^\\top]$.", "loss",
             claim=Eq(sp.diff(ell, a(t)), 2 * sigma**2 * lam * a(t) / d + 2 * sigma * c / d)),
        Step(A, a_t,
             "Gradient flow $\\dot a = -\\partial L/\\partial a$ from $a(0) = 0$ (the limit of gradient descent at "
             "small learning rate, time = learning rate x steps) relaxes each component exponentially to the "
             "minimiser $a^* = -c/(\\sigma\\lambda)$.", "flow",
             claim=(Eq(sp.diff(a_t, t) + sp.diff(ell, a(t)).subs(a(t), a_t), 0), Eq(a_t.subs(t, 0), 0))),
        Step(T, tau, "The timescale of the mode: the inverse of its rate; large eigenvalues are learnt first.",
             "timescale", claim=Eq(sp.exp(-2 * sigma**2 * lam * t / d).subs(t, tau), sp.exp(-1))),
        Step(Mu, mu1_erf,
             "For erf features, by Stein's lemma $\\mu_1 = E[\\phi'(h)]$ with $\\phi' = \\frac{2}{\\sqrt\\pi}"
             "e^{-h^2}$ and $h \\sim N(0, \\Gamma^2)$, $\\Gamma^2 = \\alpha^2 + \\sigma^2$ (the Gaussian integral "
             "is checked by sympy).", "mu1",
             claim=Eq(sp.integrate(2 / sp.sqrt(sp.pi) * sp.exp(-sp.Symbol("u", real=True) ** 2 * g2)
                                   * sp.exp(-sp.Symbol("u", real=True) ** 2 / 2) / sp.sqrt(2 * sp.pi),
                                   (sp.Symbol("u", real=True), -sp.oo, sp.oo)), mu1_erf)),
        Step(V, v2_erf,
             "The noise average $E_z \\operatorname{erf}(\\alpha u + \\sigma z) = \\operatorname{erf}(\\alpha u/"
             "\\sqrt{1 + 2\\sigma^2})$, and Williams' formula $E[\\operatorname{erf}(x)^2] = \\frac{2}{\\pi}"
             "\\arcsin\\frac{2\\kappa^2}{1 + 2\\kappa^2}$ for $x \\sim N(0, \\kappa^2)$ give the part of the "
             "noise-averaged feature that is nonlinear in the data (the linear part carries "
             "$\\alpha^2\\mu_1^2$).", "v2", claim=Eq(v2_erf + alpha**2 * mu1_erf**2,
                                                      2 / sp.pi * sp.asin(2 * k2 / (1 + 2 * k2)))),
        Step(S, s2_erf,
             "What is left of $E[\\phi(h)^2]$ after the linear part $\\Gamma^2\\mu_1^2$ and $v^2$: the part of the "
             "feature noise that is nonlinear in the noise.", "s2",
             claim=Eq(s2_erf + g2 * mu1_erf**2 + v2_erf, 2 / sp.pi * sp.asin(2 * g2 / (1 + 2 * g2)))),
        Step(Lg, lam_gen,
             "Gaussian equivalence, $U \\approx \\mu_1^2 W(\\alpha^2 X^\\top X/n + \\sigma^2 I)W^\\top + v^2"
             "\\Omega\\Omega^\\top/n + s^2 I$ with $W$ ($p \\times d$, entries of variance $1/d$) and $\\Omega$ "
             "($p \\times n$) Gaussian: on the range of $W$, $WW^\\top$ has eigenvalues $\\approx p/d$ and "
             "$X^\\top X/n \\approx I$ for $n \\gg d$ (unit data variance).", "generalization",
             claim=Eq(lam_gen.subs({v2: 0, s2: 0}) * d / p, mu1**2 * gam2)),
        Step(Lm, lam_mem,
             "The other $n - d$ directions of the range of $\\Omega$: $\\Omega\\Omega^\\top/n$ has trace $p$ on $n$ "
             "directions, so their mean eigenvalue is $v^2 p/n$ (a Marchenko-Pastur bulk, $p \\gg n$), plus $s^2$.",
             "memorization", claim=Eq((lam_mem - s2) * n, v2 * p)),
        Step(K, v2 * p / (n * lam_mem),
             "The exponent of the memorization time in $n$: 1 while $v^2 p/n \\gg s^2$, i.e. linear growth, and the "
             "generalization time does not depend on $n$ at all.", "exponent",
             claim=(Eq(exponent, v2 * p / (n * lam_mem)), Eq(sp.diff(lam_gen, n), 0))),
    )
    results = (
        Result("mode_component", A, a_t, (c, lam, sigma, d, t), "Read-out component along a Hessian eigenvector."),
        Result("mode_timescale", T, tau, (lam, sigma, d), "Its training timescale, learning rate x steps."),
        Result("erf_mu1", Mu, mu1_erf, (alpha, sigma), "Linear coefficient of erf features (unit data variance)."),
        Result("erf_v2", V, v2_erf, (alpha, sigma), "Data-nonlinear variance of erf features."),
        Result("erf_s2", S, s2_erf, (alpha, sigma), "Noise-nonlinear variance of erf features."),
        Result("lambda_gen", Lg, lam_gen, (p, d, mu1, gam2, v2, s2), "Generalization eigenvalue of the Hessian."),
        Result("lambda_mem", Lm, lam_mem, (p, n, v2, s2), "Mean memorization eigenvalue of the Hessian."),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("Gradient-descent training of the read-out of p random features on the DSM loss of n points has "
                   "the timescales $d/(2\\sigma^2\\lambda)$ of the loss Hessian's eigenvalues: d generalization modes "
                   "at $\\lambda_{gen} = (p/d)\\mu_1^2\\Gamma^2 + v^2 + s^2$, independent of n, and n - d memorization "
                   "modes at mean $\\lambda_{mem} = v^2 p/n + s^2$, whose time grows linearly in n."),
        symbols={lam: "eigenvalue of the DSM-loss Hessian $U$", c: "component of $E[\\varphi\\eta^\\top]$",
                 t: "training time (learning rate x steps)", alpha: "signal scale $\\alpha$", sigma: "noise level",
                 d: "data dimension", p: "number of features", n: "number of training points",
                 mu1: "linear coefficient $E\\phi'(h)$", gam2: "preactivation variance",
                 v2: "data-nonlinear feature variance", s2: "noise-nonlinear feature variance"},
        steps=steps, results=results,
        references=("bonnaire2025why", "mei2022generalization", "williams1997computing"),
        regime=sp.true, regime_text="p >> n >> d (the separated groups); all symbols positive",
        domain={lam: (0.05, 20), c: (-2, 2), t: (0.1, 100), alpha: (0.1, 1), sigma: (0.05, 1), d: (8, 128),
                p: (512, 8192), n: (16, 512), mu1: (0.1, 1), gam2: (0.5, 2), v2: (0.001, 0.1), s2: (0.0001, 0.05)},
        twins=(Twin("erf_coefficients", "vs spectral_theory.random_features.feature_coefficients (erf, quadrature)",
                    _twin_erf, tol=1e-9, requires=("spectral_theory.random_features.feature_coefficients",)),
               Twin("timescales", "vs spectral_theory.random_features.training_timescales (erf, d < n < p)",
                    _twin_timescales, tol=1e-9,
                    requires=("spectral_theory.random_features.training_timescales",))),
    )


def _twin_erf(deriv: Derivation, rng) -> float:
    from spectral_theory.random_features import feature_coefficients
    fns = [deriv.numeric(k) for k in ("erf_mu1", "erf_v2", "erf_s2")]
    err = 0.0
    for a_, s_ in rng.uniform([0.1, 0.05], [1.0, 1.0], (5, 2)):
        co = feature_coefficients(a_, s_, "erf")
        err = max(err, *(abs(f(a_, s_) - v) / abs(v) for f, v in zip(fns, (co.mu1, co.v2, co.s2))))
    return err


def _twin_timescales(deriv: Derivation, rng) -> float:
    from spectral_theory.random_features import training_timescales
    gen, mem, tau = (deriv.numeric(k) for k in ("lambda_gen", "lambda_mem", "mode_timescale"))
    err = 0.0
    for _ in range(5):
        d_ = int(rng.integers(8, 64))
        n_ = int(rng.integers(2 * d_, 8 * d_))
        p_ = int(rng.integers(4 * n_, 16 * n_))
        a_, s_ = rng.uniform(0.2, 1.0), rng.uniform(0.1, 1.0)
        q = training_timescales(d_, p_, n_, a_, s_, "erf")
        co = q.coefficients
        want = (gen(p_, d_, co.mu1, co.gamma2, co.v2, co.s2), mem(p_, n_, co.v2, co.s2))
        got = (q.lambda_gen, q.lambda_mem)
        err = max(err, *(abs(g_ - w_) / w_ for g_, w_ in zip(got, want)),
                  abs(q.tau_mem - tau(want[1], s_, d_)) / q.tau_mem, abs(q.tau_gen - tau(want[0], s_, d_)) / q.tau_gen)
    return err
