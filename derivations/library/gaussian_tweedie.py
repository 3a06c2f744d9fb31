"""Gaussian posterior-mean denoiser and score Jacobian by conditioning a joint Gaussian (Tweedie)."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import alpha, lam, mu0 as m, sigma, x, x0

NAME = "gaussian_tweedie"
TITLE = "Gaussian denoiser and score Jacobian (Tweedie, first and second order)"


def _log_normal(v, mean, var):
    return -(v - mean) ** 2 / (2 * var) - sp.log(2 * sp.pi * var) / 2


def build() -> Derivation:
    # log prior + log likelihood, up to a function of x alone (Bayes' rule)
    exponent = -(x0 - m) ** 2 / (2 * lam) - (x - alpha * x0) ** 2 / (2 * sigma**2)
    D_solved = sp.solve(sp.diff(exponent, x0), x0)[0]
    D = m + alpha * lam / (alpha**2 * lam + sigma**2) * (x - alpha * m)
    V = lam * sigma**2 / (alpha**2 * lam + sigma**2)
    var_t = alpha**2 * lam + sigma**2
    log_pt = _log_normal(x, alpha * m, var_t)
    score = sp.diff(log_pt, x)
    J = sp.diff(log_pt, x, 2)
    Dsym, Vsym, ssym = sp.Function("D")(x), sp.Function("V")(x), sp.Function("s")(x)
    Jsym = sp.Symbol("J")
    logpost = sp.log(sp.Function("p")(x0))            # log p(x_0 | x), displayed
    prior_lik = _log_normal(x0, m, lam) + _log_normal(x, alpha * x0, sigma**2)

    steps = (
        Step(logpost, exponent + sp.Function("c")(x),
             "Along one eigendirection of the covariance ($x_0 \\sim N(m, \\lambda)$, "
             "$x = \\alpha x_0 + \\sigma \\xi$), Bayes' rule: the log posterior is log prior plus log "
             "likelihood up to a function of $x$ alone (checked: the difference has zero $x_0$-derivative).",
             "posterior_exponent",
             claim=Eq(sp.diff(prior_lik - exponent, x0), 0)),
        Step(Dsym, D,
             "The exponent is quadratic in $x_0$, so the posterior is Gaussian; its mean, the "
             "posterior-mean denoiser, is the stationary point (sympy solve).",
             "denoiser", claim=Eq(D_solved, D)),
        Step(Vsym, V,
             "Its variance is minus the inverse curvature of the exponent.",
             "posterior_variance", claim=Eq(-1 / sp.diff(exponent, x0, 2), V)),
        Step(logpost, -(x0 - Dsym) ** 2 / (2 * Vsym) + sp.Function("c_2")(x),
             "Completing the square (checked: the difference has zero $x_0$-derivative).",
             "complete_square",
             claim=Eq(sp.diff(exponent + (x0 - D) ** 2 / (2 * V), x0), 0)),
        Step(sp.log(sp.Function("p_t")(x)), log_pt,
             "The evidence: prior times likelihood equals $N(x; \\alpha m, \\alpha^2\\lambda+\\sigma^2)"
             "\\, N(x_0; D, V)$ (checked identically), and the second factor integrates to one.",
             "marginal",
             claim=Eq(sp.expand(sp.expand_log(prior_lik, force=True)),
                         sp.expand(sp.expand_log(log_pt + _log_normal(x0, D, V), force=True)))),
        Step(ssym, (alpha * Dsym - x) / sigma**2,
             "First-order Tweedie: the score of the marginal is $(\\alpha D - x)/\\sigma^2$.",
             "tweedie_first", claim=Eq(score, (alpha * D - x) / sigma**2)),
        Step(Jsym, -1 / sigma**2 + alpha**2 * Vsym / sigma**4,
             "Second-order Tweedie: the score Jacobian is $-1/\\sigma^2 + \\alpha^2 V/\\sigma^4$ "
             "(constant in $x$ for a Gaussian).",
             "tweedie_second", claim=Eq(J, -1 / sigma**2 + alpha**2 * V / sigma**4)),
        Step(sp.Derivative(Dsym, x), alpha * Vsym / sigma**2,
             "The denoiser's Jacobian is $\\alpha V/\\sigma^2$.", "denoiser_jacobian",
             claim=Eq(sp.diff(D, x), alpha * V / sigma**2)),
    )
    results = (
        Result("denoiser", Dsym, D, (x, m, lam, sigma, alpha),
               "Posterior-mean denoiser along an eigendirection of eigenvalue $\\lambda$."),
        Result("score_jacobian", Jsym, sp.simplify(J), (lam, sigma, alpha),
               "Score Jacobian eigenvalue: $J = -(\\alpha^2 C + \\sigma^2 I)^{-1}$ direction by direction."),
        Result("score", ssym, sp.simplify(score), (x, m, lam, sigma, alpha), "Score of the noisy marginal."),
        Result("posterior_variance", Vsym, V, (lam, sigma, alpha), "Posterior variance."),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("For Gaussian data the posterior of the clean signal given a noisy observation is "
                   "Gaussian; its mean is a linear (Wiener) shrinkage in the covariance eigenbasis, "
                   "and Tweedie's formulas give the score and its Jacobian from it."),
        symbols={alpha: "signal scale $\\alpha_t$", sigma: "noise level $\\sigma_t$",
                 lam: "eigenvalue of the data covariance", m: "data mean along the eigendirection",
                 x: "noisy coordinate", x0: "clean coordinate"},
        steps=steps, results=results,
        references=("efron2011tweedie", "notes:conventions"),
        regime=sp.true, regime_text="all $\\lambda, \\sigma, \\alpha > 0$ (a zero eigenvalue is the limit $\\lambda \\to 0$)",
        domain={alpha: (0.2, 2), sigma: (0.1, 3), lam: (0.05, 5), m: (-2, 2), x: (-4, 4), x0: (-4, 4)},
        twins=(Twin("gaussian_denoise_and_jacobian",
                    "vs spectral_theory.Gaussian(mean, cov).denoise / .score_jacobian (D = 6)",
                    _twin_gaussian, tol=1e-10, requires=("spectral_theory.Gaussian",)),),
    )


def _twin_gaussian(d: Derivation, rng) -> float:
    import spectral_theory as st
    dim = 6
    U = np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    lam_ = rng.uniform(0.05, 4.0, dim)
    mean = rng.standard_normal(dim)
    model = st.Gaussian(mean, (U * lam_) @ U.T)
    den, jac = d.numeric("denoiser"), d.numeric("score_jacobian")
    err = 0.0
    for _ in range(3):
        s, a = rng.uniform(0.1, 3.0), rng.uniform(0.3, 1.5)
        xs = rng.standard_normal((5, dim)) * 2
        coords = (xs @ U)                                                     # (5, D)
        mine = den(coords, mean @ U, lam_, s, a) @ U.T                          # (5, D)
        theirs = model.denoise(xs, s, a)
        err = max(err, np.max(np.abs(mine - theirs)) / np.max(np.abs(theirs)))
        Jmine = (U * jac(lam_, s, a)) @ U.T
        Jtheirs = model.score_jacobian(xs[0], s, a)
        err = max(err, np.max(np.abs(Jmine - Jtheirs)) / np.max(np.abs(Jtheirs)))
    return err
