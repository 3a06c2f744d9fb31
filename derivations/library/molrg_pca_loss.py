"""The denoising loss of the rank-d (K = 1) low-rank denoiser is PCA at every noise level."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..printing import Notation
from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import alpha, sigma

NAME = "molrg_pca_loss"
TITLE = "MoLRG, $K = 1$: the denoising loss of the low-rank denoiser reduces to PCA"

d = sp.Symbol("d", positive=True)                  # subspace dimension
q = sp.Symbol("q", positive=True)                  # |x_0|^2
r = sp.Symbol("r", nonnegative=True)               # |U^T x_0|^2 <= q
y = sp.Symbol("y", real=True)                      # a coordinate of x_0 along a column of U
xi = sp.Symbol("xi", real=True)                    # a noise coordinate
c = sp.Symbol("c", positive=True)                  # the denoiser's shrinkage


def build() -> Derivation:
    coef = alpha / (alpha**2 + sigma**2)
    gauss = sp.exp(-xi**2 / 2) / sp.sqrt(2 * sp.pi)
    along = (c * (alpha * y + sigma * xi) - y) ** 2                 # residual^2 along a column of U
    along_mean = (c * alpha - 1) ** 2 * y**2 + c**2 * sigma**2
    loss_sum = (c * alpha - 1) ** 2 * r + (q - r) + d * c**2 * sigma**2
    kappa = 2 * c * alpha - c**2 * alpha**2
    loss = q - kappa * r + c**2 * sigma**2 * d
    kappa_c = alpha**2 * (alpha**2 + 2 * sigma**2) / (alpha**2 + sigma**2) ** 2
    loss_c = loss.subs(c, coef)
    L, Ls, Ks = sp.Function("ell")(sp.Symbol("x_0")), Notation("loss", r"\mathcal{L}(U)"), sp.Symbol("kappa")
    steps = (
        Step(Notation("mean_square_error", r"\mathbb{E}_\xi\,[(c(\alpha y + \sigma\xi) - y)^2]"), along_mean,
             "The K = 1 denoiser is $x_\\theta(x) = c\\,UU^\\top x$ with $c = \\alpha/(\\alpha^2 + \\sigma^2)$ "
             "(the MoLRG posterior mean with one component; weights are 1).  In the orthonormal basis "
             "$(U, U_\\perp)$, along a column of $U$ the residual is $c(\\alpha y + \\sigma\\xi) - y$ with "
             "$\\xi \\sim N(0, 1)$; its mean square (checked by integrating against the Gaussian density):",
             "along_subspace", claim=Eq(sp.integrate(sp.expand(along * gauss), (xi, -sp.oo, sp.oo)), along_mean)),
        Step(L, loss_sum,
             "Along $U_\\perp$ the denoiser outputs 0, so the residual is $-x_{0,\\perp}$ whatever the noise. "
             "Summing the $d$ directions of $U$ ($\\sum y_i^2 = r = |U^\\top x_0|^2$) and the orthogonal "
             "ones ($|x_{0,\\perp}|^2 = q - r$, $q = |x_0|^2$):", "sum_directions",
             claim=_three_directions(along_mean, loss_sum)),
        Step(L, loss,
             "Rearranged: the loss is $|x_0|^2 - (2c\\alpha - c^2\\alpha^2)|U^\\top x_0|^2 + c^2\\sigma^2 d$.",
             "rearranged", claim=Eq(sp.expand(loss_sum), sp.expand(loss))),
        Step(Ks, kappa_c,
             "With $c = \\alpha/(\\alpha^2 + \\sigma^2)$ the coefficient $\\kappa = 2c\\alpha - c^2\\alpha^2$ is "
             "positive for every $\\alpha, \\sigma > 0$:", "kappa", claim=Eq(kappa.subs(c, coef), kappa_c)),
        Step(sp.Derivative(Ls, Notation("mean_projection", r"\overline{|U^\top x|^2}")), -Ks,
             "Averaged over a training set, $\\mathcal L(U) = \\overline{|x|^2} - \\kappa\\,\\overline{|U^\\top x|^2} "
             "+ c^2\\sigma^2 d$ depends on $U$ only through the captured energy, with negative slope; so its "
             "minimisers over the Stiefel manifold maximise $\\operatorname{tr}(U^\\top S U)$, "
             "$S = \\frac1N\\sum_i x_i x_i^\\top$: the top-$d$ principal subspace (Ky Fan), at every noise level.",
             "pca", claim=Eq(sp.diff(loss, r), -kappa)),
    )
    results = (
        Result("loss", Ls, loss_c, (q, r, d, alpha, sigma),
               "Expected denoising loss of the K = 1 low-rank denoiser at one training point "
               "(or averaged: $q$, $r$ replaced by their training-set means)."),
        Result("kappa", Ks, kappa_c, (alpha, sigma), "Weight of the captured energy in the loss."),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("For one subspace the low-rank denoiser's expected loss over the noise is "
                   "$|x_0|^2 - (2c\\alpha - c^2\\alpha^2)|U^\\top x_0|^2 + c^2\\sigma^2 d$ with a positive "
                   "coefficient, so training it on a data set is PCA at every noise level."),
        symbols={alpha: "signal scale $\\alpha_t$", sigma: "noise level $\\sigma_t$", d: "subspace dimension",
                 q: "$|x_0|^2$", r: "$|U^\\top x_0|^2$", y: "coordinate of $x_0$ along a column of $U$",
                 xi: "noise coordinate", c: "shrinkage $\\alpha/(\\alpha^2 + \\sigma^2)$"},
        steps=steps, results=results,
        references=("wang2024diffusion", "fan1949theorem", "notes:molrg"),
        regime=sp.true, regime_text="orthonormal $U$ ($U^\\top U = I_d$); any $\\alpha, \\sigma > 0$",
        domain={alpha: (0.2, 2), sigma: (0.1, 3), d: (1, 8), q: (4, 20), r: (0, 4), y: (-3, 3),
                xi: (-3, 3), c: (0.1, 2)},
        twins=(Twin("molrg_pca_loss", "vs spectral_theory.molrg.pca_loss (n = 16, d = 3, two noise levels)",
                    _twin_pca_loss, tol=1e-10, requires=("spectral_theory.molrg.pca_loss",)),),
    )


def _three_directions(along_mean, loss_sum):
    """The sum over directions checked at d = 3: coordinates y_1..y_3 with r = y_1^2 + y_2^2 + y_3^2."""
    ys = sp.symbols("y_1:4", real=True)
    r3 = sum(v**2 for v in ys)
    return Eq(loss_sum.subs({d: 3, r: r3}), sum(along_mean.subs(y, v) for v in ys) + (q - r3))


def _twin_pca_loss(dv: Derivation, rng) -> float:
    from spectral_theory import molrg
    loss = dv.numeric("loss")
    X = rng.standard_normal((25, 16))
    U = np.linalg.qr(rng.standard_normal((16, 3)))[0]
    err = 0.0
    for s, a in ((0.3, 1.0), (rng.uniform(0.1, 3), rng.uniform(0.3, 1.5))):
        q_mean = np.mean(np.sum(X**2, axis=1))
        r_mean = np.mean(np.sum((X @ U) ** 2, axis=1))
        mine = float(loss(q_mean, r_mean, 3, a, s))
        theirs = molrg.pca_loss(U, X, s, a)
        err = max(err, abs(mine - theirs) / abs(theirs))
    return err
