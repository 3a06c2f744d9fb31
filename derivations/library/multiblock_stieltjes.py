"""Multi-block Stieltjes equation of C = F diag(v) F^T, its edges, and the score-Jacobian pushforward."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..core import Derivation, Eq, Result, Step, Twin
from ..symbols import g, lam, tau, z

NAME = "multiblock_stieltjes"
TITLE = "Spectrum of $C = F \\operatorname{diag}(v) F^\\top$: multi-block Stieltjes equation, edges, Jacobian pushforward"

k, K = sp.Symbol("k", integer=True, positive=True), sp.Symbol("K", integer=True, positive=True)
al, vv = sp.IndexedBase("alpha"), sp.IndexedBase("v")
a1, a2, v1, v2 = sp.symbols("alpha_1 alpha_2 v_1 v_2", positive=True)
m = sp.Symbol("mu", negative=True)        # an eigenvalue of tau*J, in (-1, 0)


def _sum(term):
    return sp.Sum(term, (k, 1, K))


def _two_blocks(expr):
    """Specialise a K-block expression to K = 2 with plain symbols (what is checked and compiled)."""
    return expr.subs(K, 2).doit().subs({al[1]: a1, al[2]: a2, vv[1]: v1, vv[2]: v2})


def build() -> Derivation:
    block = al[k] * vv[k] / (1 - vv[k] * g)
    z_of_g = 1 / g + _sum(block)
    dz = -1 / g**2 + _sum(al[k] * vv[k] ** 2 / (1 - vv[k] * g) ** 2)
    z2, dz2 = _two_blocks(z_of_g), _two_blocks(dz)
    # one block: the Marchenko-Pastur quadratic with ratio 1/alpha and scale alpha v
    a, v = sp.symbols("alpha v", positive=True)
    one_block = sp.expand((g * (z - a * v / (1 - v * g)) - 1) * (1 - v * g))
    gam, sc = 1 / a, a * v
    mp_quadratic = gam * sc * z * g**2 - (z + sc * (gam - 1)) * g + 1
    z1 = 1 / g + a * v / (1 - v * g)
    crit = sp.solve(sp.numer(sp.together(sp.diff(z1, g))), g)
    edge_values = [sp.simplify(z1.subs(g, c)) for c in crit]
    image = -tau / (lam + tau)
    inverse = sp.solve(sp.Eq(m, image), lam)
    lam_of_mu = -tau * (1 + m) / m
    rho_C, rho_J = sp.Function("rho_C"), sp.Function("rho_J")
    zs, ls = sp.Function("z")(g), sp.Function("lambda")(m)
    dzs = sp.Derivative(zs, g)

    steps = (
        Step(g, 1 / (z - _sum(block)),
             "For $C = F\\operatorname{diag}(v)F^\\top$ ($F$ of size $D\\times m$ with iid $N(0, 1/D)$ entries, "
             "$m_k = \\alpha_k D$ columns of variance $v_k$), the Stieltjes transform "
             "$g = \\frac1D\\operatorname{tr}(z - C)^{-1}$ solves this equation (Silverstein-Bai). With one "
             "block it is the Marchenko-Pastur quadratic with ratio $1/\\alpha$ and scale $\\alpha v$ "
             "(checked), plus an atom $1 - \\alpha$ at zero.", "self_consistent",
             claim=Eq(one_block, sp.expand(-mp_quadratic))),
        Step(zs, z_of_g,
             "The equation is solved explicitly for $z$: the inverse function $z(g)$ (checked for "
             "$K = 2$: substituting it solves the equation identically).", "inverse_function",
             claim=Eq(1 / (z2 - _two_blocks(_sum(block))), g)),
        Step(dzs, dz,
             "Support edges are the values $z(g^*)$ at the real critical points $z'(g^*) = 0$: outside the "
             "support $g$ is real and decreasing in $z$, so $z(g)$ is decreasing there and the edges are its "
             "local extrema (checked for $K = 2$).", "edge_condition",
             claim=Eq(sp.diff(z2, g), dz2)),
        Step(sp.Tuple(*[sp.Function("z")(sp.Symbol(f"g^*_{i}")) for i in (1, 2)]),
             sp.Tuple(v * (1 - sp.sqrt(a)) ** 2, v * (1 + sp.sqrt(a)) ** 2),
             "With one block the two critical points give back the Marchenko-Pastur edges "
             "(checked through their sum and product, independent of the order of the roots).",
             "one_block_edges",
             claim=(Eq(sp.Integer(len(crit)), 2), Eq(sp.simplify(sum(edge_values)), 2 * v * (1 + a)),
                    Eq(sp.simplify(edge_values[0] * edge_values[1]), v**2 * (1 - a) ** 2))),
        Step(m, image,
             "The score Jacobian is $J = -(C + \\tau I)^{-1}$, so each eigenvalue $\\lambda$ of $C$ gives the "
             "eigenvalue $\\mu = -\\tau/(\\lambda + \\tau)$ of $\\tau J$; the atom at $0$ goes to $-1$.", "map",
             claim=Eq(image.subs(lam, 0), -1)),
        Step(ls, lam_of_mu, "Inverting the map (sympy solve: one root).", "inverse_map",
             claim=(Eq(sp.Integer(len(inverse)), 1), Eq(inverse[0], lam_of_mu))),
        Step(sp.Derivative(ls, m), tau / m**2,
             "Its derivative is positive: the map is increasing and bulks keep their order.", "jacobian",
             claim=Eq(sp.diff(lam_of_mu, m), tau / m**2)),
        Step(rho_J(m), rho_C(lam_of_mu) * tau / m**2,
             "Change of variables: the density of the spectrum of $\\tau J$ on $(-1, 0)$ is the pushforward "
             "(checked: the density factor is $|d\\lambda/d\\mu|$, i.e. $1/f'(\\lambda(\\mu))$).", "pushforward",
             claim=Eq(1 / sp.diff(image, lam).subs(lam, lam_of_mu), tau / m**2)),
    )
    results = (
        Result("z_of_g", zs, z2, (g, a1, v1, a2, v2), "Inverse function $z(g)$ for two blocks.",
               regime=sp.true),
        Result("dz_dg", dzs, dz2, (g, a1, v1, a2, v2), "Edge condition $z'(g)$ for two blocks.",
               regime=sp.true),
        Result("lambda_of_mu", ls, lam_of_mu, (m, tau), "Eigenvalue of $C$ behind an eigenvalue of $\\tau J$.",
               regime=(m > -1), regime_text="-1 < mu < 0"),
        Result("density_factor", sp.Abs(sp.Derivative(ls, m)), tau / m**2, (m, tau),
               "Factor of the transformed density: $\\rho_J(\\mu) = \\rho_C(\\lambda(\\mu))\\,\\tau/\\mu^2$.",
               regime=(m > -1), regime_text="-1 < mu < 0"),
    )
    return Derivation(
        name=NAME, title=TITLE,
        statement=("For data on a linear manifold with blocks of latent variances, the spectrum of the data "
                   "covariance $C$ solves a multi-block Stieltjes equation whose inverse function gives "
                   "the support edges through $z'(g) = 0$; the spectrum of the rescaled score Jacobian "
                   "$\\tau J$ is its image under $\\lambda \\mapsto -\\tau/(\\lambda+\\tau)$."),
        symbols={g: "Stieltjes transform of the spectrum of $C$", z: "spectral parameter",
                 K: "number of blocks", k: "block index", tau: "VE noise variance",
                 lam: "eigenvalue of $C$", m: "eigenvalue of $\\tau J$",
                 a1: "block fractions $\\alpha_k = m_k/D$ (two-block case)", v1: "block variances $v_k$"},
        steps=steps, results=results,
        references=("silverstein1995empirical", "silverstein1995analysis", "ventura2025manifolds",
                    "notes:spectral_gaps"),
        regime=sp.true, regime_text="$D \\to \\infty$ with the block fractions $\\alpha_k$ fixed, $\\sum_k \\alpha_k \\le 1$",
        domain={g: (-3, 3), z: (0.1, 10), a: (0.05, 0.95), v: (0.1, 5), a1: (0.05, 0.5), a2: (0.05, 0.5),
                v1: (0.1, 5), v2: (0.1, 5), tau: (0.01, 10), lam: (0, 20), m: (-0.999, -0.001)},
        twins=(Twin("silverstein_edges_pdf_pushforward",
                    "vs spectral_theory.rmt.Silverstein(fractions, variances): support edges (critical points of "
                    "z(g)), pdf (cubic of the K = 2 equation) and jacobian_pushforward(tau).pdf",
                    _twin_silverstein, tol=1e-8, requires=("spectral_theory.rmt.Silverstein",)),),
    )


def _critical_edges(d: Derivation, weights, variances):
    """Support edges from the compiled z(g), z'(g): sign changes of z' on a grid between the poles
    (0 and 1/v_k), refined by brentq."""
    from scipy.optimize import brentq
    z_f, dz_f = d.numeric("z_of_g"), d.numeric("dz_dg")
    args = (weights[0], variances[0], weights[1], variances[1])
    poles = np.sort(np.concatenate([[0.0], 1 / np.asarray(variances)]))
    span = 10 * poles[-1] + 10
    cuts = np.concatenate([[-span], poles, [span]])
    edges = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        grid = np.linspace(lo, hi, 4003)[1:-1]
        val = dz_f(grid, *args)
        for i in np.nonzero(np.sign(val[:-1]) != np.sign(val[1:]))[0]:
            gstar = brentq(lambda t: dz_f(t, *args), grid[i], grid[i + 1], xtol=1e-15)
            edges.append(float(z_f(gstar, *args)))
    return np.sort([e for e in edges if e > 0])


def _density_from_cubic(weights, variances, xs):
    """rho(x) = -Im g/pi from the root with Im g < 0 of the K = 2 equation cleared of denominators."""
    zz = sp.Symbol("zz")
    a1_, v1_, a2_, v2_ = (sp.nsimplify(float(t)) for t in (weights[0], variances[0], weights[1], variances[1]))
    eq = sp.expand(sp.numer(sp.together(g * (zz - a1_ * v1_ / (1 - v1_ * g) - a2_ * v2_ / (1 - v2_ * g)) - 1)))
    coeffs = [sp.lambdify(zz, c, "numpy") for c in sp.Poly(eq, g).all_coeffs()]
    out = []
    for x in xs:
        roots = np.roots([complex(c(x)) for c in coeffs])
        out.append(max(0.0, -roots.imag.min()) / np.pi)
    return np.array(out)


def _twin_silverstein(d: Derivation, rng) -> float:
    from spectral_theory.rmt import Silverstein
    err = 0.0
    for _ in range(2):
        w = rng.uniform(0.05, 0.45, 2)
        v = np.array([rng.uniform(0.2, 1.0), rng.uniform(8.0, 30.0)])          # separated bulks
        law = Silverstein(w, v)
        mine = _critical_edges(d, w, v)
        theirs = np.array([e for b in law.support() for e in b])
        if mine.shape != theirs.shape:
            return np.inf
        err = max(err, np.max(np.abs(mine - theirs) / theirs.max()))
        xs = np.concatenate([np.linspace(lo, hi, 40)[1:-1] for lo, hi in law.support()])
        ref = _density_from_cubic(w, v, xs)
        err = max(err, np.max(np.abs(law.pdf(xs) - ref)) / ref.max())
        tau_ = rng.uniform(0.1, 10.0)
        push = law.jacobian_pushforward(tau_)
        mus = np.concatenate([np.linspace(-tau_ / (lo + tau_), -tau_ / (hi + tau_), 30)[1:-1]
                              for lo, hi in law.support()])
        lam_f, fac_f = d.numeric("lambda_of_mu"), d.numeric("density_factor")
        pred = law.pdf(lam_f(mus, tau_)) * fac_f(mus, tau_)
        err = max(err, np.max(np.abs(push.pdf(mus) - pred)) / pred.max())
    return err
