"""BBP transition of a rank-one spiked sample covariance, from the secular equation of the resolvent."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..printing import Notation
from ..core import Derivation, Eq, Result, Step, Twin
from ..sampling import rational_matrix, symmetric_matrix
from ..symbols import eig as mu, ell, g, gamma, theta, z

NAME = "bbp"
TITLE = "BBP transition: outlier eigenvalue, threshold and eigenvector overlap of a spiked covariance"

h = sp.Symbol("h")                        # companion Stieltjes transform
zr = sp.Symbol("zeta", positive=True)     # a real spectral parameter for the matrix identities
A = sp.MatrixSymbol("A", 3, 3)            # a symmetric matrix (stands for the bulk companion matrix)
yv = sp.MatrixSymbol("y", 3, 1)
Z2 = sp.MatrixSymbol("Z", 2, 3)           # (noise block of the data) / sqrt(N)


def build() -> Derivation:
    Q = gamma * z * g**2 - (z + gamma - 1) * g + 1                       # MP quadratic, unit scale
    g_of_h = (h - (1 - gamma) / z) / gamma
    Qh_raw = sp.together(Q.subs(g, g_of_h))
    Qh = sp.expand(sp.numer(Qh_raw))
    Qh_den = sp.denom(Qh_raw)
    # outlier: theta * h(mu) = 1 on the companion quadratic
    mu_sol = sp.solve(Qh.subs({h: 1 / theta, z: mu}), mu)
    mu_ell = (1 + ell) * (1 + gamma / ell)
    crit = sp.solve(sp.diff(mu_ell, ell), ell)
    # overlap = -1 / (theta mu h'(mu)), h' by implicit differentiation of Qh(h, z) = 0
    hprime = (-sp.diff(Qh, z) / sp.diff(Qh, h)).subs({h: 1 / theta, z: mu})
    overlap_raw = (-1 / (theta * mu * hprime)).subs(mu, mu_sol[0]).subs(theta, 1 + ell)
    overlap = (ell**2 - gamma) / (ell * (ell + gamma))
    ell_roots = sp.solve(sp.Eq(mu, mu_ell), ell)
    c = mu - 1 - gamma
    ell_plus = (c + sp.sqrt(c**2 - 4 * gamma)) / 2
    # the discriminant factorised through the MP edges: no cancellation when mu sits on the edge
    disc_edges = (mu - (1 + sp.sqrt(gamma)) ** 2) * (mu - (1 - sp.sqrt(gamma)) ** 2)
    ell_stable = (c + sp.sqrt(disc_edges)) / 2
    H, Hp = sp.symbols("h(z) h'(z)")
    hz = sp.Function("h")(z)
    I3, I2 = sp.Identity(3), sp.Identity(2)
    det_lemma = Eq(sp.Determinant(zr * I3 - A - theta * yv * yv.T),
                   sp.Determinant(zr * I3 - A) * (1 - theta * sp.Trace(yv.T * sp.Inverse(zr * I3 - A) * yv)))
    push = Eq(Z2.T * sp.Inverse(zr * I2 - Z2 * Z2.T) * Z2, zr * sp.Inverse(zr * I3 - Z2.T * Z2) - I3)
    above = ell > sp.sqrt(gamma)
    Rs, Ov = sp.Function("R_uu")(z), Notation("overlap", r"|\langle\hat{u},u\rangle|^{2}")
    Mu = sp.Symbol("mu")
    Ls = sp.Function("ell")(Mu)

    steps = (
        Step(Qh, 0,
             "Write $S = \\Sigma^{1/2} Z Z^\\top \\Sigma^{1/2}/N$, $\\Sigma = I + \\ell u u^\\top$, "
             "$\\gamma = D/N$. The $N\\times N$ companion $Z^\\top \\Sigma Z/N$ has the eigenvalues of $S$ "
             "plus $N - D$ zeros, so its Stieltjes transform is $h = \\gamma g + (1-\\gamma)/z$, with $g$ the "
             "Marchenko-Pastur transform ($\\gamma z g^2 - (z + \\gamma - 1) g + 1 = 0$, derivation "
             "marchenko_pastur with $s = 1$). Substituting $g = (h - (1-\\gamma)/z)/\\gamma$ gives the companion "
             "quadratic (checked: it is the numerator of the substituted MP quadratic).", "companion",
             claim=Eq(Q.subs(g, g_of_h), Qh / Qh_den)),
        Step(sp.Determinant(zr * I3 - A - theta * yv * yv.T),
             sp.Determinant(zr * I3 - A) * (1 - theta * sp.Trace(yv.T * sp.Inverse(zr * I3 - A) * yv)),
             "In the basis $u = e_1$: $Z^\\top \\Sigma Z/N = A + \\theta y y^\\top$ with $\\theta = 1 + \\ell$, "
             "$A$ the companion of the noise block and $y = Z^\\top u/\\sqrt N$ independent of $A$. Matrix "
             "determinant lemma (checked on random rational $3\\times 3$ matrices): $\\zeta$ outside the "
             "spectrum of $A$ is an eigenvalue iff $\\theta y^\\top(\\zeta - A)^{-1} y = 1$.",
             "determinant_lemma", claim=det_lemma, method="numeric"),
        Step(theta * sp.Function("h")(mu), 1,
             "As $N \\to \\infty$, $y^\\top(\\zeta - A)^{-1}y \\to h(\\zeta)$ (a quadratic form of an "
             "independent isotropic vector concentrates on the normalised trace): the secular equation "
             "of the outlier $\\mu$. With the companion quadratic it is linear in $\\mu$ (checked: sympy "
             "solve has one root, below).", "secular",
             claim=Eq(sp.Integer(len(mu_sol)), 1)),
        Step(Mu, mu_ell, "Solving, with $\\theta = 1 + \\ell$.", "outlier",
             claim=Eq(mu_sol[0].subs(theta, 1 + ell), mu_ell)),
        Step(sp.Derivative(Mu, ell), sp.diff(mu_ell, ell),
             "$\\mu(\\ell)$ has one critical point, at $\\ell = \\sqrt\\gamma$, where it touches the upper MP "
             "edge $(1+\\sqrt\\gamma)^2$. For $\\ell > \\sqrt\\gamma$ it increases beyond the edge (an outlier "
             "exists); for $\\ell < \\sqrt\\gamma$ the root lies on the unphysical branch ($h$ would have to "
             "increase outside the support), and the top eigenvalue sticks to the edge: the BBP threshold.",
             "threshold",
             claim=(Eq(sp.Integer(len(crit)), 1), Eq(crit[0], sp.sqrt(gamma)),
                    Eq(mu_ell.subs(ell, sp.sqrt(gamma)), (1 + sp.sqrt(gamma)) ** 2))),
        Step(Z2.T * sp.Inverse(zr * I2 - Z2 * Z2.T) * Z2, zr * sp.Inverse(zr * I3 - Z2.T * Z2) - I3,
             "For the eigenvector, the Schur complement of $u^\\top(z - S)^{-1}u$ in the basis $u = e_1$ "
             "involves $Z_2^\\top(z - Z_2 Z_2^\\top)^{-1}Z_2$ for the noise block $Z_2$; the push-through "
             "identity (checked on random rational matrices) turns it into the companion resolvent.",
             "push_through", claim=push, method="numeric"),
        Step(Rs, 1 / (z - theta - theta * (z * H - 1)),
             "Hence $u^\\top (z - S)^{-1} u \\to 1/(z - \\theta - \\theta(z h(z) - 1)) = 1/(z(1 - \\theta h(z)))$: "
             "the same secular equation gives its pole.", "resolvent",
             claim=Eq(1 / (z - theta - theta * (z * H - 1)), 1 / (z * (1 - theta * H)))),
        Step(Ov, -1 / (theta * mu * Hp),
             "The squared overlap is the residue of $u^\\top(z-S)^{-1}u$ at $z = \\mu$: "
             "$1/\\partial_z[z(1 - \\theta h)]$ with $\\theta h(\\mu) = 1$.", "residue",
             claim=Eq(sp.diff(z * (1 - theta * hz), z).subs(sp.Derivative(hz, z), Hp).subs(hz, 1 / theta)
                      .subs(z, mu), -theta * mu * Hp)),
        Step(Ov, overlap,
             "With $h'(\\mu) = -\\partial_z Q_h/\\partial_h Q_h$ (implicit differentiation of the companion "
             "quadratic) at $h = 1/\\theta$, $\\mu = \\mu(\\ell)$; equivalently $(1 - \\gamma/\\ell^2)/(1 + \\gamma/\\ell)$, "
             "zero at the threshold.", "overlap", claim=Eq(overlap_raw, overlap), where=above),
        Step(Ls, ell_plus,
             "Inverting $\\mu(\\ell)$: the two roots have product $\\gamma$, so exactly one is $\\ge \\sqrt\\gamma$; "
             "it de-biases a measured outlier ($c = \\mu - 1 - \\gamma$).", "inverse",
             claim=(Eq(sp.Mul(*ell_roots), gamma), Eq(mu_ell.subs(ell, ell_plus), mu)),
             where=mu > (1 + sp.sqrt(gamma)) ** 2),
        Step(c**2 - 4 * gamma, disc_edges,
             "Its discriminant vanishes at the two MP edges; the factorised form is used numerically "
             "(no cancellation at the edge, where $\\ell(\\mu) = \\sqrt\\gamma$).", "inverse_discriminant"),
    )
    edge = (1 + sp.sqrt(gamma)) ** 2
    results = (
        Result("top_eigenvalue", Mu, sp.Piecewise((mu_ell, above), (edge, True)), (ell, gamma),
               "Top sample eigenvalue (units of the noise variance): the outlier above the threshold, the "
               "Marchenko-Pastur edge below.", regime=sp.true),
        Result("overlap", Ov, sp.Piecewise((overlap, above), (0, True)), (ell, gamma),
               "Squared overlap of the top sample eigenvector with the spike (0 below the threshold).",
               regime=sp.true),
        Result("threshold", sp.Symbol("ell_c"), sp.sqrt(gamma), (gamma,), "BBP threshold.", regime=sp.true),
        Result("snr_from_eigenvalue", Ls, ell_stable, (mu, gamma),
               "Spike strength from an outlier eigenvalue.", regime=mu >= edge,
               regime_text="mu >= (1+sqrt(gamma))^2 (an outlier)"),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("For $N$ samples of $N(0, I + \\ell u u^\\top)$ in dimension $D = \\gamma N$, the top "
                   "eigenvalue of the sample covariance separates from the Marchenko-Pastur bulk iff "
                   "$\\ell > \\sqrt\\gamma$, at $(1 + \\ell)(1 + \\gamma/\\ell)$, and its eigenvector keeps a squared "
                   "overlap $(1 - \\gamma/\\ell^2)/(1 + \\gamma/\\ell)$ with $u$; both follow from the pole of the "
                   "resolvent in direction $u$ (the secular equation)."),
        symbols={gamma: "aspect ratio $D/N$", ell: "spike strength in units of the noise variance",
                 theta: "population spike eigenvalue $1 + \\ell$", mu: "outlier sample eigenvalue",
                 z: "spectral parameter", g: "Stieltjes transform of the bulk",
                 h: "companion Stieltjes transform", zr: "a real point outside the spectrum"},
        steps=steps, results=results,
        references=("baik2005phase", "baik2006eigenvalues", "paul2007asymptotics", "benaych2011eigenvalues",
                    "notes:spiked"),
        regime=sp.true, regime_text="$D, N \\to \\infty$ with $\\gamma = D/N$ fixed; one spike",
        domain={gamma: (0.05, 3), ell: (0.05, 6), z: (0.1, 10), g: (-2, 2), h: (-2, 2),
                mu: (0.1, 20), zr: (5, 9), theta: (1.05, 7),
                A: lambda rng: symmetric_matrix(rng, 3), yv: lambda rng: rational_matrix(rng, 3, 1),
                Z2: lambda rng: rational_matrix(rng, 2, 3), H: (-2, 2), Hp: (-2, -0.1)},
        twins=(Twin("spiked_module", "vs spectral_theory.spiked (threshold, top_eigenvalue, overlap, "
                    "snr_from_eigenvalue)", _twin_spiked, tol=1e-12,
                    requires=("spectral_theory.spiked.overlap",)),),
    )


def _twin_spiked(d: Derivation, rng) -> float:
    from spectral_theory import spiked
    gam = rng.uniform(0.05, 3.0, 40)
    ell_ = np.concatenate([rng.uniform(0.0, 6.0, 38), np.sqrt(gam[38:])])   # include the threshold itself
    rel = lambda u, v: np.max(np.abs(np.asarray(u) - v) / np.maximum(np.abs(v), 1e-300))
    err = rel(spiked.threshold(gam), d.numeric("threshold")(gam))
    err = max(err, rel(spiked.top_eigenvalue(ell_, gam), d.numeric("top_eigenvalue")(ell_, gam)))
    ov_mine, ov_theirs = d.numeric("overlap")(ell_, gam), spiked.overlap(ell_, gam)
    err = max(err, np.max(np.abs(ov_mine - ov_theirs)))                      # absolute: it can be 0
    mu_ = spiked.top_eigenvalue(ell_, gam) + rng.uniform(0, 1, 40) * (ell_ > np.sqrt(gam))
    return max(err, rel(spiked.spike_from_eigenvalue(mu_, gam), d.numeric("snr_from_eigenvalue")(mu_, gam)))
