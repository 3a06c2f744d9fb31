"""Linear diffusion as power iteration: the per-step contraction factor to first order in the noise."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..printing import Notation
from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import gamma, scale as s

NAME = "spiked_power_iteration"
TITLE = "Linear diffusion as power iteration: contraction factor $c_2/c_1$ and steps to a tolerance"

lam1 = sp.Symbol("lambda_1", positive=True)
lam2 = sp.Symbol("lambda_2", positive=True)
eps = sp.Symbol("epsilon", positive=True)            # tolerance on the ratio of components
c11, c12, c21, c22 = sp.symbols("c_11 c_12 c_21 c_22", positive=True)


def _overlap(lam_):
    return (lam_**2 - gamma * s**2) / (lam_ * (lam_ + gamma * s))      # derivation spiked_diffusion


def build() -> Derivation:
    r = sp.simplify(_overlap(lam2) / _overlap(lam1))
    first = 1 - gamma * s * (1 / lam2 - 1 / lam1)
    log_first = -gamma * s * (1 / lam2 - 1 / lam1)
    n_steps = sp.log(eps) / sp.log(r)
    n_first = sp.log(1 / eps) / (gamma * s * (1 / lam2 - 1 / lam1))
    detected = sp.And(lam2 > sp.sqrt(gamma) * s, lam1 > lam2)
    R, Nn, M = sp.Symbol("r"), sp.Symbol("n"), Notation("mean_output", r"E[x_{\mathrm{gen}}]")
    P1 = sp.diag(c11, c21)
    P2 = sp.diag(c12, c22)

    steps = (
        Step(M, Notation("product_of_means", r"\prod_t E[P_{s_t}]\, x_T"),
             "With a denoiser trained independently at each step, $x_{t-1} = P_{s_t} x_t$ and the $P$'s are "
             "independent, so the mean output is the product of the mean operators. Each is diagonal in the "
             "true basis, $E[P_s] = \\sum_i c_i(s) u_i u_i^\\top + b(s)(I - UU^\\top)$, so component $i$ is "
             "multiplied by $\\prod_t c_i(s_t)$ (checked for two steps and two components).", "product",
             claim=Eq(P1 * P2, sp.diag(c11 * c12, c21 * c22))),
        Step(R, r,
             "Relative to the leading component, one step multiplies component 2 by $r = c_2/c_1$, the "
             "ratio of the squared overlaps (derivation spiked_diffusion) at the same noise level: the "
             "analogue of $\\lambda_2/\\lambda_1$ in power iteration.", "contraction",
             claim=Eq(_overlap(lam2) / _overlap(lam1), r)),
        Step(R, first + sp.O(s**2),
             "To first order in $s$ (sympy series): $r = 1 - \\gamma s(1/\\lambda_2 - 1/\\lambda_1) + O(s^2)$, "
             "below 1 iff $\\lambda_2 < \\lambda_1$.", "first_order",
             claim=Eq(sp.series(r, s, 0, 2).removeO(), first)),
        Step(Nn, n_steps,
             "At a constant noise level the ratio after $n$ steps is $r^n$; it reaches the tolerance "
             "$\\epsilon$ after $n = \\log\\epsilon/\\log r$ steps.", "steps",
             claim=Eq(sp.exp(n_steps * sp.log(r)), eps), where=detected),
        Step(Nn, n_first,
             "Since $\\log r = -\\gamma s(1/\\lambda_2 - 1/\\lambda_1) + O(s^2)$ (sympy series), the number of "
             "steps is inversely proportional to the gap of inverse eigenvalues and to the noise level.",
             "steps_first_order", claim=Eq(sp.series(sp.log(r), s, 0, 2).removeO(), log_first)),
    )
    results = (
        Result("contraction", R, r, (lam1, lam2, s, gamma),
               "Per-step contraction of the second component relative to the leading one.",
               regime=detected, regime_text="lambda_1 > lambda_2 > sqrt(gamma) s (both spikes detected)"),
        Result("first_order", sp.Symbol("r_1"), first, (lam1, lam2, s, gamma),
               "Its first order in $s$.", regime=sp.true),
        Result("steps", Nn, n_steps, (lam1, lam2, s, gamma, eps),
               "Steps at constant noise until the ratio is $\\epsilon$ (not rounded up).",
               regime=sp.And(detected, eps < 1), regime_text="lambda_1 > lambda_2 > sqrt(gamma) s, epsilon < 1"),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("A linear reverse process whose denoiser at each step is the PCA projection learned from "
                   "fresh noisy samples is, in mean, power iteration on the true eigenbasis: the second "
                   "component shrinks relative to the first by $r = 1 - \\gamma s(1/\\lambda_2 - 1/\\lambda_1) "
                   "+ O(s^2)$ per step, so the normalised mean output converges to the leading eigenvector."),
        symbols={lam1: "leading eigenvalue of the data", lam2: "second eigenvalue",
                 s: "VE noise variance of the step", gamma: "aspect ratio $D/N$ of each training set",
                 eps: "tolerance on the component ratio",
                 c11: "mean overlap of component 1 at step 1 (and likewise the other $c$'s)"},
        steps=steps, results=results,
        references=("weitzner2024relation", "paul2007asymptotics", "notes:spiked"),
        regime=sp.true, regime_text="$D, N \\to \\infty$ with $\\gamma$ fixed; independent training sets per step",
        domain={lam1: (1.0, 6.0), lam2: (0.2, 1.0), s: (0.01, 0.3), gamma: (0.05, 2.0), eps: (1e-4, 0.5),
                c11: (0.1, 1), c12: (0.1, 1), c21: (0.1, 1), c22: (0.1, 1)},
        twins=(Twin("linear_denoisers_module", "vs spectral_theory.linear_denoisers (contraction_factor, "
                    "contraction_first_order, constant_noise_steps)", _twin, tol=1e-12,
                    requires=("spectral_theory.linear_denoisers.constant_noise_steps",)),),
    )


def _twin(d: Derivation, rng) -> float:
    from spectral_theory import linear_denoisers as ld
    contraction, first, steps = d.numeric("contraction"), d.numeric("first_order"), d.numeric("steps")
    err = 0.0
    for _ in range(30):
        g = rng.uniform(0.05, 2.0)
        l2 = rng.uniform(0.2, 1.0)
        l1 = l2 * rng.uniform(1.05, 6.0)
        s_ = rng.uniform(0.01, 0.9) * l2 / np.sqrt(g)
        tol = rng.uniform(1e-4, 0.5)
        err = max(err, abs(ld.contraction_factor([l1, l2], s_, g)[1] - contraction(l1, l2, s_, g)))
        err = max(err, abs(ld.contraction_first_order([l1, l2], s_, g)[1] - first(l1, l2, s_, g)))
        n = steps(l1, l2, s_, g, tol)
        if abs(n - round(n)) > 1e-9:                          # away from integer ties of the ceiling
            err = max(err, abs(ld.constant_noise_steps(l1, l2, s_, g, tol) - np.ceil(n)))
    return err
