"""Posterior weights and posterior mean of a mixture of low-rank Gaussians (MoLRG), by Bayes' rule."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..printing import Notation
from ..core import Derivation, Eq, Result, Step, Twin
from ..sampling import orthonormal_columns, rational_matrix
from ..symbols import alpha, sigma

NAME = "molrg_posterior"
TITLE = "MoLRG: posterior component weights and posterior-mean denoiser"

N_AMB, D_SUB = 4, 2                                   # sizes of the concrete matrices the checks use
U = sp.MatrixSymbol("U_k", N_AMB, D_SUB)
xv = sp.MatrixSymbol("x", N_AMB, 1)
n, d = sp.symbols("n d_k", positive=True)
r, q = sp.Symbol("r_k", nonnegative=True), sp.Symbol("q", positive=True)   # |U_k^T x|^2 <= |x|^2
log_pi = Notation("log_pi_k", r"\log\pi_k", real=True)


def build() -> Derivation:
    I = sp.Identity(N_AMB)
    cov = alpha**2 * U * U.T + sigma**2 * I
    shrink = alpha**2 / (alpha**2 + sigma**2)
    inv_claim = Eq(sp.Inverse(cov), (I - shrink * U * U.T) / sigma**2)
    quad_claim = Eq(sp.Trace(xv.T * sp.Inverse(cov) * xv),
                    sp.Trace(xv.T * xv) / sigma**2 - shrink * sp.Trace(xv.T * U * U.T * xv) / sigma**2)
    det_claim = Eq(sp.Determinant(cov), (alpha**2 + sigma**2) ** D_SUB * sigma ** (2 * (N_AMB - D_SUB)))
    mean_claim = Eq(alpha * U * U.T * sp.Inverse(cov) * xv, alpha / (alpha**2 + sigma**2) * U * U.T * xv)
    phi = alpha**2 / (2 * sigma**2 * (alpha**2 + sigma**2))
    log_density = (-(q / sigma**2 - shrink * r / sigma**2) / 2
                   - (d * sp.log(alpha**2 + sigma**2) + (n - d) * sp.log(sigma**2)) / 2
                   - n * sp.log(2 * sp.pi) / 2)
    logit = log_pi + phi * r - d / 2 * sp.log(1 + alpha**2 / sigma**2)
    common = -n * sp.log(2 * sp.pi * sigma**2) / 2 - q / (2 * sigma**2)   # the same for every component
    coef = alpha / (alpha**2 + sigma**2)
    Sk = sp.MatrixSymbol("Sigma_k", N_AMB, N_AMB)
    x_ = sp.Symbol("x")                    # the argument as displayed (the vector is xv)
    ls, ws, Ds = sp.Function("ell_k")(x_), sp.Function("w_k")(x_), sp.Function("D")(x_)
    cs, k, K = sp.Symbol("c"), sp.Symbol("k", integer=True), sp.Symbol("K", integer=True)
    steps = (
        Step(Sk, cov,
             "Component $k$: $x_0 = U_k z$, $z \\sim N(0, I_{d_k})$, $U_k^\\top U_k = I$; the noisy "
             "$x = \\alpha x_0 + \\sigma\\xi$ is Gaussian with covariance $\\alpha^2 U_k I U_k^\\top + \\sigma^2 I$ (checked).",
             "covariance", claim=Eq(alpha**2 * U * sp.Identity(D_SUB) * U.T + sigma**2 * I, cov),
             method="numeric"),
        Step(sp.Inverse(Sk), (I - shrink * U * U.T) / sigma**2,
             "Its inverse (checked on exactly orthonormal rational $U_k$, $n = 4$, $d_k = 2$).", "inverse",
             claim=inv_claim, method="numeric"),
        Step(sp.Trace(xv.T * sp.Inverse(Sk) * xv), q / sigma**2 - shrink * r / sigma**2,
             "The quadratic form, with $q = |x|^2$ and $r_k = |U_k^\\top x|^2$ (checked on random $x$):",
             "quadratic_form", claim=quad_claim, method="numeric"),
        Step(sp.log(sp.Determinant(Sk)), d * sp.log(alpha**2 + sigma**2) + (n - d) * sp.log(sigma**2),
             "Eigenvalues $\\alpha^2 + \\sigma^2$ ($d_k$ times) and $\\sigma^2$ ($n - d_k$ times):",
             "log_determinant", claim=det_claim, method="numeric"),
        Step(ls, logit,
             "Bayes' rule: $w_k \\propto \\pi_k N(x; 0, \\Sigma_k)$. The log numerator is the logit below plus "
             "a term common to all components (checked), which cancels in the normalisation, so "
             "$w_k = \\operatorname{softmax}_k \\ell_k$ with $\\varphi = \\alpha^2/(2\\sigma^2(\\alpha^2 + \\sigma^2))$; "
             "the $\\log\\det$ term matters when the $d_k$ differ.", "posterior_weights",
             claim=Eq(log_pi + log_density, logit + common)),
        Step(Notation("component_mean", r"\mathbb{E}[x_0 \mid x, k]"), coef * U * U.T * xv,
             "Gaussian conditioning within component $k$: $\\operatorname{Cov}(x_0, x)\\Sigma_k^{-1}x = "
             "\\alpha U_kU_k^\\top \\Sigma_k^{-1} x$, a shrunk projection (checked on random $U_k$, $x$).",
             "component_mean", claim=mean_claim, method="numeric"),
        Step(Ds, sp.Sum(ws * cs * U * U.T * xv, (k, 1, K)),
             "Total expectation over the posterior of the component; $c = \\alpha/(\\alpha^2 + \\sigma^2)$ is the "
             "Gaussian denoiser slope $\\alpha\\lambda/(\\alpha^2\\lambda + \\sigma^2)$ at $\\lambda = 1$ (checked).",
             "posterior_mean",
             claim=Eq((alpha * sp.Symbol("lambda") / (alpha**2 * sp.Symbol("lambda") + sigma**2)).subs(
                 sp.Symbol("lambda"), 1), coef)),
    )
    results = (
        Result("logit", ls, logit, (log_pi, r, d, alpha, sigma),
               "Unnormalised log posterior weight of component $k$.", regime=sp.true),
        Result("coefficient", cs, coef, (alpha, sigma), "Shrinkage of the projection.", regime=sp.true),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("For $x_0 \\sim \\sum_k \\pi_k N(0, U_kU_k^\\top)$ the posterior over components is a softmax of "
                   "$\\log\\pi_k + \\varphi|U_k^\\top x|^2 - \\frac{d_k}{2}\\log(1 + \\alpha^2/\\sigma^2)$, and the posterior "
                   "mean is the weighted sum of shrunk projections onto the subspaces."),
        symbols={alpha: "signal scale", sigma: "noise level", n: "ambient dimension", d: "subspace dimension",
                 q: "$|x|^2$", r: "$|U_k^\\top x|^2$", log_pi: "log mixing weight",
                 U: "orthonormal basis of subspace $k$", xv: "noisy point"},
        steps=steps, results=results,
        references=("wang2024diffusion", "notes:molrg"),
        regime=sp.true, regime_text="orthonormal bases $U_k^\\top U_k = I$; any $\\alpha, \\sigma > 0$",
        domain={alpha: (0.2, 2), sigma: (0.1, 2), n: (4, 60), d: (1, 4), q: (0.5, 20), r: (0, 0.5),
                log_pi: (-3, 0), U: lambda rng: orthonormal_columns(rng, N_AMB, D_SUB),
                xv: lambda rng: rational_matrix(rng, N_AMB, 1, -2, 2)},
        twins=(Twin("molrg_denoise", "vs spectral_theory.MoLRG(...).denoise (n = 12, d = [2, 3], unequal weights)",
                    _twin_molrg, tol=1e-10, requires=("spectral_theory.MoLRG",)),),
    )


def _twin_molrg(dv: Derivation, rng) -> float:
    import spectral_theory as st
    model = st.MoLRG(12, [2, 3], weights=[0.3, 0.7], rng=rng)
    logit, coef = dv.numeric("logit"), dv.numeric("coefficient")
    err = 0.0
    for s, a in ((0.3, 1.0), (rng.uniform(0.1, 2), rng.uniform(0.3, 1.5))):
        x = model.sample(8, rng=rng) * a + s * rng.standard_normal((8, 12))
        logits = np.stack([logit(np.log(w), np.sum((x @ B) ** 2, axis=1), B.shape[1], a, s)
                           for w, B in zip(model.weights, model.bases)], axis=1)        # (8, K)
        w = np.exp(logits - logits.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        mine = coef(a, s) * sum(w[:, [k]] * (x @ B) @ B.T for k, B in enumerate(model.bases))
        theirs = model.denoise(x, s, a)
        err = max(err, np.max(np.abs(mine - theirs)) / np.max(np.abs(theirs)))
    return err
