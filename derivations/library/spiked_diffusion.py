"""The rank-one BBP overlap in diffusion form: noise variance s, emergence noise level, VP form."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..printing import Notation
from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import ell, gamma, lam, scale as s

NAME = "spiked_diffusion"
TITLE = "Spiked covariance in diffusion form: overlap versus noise level, emergence in VE and VP time"

abar = sp.Symbol("alphabar", positive=True)     # VP cumulative signal fraction, 0 < abar < 1


def build() -> Derivation:
    ell_of_s = lam / s
    ov_ell = (ell**2 - gamma) / (ell * (ell + gamma))                     # derivation "bbp", result overlap
    rov_ell = 1 - (gamma + ell) / (ell * (ell + 1))                        # Benaych-Georges & Nadakuditi 2012
    ov = (lam**2 - gamma * s**2) / (lam * (lam + gamma * s))
    rov = (lam**2 - gamma * s**2) / (lam * (lam + s))
    s_star = sp.solve(sp.Eq(ell_of_s, sp.sqrt(gamma)), s)
    s_emerge = lam / sp.sqrt(gamma)
    tau_vp = (1 - abar) / abar
    a_star = sp.solve(sp.Eq(lam / tau_vp, sp.sqrt(gamma)), abar)
    a_emerge = sp.sqrt(gamma) / (lam + sp.sqrt(gamma))
    first_order = 1 - gamma * s / lam
    series1 = sp.series(ov, s, 0, 2).removeO()
    ov_vp = ov.subs(s, tau_vp)
    above = lam > sp.sqrt(gamma) * s
    Ov, Rov = Notation("overlap", r"|\langle\hat{u},u\rangle|^{2}"), Notation("right_overlap", r"|\langle\hat{v},v\rangle|^{2}")
    Ss, As, Cov = sp.Symbol("s^*"), sp.Symbol("alphabar^*"), sp.Symbol("Sigma_s")
    L = sp.Symbol("ell")

    steps = (
        Step(Cov, s * (1 + L),
             "Noisy samples $x = x_0 + \\sqrt{s}\\,n$ of rank-one data $x_0 = \\sqrt{\\lambda} z u$ have covariance "
             "$\\lambda u u^\\top + s I = s(I + \\ell u u^\\top)$ along $u$: the spike strength in noise units is "
             "$\\ell = \\lambda/s$ (checked: $s(1 + \\lambda/s) = \\lambda + s$).", "effective_snr",
             claim=Eq(s * (1 + ell_of_s), lam + s)),
        Step(Ov, ov,
             "Substituting $\\ell = \\lambda/s$ into the BBP overlap $(\\ell^2 - \\gamma)/(\\ell(\\ell+\\gamma))$ "
             "(derivation bbp) gives the overlap of the top eigenvector of the noisy sample covariance as a "
             "function of the noise level.", "overlap", claim=Eq(ov_ell.subs(ell, ell_of_s), ov)),
        Step(Ss, s_emerge,
             "The overlap is positive iff $\\lambda/s > \\sqrt\\gamma$: solving the threshold for the noise "
             "variance gives the emergence level $s^*$ (one root; checked with sympy solve). Below $s^*$ the "
             "direction is estimable; large eigenvalues emerge at higher noise.", "emergence_s",
             claim=(Eq(sp.Integer(len(s_star)), 1), Eq(s_star[0], s_emerge))),
        Step(s, tau_vp,
             "Under VP, $x_t = \\sqrt{\\bar\\alpha}\\,x_0 + \\sqrt{1-\\bar\\alpha}\\,n$, so $x_t/\\sqrt{\\bar\\alpha}$ "
             "is the VE form with $s = \\sigma^2/\\alpha^2 = (1-\\bar\\alpha)/\\bar\\alpha$ (conventions.md).",
             "vp_noise", claim=Eq((sp.sqrt(1 - abar) / sp.sqrt(abar)) ** 2, tau_vp), where=abar < 1),
        Step(As, a_emerge,
             "Solving $\\bar\\alpha\\lambda/(1-\\bar\\alpha) = \\sqrt\\gamma$: the direction is estimable once "
             "$\\bar\\alpha > \\sqrt\\gamma/(\\lambda + \\sqrt\\gamma)$.", "emergence_abar",
             claim=(Eq(sp.Integer(len(a_star)), 1), Eq(a_star[0], a_emerge))),
        Step(Notation("overlap_VP", r"\mathrm{overlap}_{\mathrm{VP}}"), sp.simplify(ov_vp),
             "The overlap in VP form, $\\ell = \\bar\\alpha\\lambda/(1-\\bar\\alpha)$.", "overlap_vp",
             claim=Eq(ov_ell.subs(ell, abar * lam / (1 - abar)), ov_vp), where=abar < 1),
        Step(Ov, first_order + sp.O(s**2),
             "Small noise: $1 - \\mathrm{overlap} = \\gamma s/\\lambda + O(s^2)$ (sympy series).", "small_noise",
             claim=Eq(series1, first_order)),
        Step(Rov, rov,
             "Fixed clean training set with fresh noise (information-plus-noise, $\\theta^2 = \\ell$): the "
             "sample-index-side overlap $1 - (\\gamma + \\ell)/(\\ell(\\ell+1))$ in diffusion form; the D-side "
             "overlap is the one above.", "right_overlap", claim=Eq(rov_ell.subs(ell, ell_of_s), rov)),
    )
    results = (
        Result("overlap", Ov, sp.Piecewise((ov, above), (0, True)), (lam, s, gamma),
               "Squared overlap of the top eigenvector of N noisy samples at noise variance $s$ with the "
               "spike (0 at and above the emergence level).", regime=sp.true),
        Result("right_overlap", Rov, sp.Piecewise((rov, above), (0, True)), (lam, s, gamma),
               "Sample-index-side overlap of the fixed-training-set variant.", regime=sp.true),
        Result("emergence_tau", Ss, s_emerge, (lam, gamma), "Emergence noise variance.", regime=sp.true),
        Result("emergence_abar", As, a_emerge, (lam, gamma), "Emergence level of the VP $\\bar\\alpha$.",
               regime=sp.true),
        Result("first_order", Notation("overlap_1", r"\mathrm{overlap}_{1}"), first_order, (lam, s, gamma),
               "First order in $s$ of the overlap.", regime=sp.true),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("In a diffusion model the training samples of a rank-one direction of variance $\\lambda$ "
                   "are seen at noise variance $s$, i.e. with spike strength $\\ell = \\lambda/s$. The PCA "
                   "direction learned from $N = D/\\gamma$ of them overlaps the true one with "
                   "$(\\lambda^2 - \\gamma s^2)/(\\lambda(\\lambda + \\gamma s))$, which vanishes for "
                   "$s \\ge \\lambda/\\sqrt\\gamma$ (VP: $\\bar\\alpha \\le \\sqrt\\gamma/(\\lambda+\\sqrt\\gamma)$)."),
        symbols={lam: "variance of the data along the spike", s: "VE noise variance ($\\tau$)",
                 gamma: "aspect ratio $D/N$", ell: "spike strength in noise units",
                 abar: "VP cumulative signal fraction $\\bar\\alpha$"},
        steps=steps, results=results,
        references=("paul2007asymptotics", "benaych2012singular", "weitzner2024relation", "notes:spiked",
                    "notes:conventions"),
        regime=sp.true, regime_text="$D, N \\to \\infty$ with $\\gamma = D/N$ fixed; one spike (each spike of "
                                    "a rank-k model independently)",
        domain={lam: (0.05, 6), s: (0.01, 4), gamma: (0.05, 4), ell: (0.05, 8), abar: (0.01, 0.99)},
        twins=(Twin("spiked_diffusion_module", "vs spectral_theory.spiked (overlap, right_overlap at "
                    "ell = lambda/s; emergence_tau, emergence_abar)", _twin_spiked, tol=1e-12,
                    requires=("spectral_theory.spiked.emergence_abar",)),),
    )


def _twin_spiked(d: Derivation, rng) -> float:
    from spectral_theory import spiked
    n = 60
    gam, lam_ = rng.uniform(0.05, 4.0, n), rng.uniform(0.05, 6.0, n)
    s_ = rng.uniform(0.01, 4.0, n)
    s_[-5:] = lam_[-5:] / np.sqrt(gam[-5:])                         # exactly at the emergence level
    err = 0.0
    for res, fn in (("overlap", spiked.overlap), ("right_overlap", spiked.right_overlap)):
        err = max(err, np.max(np.abs(d.numeric(res)(lam_, s_, gam) - fn(lam_ / s_, gam))))
    rel = lambda u, v: np.max(np.abs(np.asarray(u) - v) / np.abs(v))
    err = max(err, rel(spiked.emergence_tau(lam_, gam), d.numeric("emergence_tau")(lam_, gam)))
    return max(err, rel(spiked.emergence_abar(lam_, gam), d.numeric("emergence_abar")(lam_, gam)))
