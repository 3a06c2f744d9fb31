"""Intermediate spectral gap of tau*J between two bulks: profile, peak and visibility window."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..printing import Notation
from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import a_edge as a, b_edge as b, delta, lam, tau

NAME = "intermediate_gap"
TITLE = "Intermediate gap of the rescaled score Jacobian: profile, peak and visibility window"


def build() -> Derivation:
    image = -tau / (lam + tau)                               # eigenvalue of tau*J for eigenvalue lam of C
    G = tau * (b - a) / ((tau + a) * (tau + b))
    dG = sp.diff(G, tau)
    roots = sp.solve(sp.numer(sp.together(dG)), tau)         # tau > 0 keeps only the positive root
    tau_max = sp.sqrt(a * b)
    G_max = (sp.sqrt(b) - sp.sqrt(a)) / (sp.sqrt(b) + sp.sqrt(a))
    half_sum = (b - a) - delta * (a + b)
    quadratic = delta * tau**2 - half_sum * tau + delta * a * b
    disc = (sp.sqrt(a) + sp.sqrt(b)) ** 2 * (G_max - delta) * (half_sum + 2 * delta * sp.sqrt(a * b))
    tau_hi = (half_sum + sp.sqrt(disc)) / (2 * delta)
    tau_lo = (half_sum - sp.sqrt(disc)) / (2 * delta)
    Gs, Disc = sp.Function("G")(tau), Notation("discriminant", r"\mathcal{D}")
    tmax, gmax, tlo, thi = sp.symbols("tau_max G_max tau_lo tau_hi")
    in_window = delta <= G_max

    steps = (
        Step(sp.Derivative(image, lam), sp.diff(image, lam),
             "Eigenvalue $\\lambda$ of $C$ becomes $-\\tau/(\\lambda+\\tau)$ of $\\tau J$, an increasing "
             "map: bulks keep their order, the lower bulk's upper edge $a$ and the upper bulk's lower "
             "edge $b$ bound the gap.", "increasing_map",
             claim=Eq(sp.diff(image, lam), tau / (lam + tau) ** 2)),
        Step(Gs, G, "The gap is the difference of the images of $b$ and $a$.", "profile",
             claim=Eq(image.subs(lam, b) - image.subs(lam, a), G)),
        Step(sp.Derivative(Gs, tau), (b - a) * (a * b - tau**2) / ((tau + a) ** 2 * (tau + b) ** 2),
             "Differentiating: one stationary point for $\\tau > 0$, a maximum.", "stationary",
             claim=Eq(dG, (b - a) * (a * b - tau**2) / ((tau + a) ** 2 * (tau + b) ** 2))),
        Step(tmax, tau_max, "Solving $G'(\\tau) = 0$ with $\\tau > 0$ (sympy solve returns one root).",
             "tau_max", claim=(Eq(sp.Integer(len(roots)), 1), Eq(roots[0], tau_max))),
        Step(gmax, G_max, "The peak gap.", "gap_max", claim=Eq(G.subs(tau, tau_max), G_max)),
        Step(quadratic, 0,
             "A threshold $\\Delta$ is reached where $G(\\tau) = \\Delta$; clearing denominators gives a "
             "quadratic in $\\tau$ (checked: it equals $-(G - \\Delta)(\\tau+a)(\\tau+b)$).", "window_quadratic",
             claim=Eq(sp.expand(-(G - delta) * (tau + a) * (tau + b)), sp.expand(quadratic))),
        Step(Disc, disc,
             "Its discriminant factorises; it is nonnegative iff $\\Delta \\le G_{\\max}$: "
             "the gap is visible at some noise level iff the threshold is below the peak.",
             "discriminant", claim=Eq(half_sum**2 - 4 * delta**2 * a * b, disc)),
        Step(sp.Tuple(tlo, thi), sp.Tuple((half_sum - sp.sqrt(Disc)) / (2 * delta), (half_sum + sp.sqrt(Disc)) / (2 * delta)),
             "The window's ends are the two roots (checked with $\\mathcal{D}$ substituted: both solve the "
             "quadratic).", "window",
             claim=(Eq(quadratic.subs(tau, tau_lo), 0), Eq(quadratic.subs(tau, tau_hi), 0)),
             where=in_window),
        Step(tlo * thi, a * b,
             "Their product is $ab = \\tau_{\\max}^2$: the window is symmetric about $\\tau_{\\max}$ in "
             "$\\log\\tau$, so the smaller root is computed as $ab/\\tau_{\\mathrm{hi}}$ without cancellation.",
             "window_product", claim=Eq(tau_lo * tau_hi, a * b), where=in_window),
    )
    ordered = a < b
    results = (
        Result("gap", Gs, G, (a, b, tau), "Intermediate gap of $\\tau J$.", regime=ordered,
               regime_text="0 < a < b"),
        Result("tau_max", tmax, tau_max, (a, b), "Noise variance of the widest gap.", regime=ordered,
               regime_text="0 < a < b"),
        Result("gap_max", gmax, G_max, (a, b), "Widest gap.", regime=ordered, regime_text="0 < a < b"),
        Result("tau_lo", tlo, a * b / tau_hi, (a, b, delta), "Window start (as $ab/\\tau_{\\mathrm{hi}}$).",
               regime=ordered & in_window, regime_text="0 < a < b and Delta <= G_max (nonempty window)"),
        Result("tau_hi", thi, tau_hi, (a, b, delta), "Window end.",
               regime=ordered & in_window, regime_text="0 < a < b and Delta <= G_max (nonempty window)"),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("Two bulks of the data covariance spectrum, with edges $a < b$ around a gap, map to two "
                   "bulks of the spectrum of $\\tau J = -\\tau (C + \\tau I)^{-1}$; the gap between them "
                   "opens and closes as the noise variance $\\tau$ decreases, is widest at "
                   "$\\tau = \\sqrt{ab}$, and exceeds a resolution $\\Delta$ on an explicit window."),
        symbols={a: "upper edge of the lower bulk of $C$", b: "lower edge of the upper bulk of $C$",
                 tau: "VE noise variance", lam: "an eigenvalue of $C$", delta: "resolution threshold"},
        steps=steps, results=results,
        references=("ventura2025manifolds", "notes:spectral_gaps"),
        regime=a < b, regime_text="two separated bulks, $0 < a < b$",
        domain={a: (0.05, 3), b: (0.1, 20), tau: (0.01, 30), lam: (0, 20), delta: (0.01, 0.9)},
        twins=(Twin("gaps_module", "vs spectral_theory.gap_profile / gap_peak / gap_window",
                    _twin_gaps, tol=1e-12, requires=("spectral_theory.gap_profile",)),),
    )


def _twin_gaps(d: Derivation, rng) -> float:
    import spectral_theory as st
    a_ = rng.uniform(0.05, 2.0, 20)
    b_ = a_ * rng.uniform(1.5, 20.0, 20)
    t_ = np.exp(rng.uniform(-4, 4, 20))
    rel = lambda u, v: np.max(np.abs(np.asarray(u) - v) / np.abs(v))
    err = rel(st.gap_profile(a_, b_, t_), d.numeric("gap")(a_, b_, t_))
    tmax, gmax = st.gap_peak(a_, b_)
    err = max(err, rel(tmax, d.numeric("tau_max")(a_, b_)), rel(gmax, d.numeric("gap_max")(a_, b_)))
    dl = gmax * rng.uniform(0.05, 0.99, 20)
    lo, hi = st.gap_window(a_, b_, dl)
    return max(err, rel(lo, d.numeric("tau_lo")(a_, b_, dl)), rel(hi, d.numeric("tau_hi")(a_, b_, dl)))
