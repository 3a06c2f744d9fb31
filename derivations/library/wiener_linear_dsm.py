"""Linear denoising score matching: the Wiener filter is the MSE-optimal affine denoiser of any data."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import lam, mu0 as m, sigma

NAME = "wiener_linear_dsm"
TITLE = "Linear denoising score matching: the Wiener filter as the optimal affine denoiser"

w = sp.Symbol("w", real=True)          # affine weight along an eigendirection
b = sp.Symbol("b", real=True)          # affine offset along it


def build() -> Derivation:
    x0, n = sp.symbols("x_0 n", real=True)
    E = sp.Function("E")
    # the loss needs only E x0 = m, E x0^2 = lambda + m^2, E n = 0, E n^2 = 1, E x0 n = 0 (independent noise)
    integrand = sp.expand((w * (x0 + sigma * n) + b - x0) ** 2)
    moments = {x0**2: lam + m**2, n**2: 1, x0 * n: 0}
    poly = sp.Poly(integrand, x0, n)
    loss = sum(c * (moments.get(x0**i * n**j, None) if (i, j) not in ((1, 0), (0, 1), (0, 0))
                    else {(1, 0): m, (0, 1): 0, (0, 0): 1}[(i, j)]) for (i, j), c in poly.terms())
    loss_closed = (w - 1) ** 2 * (lam + m**2) + w**2 * sigma**2 + b**2 + 2 * (w - 1) * b * m
    sol = sp.solve([sp.diff(loss_closed, w), sp.diff(loss_closed, b)], [w, b], dict=True)[0]
    W = lam / (lam + sigma**2)
    B = (1 - W) * m
    min_loss = sp.simplify(loss_closed.subs({w: W, b: B}))
    L, Wsym, Bsym, Lmin = sp.symbols("L(w\\,b) w^* b^* L^*")

    steps = (
        Step(L, E(integrand),
             "Along an eigendirection of the data covariance $\\Sigma$ (eigenvalue $\\lambda$, mean component $m$), "
             "with $x = x_0 + \\sigma n$ and noise $n$ independent of the data, the affine denoiser "
             "$D(x) = w x + b$ has squared loss $E(w x + b - x_0)^2$. For a matrix $W$ the cross terms between "
             "eigendirections vanish once $W$ commutes with $\\Sigma$, which the stationarity condition below forces "
             "(checked: the integrand is $((w-1)x_0 + w\\sigma n + b)^2$).",
             "loss", claim=Eq(integrand, sp.expand(((w - 1) * x0 + w * sigma * n + b) ** 2))),
        Step(L, loss_closed,
             "Only the first two moments enter: $E x_0 = m$, $E x_0^2 = \\lambda + m^2$, $E n = 0$, $E n^2 = 1$, "
             "$E x_0 n = 0$; no other property of the distribution is used.", "moments",
             claim=Eq(sp.expand(loss), sp.expand(loss_closed))),
        Step(Bsym, B,
             "Stationarity in $b$: $b = (1 - w) m$.", "offset",
             claim=Eq(sp.diff(loss_closed, b).subs(b, (1 - w) * m), 0)),
        Step(Wsym, W,
             "Stationarity in $w$ after inserting $b$: $(w - 1)\\lambda + w\\sigma^2 = 0$, the Wiener gain "
             "(sympy solve of both conditions agrees). In matrix form $W^* = \\Sigma(\\Sigma + \\sigma^2 I)^{-1}$, "
             "$b^* = (I - W^*)\\mu$.", "weight",
             claim=(Eq(sol[w], W), Eq(sol[b], B))),
        Step(Lmin, lam * sigma**2 / (lam + sigma**2),
             "The minimum (the loss is convex: its Hessian has positive trace and determinant "
             "$4(\\lambda + \\sigma^2) > 0$) is the Gaussian posterior variance: the best affine denoiser of any "
             "data does as well as the exact denoiser of the Gaussian with the same moments.", "minimum",
             claim=(Eq(min_loss, lam * sigma**2 / (lam + sigma**2)),
                    Eq(sp.Matrix([[sp.diff(loss_closed, v1, v2) for v2 in (w, b)] for v1 in (w, b)]).det(),
                       4 * (lam + sigma**2)))),
    )
    results = (
        Result("wiener_gain", Wsym, W, (lam, sigma), "Wiener gain along an eigendirection of eigenvalue $\\lambda$."),
        Result("wiener_offset", Bsym, B, (m, lam, sigma), "Offset $(1 - w^*) m$ along the eigendirection."),
        Result("affine_mse", Lmin, lam * sigma**2 / (lam + sigma**2), (lam, sigma),
               "Minimal affine MSE per eigendirection; summed over directions it is the Gaussian denoiser's MSE."),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("For any data with mean $\\mu$ and covariance $\\Sigma$ and $x = x_0 + \\sigma n$, the affine map "
                   "minimising $E|W x + b - x_0|^2$ is the Wiener filter $W^* = \\Sigma(\\Sigma + \\sigma^2 I)^{-1}$, "
                   "$b^* = (I - W^*)\\mu$, the exact denoiser of the Gaussian with the same two moments."),
        symbols={lam: "eigenvalue of the data covariance", m: "data mean along the eigendirection",
                 sigma: "noise level $\\sigma$", w: "affine weight", b: "affine offset"},
        steps=steps, results=results,
        references=("li2024understanding", "wiener1949extrapolation"),
        regime=sp.true, regime_text="all $\\lambda, \\sigma > 0$ (a zero eigenvalue is the limit $\\lambda \\to 0$)",
        domain={lam: (0.05, 5), sigma: (0.1, 3), m: (-2, 2), w: (-2, 2), b: (-2, 2)},
        twins=(Twin("wiener_filter", "vs spectral_theory.wiener_filter (D = 5, random eigenbasis)",
                    _twin_wiener, tol=1e-10, requires=("spectral_theory.wiener_filter",)),),
    )


def _twin_wiener(d: Derivation, rng) -> float:
    import spectral_theory as st
    dim = 5
    U = np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    lam_ = rng.uniform(0.05, 4.0, dim)
    mean = rng.standard_normal(dim)
    gain, offset = d.numeric("wiener_gain"), d.numeric("wiener_offset")
    err = 0.0
    for s in rng.uniform(0.1, 3.0, 3):
        W, bb = st.wiener_filter(mean, (U * lam_) @ U.T, s)
        Wm = (U * gain(lam_, s)) @ U.T
        bm = U @ offset(mean @ U, lam_, s)
        err = max(err, np.max(np.abs(W - Wm)) / np.max(np.abs(W)), np.max(np.abs(bb - bm)) / np.max(np.abs(bb)))
    return err
