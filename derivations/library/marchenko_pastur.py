"""Marchenko-Pastur law: from the quadratic self-consistent equation to edges, branch, density, atom."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..printing import Notation
from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import g, gamma, scale as s, x, z

NAME = "marchenko_pastur"
TITLE = "Marchenko-Pastur law from its self-consistent equation"

# the Stieltjes inversion is checked at z = x + i*EPS: the error of the limit is O(EPS), far below
# the 1e-35 tolerance of the 50-digit random-point checks
EPS = sp.Rational(1, 10**45)
zpos = sp.Symbol("z", positive=True)      # z on the real axis beyond the support (branch selection)


def build() -> Derivation:
    Q = gamma * s * z * g**2 - (z + s * (gamma - 1)) * g + 1
    denominator = z - s * (1 - gamma) - gamma * s * z * g
    disc = (z - s * (1 + gamma)) ** 2 - 4 * gamma * s**2
    roots = sp.solve(Q, g)
    g_plus = (z - s * (1 - gamma) + sp.sqrt(disc)) / (2 * gamma * s * z)
    g_minus = (z - s * (1 - gamma) - sp.sqrt(disc)) / (2 * gamma * s * z)
    edges = sorted(sp.solve(disc, z), key=lambda e: float(e.subs({gamma: sp.Rational(1, 2), s: 1})))
    lo, hi = s * (1 - sp.sqrt(gamma)) ** 2, s * (1 + sp.sqrt(gamma)) ** 2
    # the branch of sqrt(disc) that is analytic off [lo, hi] and ~ z at infinity
    branch = sp.sqrt(z - lo) * sp.sqrt(z - hi)
    g_phys = (z - s * (1 - gamma) - branch) / (2 * gamma * s * z)
    rho = sp.sqrt((hi - x) * (x - lo)) / (2 * sp.pi * gamma * s * x)
    gs, rs = sp.Function("g_pm")(z), sp.Function("rho")(x)
    ls, us, ws = sp.symbols("lambda_- lambda_+ w_0")
    inside = (lo < x) & (x < hi)

    steps = (
        Step(Q, 0,
             "The Stieltjes transform $g(z) = \\int \\rho(x)\\,dx/(z - x)$ of the spectrum of $S = XX^\\top/N$ "
             "($X$ of size $D\\times N$, entries of variance $s$, $\\gamma = D/N$) solves the self-consistent "
             "equation $g = 1/(z - s(1-\\gamma) - \\gamma s z g)$; clearing the denominator gives this "
             "quadratic (checked).", "quadratic",
             claim=Eq(sp.expand(g * denominator - 1), sp.expand(-Q))),
        Step(gs, (z - s * (1 - gamma) + Notation("pm", r"\pm") * sp.sqrt(disc)) / (2 * gamma * s * z),
             "Its two roots (sympy solve finds exactly two; both checked to solve the quadratic).", "roots",
             claim=(Eq(sp.Integer(len(roots)), 2), Eq(sp.expand(Q.subs(g, g_plus)), 0),
                    Eq(sp.expand(Q.subs(g, g_minus)), 0))),
        Step(disc, (z - ls) * (z - us),
             "The discriminant vanishes at the edges $\\lambda_\\pm = s(1 \\pm \\sqrt\\gamma)^2$ "
             "(sympy solve), where the two roots meet.", "discriminant",
             claim=(Eq(sp.Integer(len(edges)), 2), Eq(edges[0], lo), Eq(edges[1], hi),
                    Eq(disc, sp.expand((z - lo) * (z - hi))))),
        Step(sp.Limit(z * sp.Function("g")(z), z, sp.oo), 1,
             "Branch choice: a probability measure has $g(z) \\sim 1/z$ at infinity. Taking "
             "$\\sqrt{\\cdot}$ as $\\sqrt{z - \\lambda_-}\\sqrt{z - \\lambda_+}$ (principal roots: analytic off "
             "$[\\lambda_-, \\lambda_+]$, $\\sim z$ at infinity), $z g_-(z) \\to 1$ while $g_+(z) \\to 1/(\\gamma s)$, "
             "which is not a Stieltjes transform (sympy limits, below). So $g = g_-$.", "branch",
             claim=(Eq(sp.limit(zpos * g_minus.subs(z, zpos), zpos, sp.oo), 1),
                    Eq(sp.limit(g_plus.subs(z, zpos), zpos, sp.oo), 1 / (gamma * s)))),
        Step(rs, -sp.im(sp.Function("g")(x + sp.I * Notation("eta", r"0^+", positive=True))) / sp.pi,
             "Stieltjes inversion: for $x$ in the support the product of the square roots "
             "$\\sqrt{x + i0 - \\lambda_\\mp}$ is $i\\sqrt{(x - \\lambda_-)(\\lambda_+ - x)}$, so $-\\operatorname{Im} g(x + i0)/\\pi$ is the density "
             "below (checked at $z = x + i\\,10^{-45}$ with 50 digits).", "inversion",
             claim=Eq(-sp.im(g_phys.subs(z, x + sp.I * EPS)) / sp.pi, rho), method="numeric", where=inside),
        Step(rs, rho, "The Marchenko-Pastur density on $[\\lambda_-, \\lambda_+]$.", "density",
             claim=Eq(sp.expand(disc.subs(z, x)), sp.expand(-(hi - x) * (x - lo)))),
        Step(ws, sp.Piecewise((1 - 1 / gamma, gamma > 1), (0, True)),
             "For $\\gamma > 1$ the $N < D$ samples leave $D - N$ zero eigenvalues: the residue of $g$ at $0$, "
             "$\\lim_{z\\to 0} z g(z) = 1 - 1/\\gamma$ on the physical branch (checked at $z = i\\,10^{-45}$).",
             "atom", claim=Eq(sp.re((z * g_phys).subs(z, sp.I * EPS)), 1 - 1 / gamma), method="numeric",
             where=gamma > 1),
    )
    results = (
        Result("density", rs, sp.Piecewise((rho, inside), (0, True)), (x, gamma, s),
               "Density of the continuous part (zero outside the support).", regime=sp.true),
        Result("lower_edge", ls, lo, (gamma, s), "Lower edge.", regime=sp.true),
        Result("upper_edge", us, hi, (gamma, s), "Upper edge.", regime=sp.true),
        Result("atom", ws, sp.Piecewise((1 - 1 / gamma, gamma > 1), (0, True)), (gamma,),
               "Weight of the atom at zero.", regime=sp.true),
        Result("stieltjes", sp.Function("g")(z), g_phys, (z, gamma, s),
               "Stieltjes transform on the physical branch; compile with complex=True.", regime=sp.true),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("The limit spectrum of a $D\\times D$ sample covariance with $N = D/\\gamma$ samples of "
                   "entry variance $s$ follows from the quadratic equation of its Stieltjes transform: "
                   "the edges are the zeros of the discriminant, the physical root is fixed by the "
                   "behaviour at infinity, and Stieltjes inversion gives the density."),
        symbols={gamma: "aspect ratio $D/N$", s: "entry variance (scale)", z: "spectral parameter",
                 g: "Stieltjes transform", x: "a point of the real axis"},
        steps=steps, results=results,
        references=("marchenko1967distribution", "bai2010spectral"),
        regime=sp.true, regime_text="$D, N \\to \\infty$ with $\\gamma = D/N$ fixed",
        domain={gamma: (0.05, 4), s: (0.2, 3), z: (0.1, 10), g: (-3, 3), x: (0.001, 25)},
        twins=(Twin("marchenko_pastur_law", "vs spectral_theory.rmt.MarchenkoPastur(aspect, scale): pdf, "
                    "support, atoms, stieltjes", _twin_mp, tol=1e-10,
                    requires=("spectral_theory.rmt.MarchenkoPastur",)),),
    )


def _twin_mp(d: Derivation, rng) -> float:
    from spectral_theory.rmt import MarchenkoPastur
    dens, lo_f, hi_f = d.numeric("density"), d.numeric("lower_edge"), d.numeric("upper_edge")
    atom_f, g_f = d.numeric("atom"), d.numeric("stieltjes", complex=True)
    err = 0.0
    for ratio in (*rng.uniform(0.05, 0.95, 2), *rng.uniform(1.05, 4.0, 2)):
        sc = rng.uniform(0.2, 3.0)
        law = MarchenkoPastur(ratio, sc)
        (lo, hi), = law.support()
        err = max(err, abs(lo - lo_f(ratio, sc)) / hi, abs(hi - hi_f(ratio, sc)) / hi)
        xs = np.linspace(lo, hi, 203)[1:-1]
        err = max(err, np.max(np.abs(law.pdf(xs) - dens(xs, ratio, sc))) / np.max(law.pdf(xs)))
        atom = sum(w for xa, w in law.atoms if xa == 0.0)
        err = max(err, abs(atom - atom_f(ratio)))
        zs = rng.uniform(-1, 2 * hi, 20) + 1j * rng.uniform(0.01, 2, 20) * rng.choice([-1, 1], 20)
        err = max(err, np.max(np.abs(law.stieltjes(zs) - g_f(zs, ratio, sc)) / np.abs(law.stieltjes(zs))))
    return err
