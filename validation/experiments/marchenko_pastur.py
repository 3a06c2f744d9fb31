r"""The Marchenko-Pastur law against Wishart samples (Marchenko & Pastur 1967; Johnstone 2001).

``st.rmt.MarchenkoPastur(aspect=c)`` is the limit spectrum of :math:`S = XX^\top/N` for a p x N
matrix X of iid standard normal entries, :math:`c = p/N`; every spectral law of the package is built on
it or its free-probability generalisations.  Measured on sampled Wishart matrices at three sizes (fixed c;
min(p, N) = 50, 100, 200 nonzero eigenvalues in the quick preset):

* the edges :math:`(1 \pm \sqrt c)^2`: mean extreme (nonzero) eigenvalue, extrapolated to infinite size
  with the :math:`N^{-2/3}` correction of a square-root edge (``validation.experiment.extrapolate``);
* the second moment :math:`1 + c`: mean of :math:`\operatorname{tr} S^2/p`, extrapolated with
  :math:`1/N` (its exact finite-size value is :math:`1 + c + 1/N`);
* the Kolmogorov-Smirnov distance of the nonzero eigenvalues to the law (predicted 0): bound
  :math:`(2 + \log n)/n` for n eigenvalues (cdf jumps 1/n, rigidity at the :math:`\log n/n` scale;
  Pillai & Yin 2014), no allowance from the law.

The Tracy-Widom fluctuation of the largest eigenvalue, :math:`\lambda_{\max} \approx (1 + \sqrt c)^2 +
N^{-2/3} K_c\, TW_1` with :math:`K_c = (1 + \sqrt c)(1 + 1/\sqrt c)^{1/3}` (``spiked.edge_scale``;
Johnstone 2001), needs thousands of replicates to resolve a scale to a few percent.  They come from the
Dumitriu-Edelman bidiagonal model (Dumitriu & Edelman, J. Math. Phys. 43 (2002), Thm 3.4 at
:math:`\beta = 1`): for :math:`m = \min(p, N)`, :math:`M = \max(p, N)` and B lower bidiagonal with
independent :math:`B_{ii} \sim \chi_{M - i + 1}`, :math:`B_{i+1, i} \sim \chi_{m - i}`, the eigenvalues
of the tridiagonal :math:`BB^\top` have exactly the law of the nonzero eigenvalues of :math:`XX^\top`
(exact in law at every size, not an approximation), so a largest eigenvalue costs O(m) (bisection on
Sturm counts, :func:`largest_wishart_eigenvalues`) instead of a dense :math:`O(m^3)` eigensolve.  On
these samples, at five sizes:

* :math:`N^{2/3}` times the standard deviation of :math:`\lambda_{\max}` tends to
  :math:`\mathrm{sd}(TW_1) K_c` (``tracy_widom.moments(1)``, Bornemann's Fredholm determinants;
  Tracy & Widom 1996);
* :math:`N^{2/3}` times the spread :math:`q_{0.9} - q_{0.1}` of its quantiles tends to :math:`K_c` times
  the TW1 spread (``tracy_widom.quantile``);

both extrapolated with :math:`N^{-2/3}` (with the centring and scaling of Johnstone 2001 the law of the
rescaled largest eigenvalue is TW1 up to :math:`O(N^{-2/3})`, Ma 2012, and those constants differ from
:math:`N^{1/3} K_c` and the limit edge by relative :math:`O(1/N)`; a spread and a standard deviation do
not see the centring).  The bidiagonal samples are tied to actual Wishart samples by one more check:
the dense largest eigenvalues, standardised by the bidiagonal mean and standard deviation at the same
(p, N), have standard deviation 1.
"""
from __future__ import annotations

import numpy as np

from spectral_theory import rmt
from spectral_theory import spiked as sp
from spectral_theory import tracy_widom
from validation.experiment import Check, Figure, Outcome, Series, experiment, standard_error, scaling_check
from validation.wishart import largest_wishart_eigenvalues, sd_stderr

ASPECTS = (0.25, 2.0)
SPREAD = (0.1, 0.9)          # quantile levels of the spread check


def _wishart_spectra(p, n, reps, rng):
    """Nonzero eigenvalues (ascending) of X X^T / n for ``reps`` p x n standard normal X: (reps, min(p, n))."""
    out = []
    for _ in range(reps):
        X = rng.standard_normal((p, n))
        G = X @ X.T if p <= n else X.T @ X                      # the nonzero spectrum of the smaller Gram
        out.append(np.linalg.eigvalsh(G) / n)
    return np.array(out)


def _sd_and_se(x):
    """Standard deviation and its delta-method standard error (``validation.wishart.sd_stderr``)."""
    return x.std(ddof=1), sd_stderr(x)


def _spread_and_se(x, rng, n_boot=200):
    """Quantile spread q_0.9 - q_0.1 and its bootstrap standard error."""
    q = np.quantile(x, SPREAD)
    boot = np.quantile(x[rng.integers(0, x.size, (n_boot, x.size))], SPREAD, axis=1)
    return q[1] - q[0], (boot[1] - boot[0]).std(ddof=1)


def _shape(c, m):
    """(p, N) with min(p, N) = m nonzero eigenvalues at aspect c = p/N."""
    p = m if c <= 1 else int(round(m * c))
    return p, int(round(p / c))


@experiment(
    "marchenko_pastur_wishart",
    claim="The spectrum of X X^T / N for a p x N Gaussian matrix tends to the Marchenko-Pastur law of aspect "
          "c = p/N (edges (1 +- sqrt c)^2, second moment 1 + c, the whole cdf), and its largest eigenvalue "
          "fluctuates as N^(-2/3) (1 + sqrt c)(1 + 1/sqrt c)^(1/3) TW1 (standard deviation and quantile "
          "spread of the Tracy-Widom law); c < 1 and c > 1.",
    source="Marchenko & Pastur 1967; Johnstone, Ann. Statist. 29 (2001); Tracy & Widom 1996; "
           "Dumitriu & Edelman, J. Math. Phys. 43 (2002) (bidiagonal model, exact in law)",
    compares=("spectral_theory.rmt.marchenko_pastur.MarchenkoPastur.__init__",
              "spectral_theory.rmt.density.SpectralDensity.cdf", "spectral_theory.spiked.edge_scale",
              "spectral_theory.tracy_widom.moments", "spectral_theory.tracy_widom.quantile"),
    tags=("rmt", "marchenko-pastur", "tracy-widom"))
def run(ctx):
    sizes = (50, 100, 200) if ctx.quick else (100, 200, 400)    # dense Wishart: nonzero eigenvalues min(p, N)
    reps = 100 if ctx.quick else 300
    # bidiagonal model: five sizes (containing the dense ones), many replicates
    tw_sizes = (50, 100, 200, 400, 800) if ctx.quick else (100, 200, 400, 800, 1600)
    tw_reps = 5000 if ctx.quick else 20000
    tw_sd = tracy_widom.moments(1)[1]
    tw_spread = tracy_widom.quantile(SPREAD[1], 1) - tracy_widom.quantile(SPREAD[0], 1)
    checks, panels = [], []
    for c in ASPECTS:
        law = rmt.MarchenkoPastur(aspect=c)
        ps, ns = zip(*(_shape(c, m) for m in sizes))
        spectra = [_wishart_spectra(p, n, reps, ctx.rng) for p, n in zip(ps, ns)]
        tag = f"aspect c={c:g}"

        def stats(fn):
            v = [fn(s_, p) for s_, p in zip(spectra, ps)]
            return np.array([x.mean() for x in v]), np.array([standard_error(x) for x in v])

        checks.append(scaling_check(f"{tag}: upper edge", law.upper_edge, *stats(lambda s_, p: s_[:, -1]), ns, 2 / 3,
                                    note="largest eigenvalue; Tracy-Widom edge"))
        checks.append(scaling_check(f"{tag}: lower edge", law.lower_edge, *stats(lambda s_, p: s_[:, 0]), ns, 2 / 3,
                                    note="smallest nonzero eigenvalue; soft edge"))
        # tr S^2 / p over the nonzero spectrum: the sum over min(p, n) eigenvalues, divided by p
        checks.append(scaling_check(f"{tag}: second moment tr S^2 / p", law.moment(2),
                                    *stats(lambda s_, p: np.sum(s_**2, axis=1) / p), ns, 1.0,
                                    note="exact finite-size value 1 + c + 1/N"))
        ks = np.array([law.ks_distance(row, exclude_atom=0.0) for row in spectra[-1]])
        n_ev = spectra[-1].shape[1]
        checks.append(Check(f"{tag}: KS distance of the nonzero eigenvalues to the law (p={ps[-1]})", 0.0, ks.mean(),
                            standard_error(ks), finite_size=(2 + np.log(n_ev)) / n_ev,
                            note="cdf jumps + rigidity (2 + log n)/n", dof=reps - 1))

        # Tracy-Widom fluctuations on the bidiagonal model: N^(2/3) lambda_max at five sizes
        tw_shapes = [_shape(c, m) for m in tw_sizes]
        tw_ns = [n for _, n in tw_shapes]
        top = {m: largest_wishart_eigenvalues(p, n, tw_reps, ctx.rng) for m, (p, n) in zip(tw_sizes, tw_shapes)}
        scaled = [top[m] * n ** (2 / 3) for m, n in zip(tw_sizes, tw_ns)]
        scale = sp.edge_scale(c, 1.0)                     # K_c: edge_scale(c, N) = N^(-2/3) K_c
        sd, sd_se = np.array([_sd_and_se(x) for x in scaled]).T
        checks.append(scaling_check(f"{tag}: N^(2/3) x sd of the largest eigenvalue (bidiagonal model)",
                                    tw_sd * scale, sd, sd_se, tw_ns, 2 / 3,
                                    note=f"{tw_reps} replicates per size; delta-method se of a standard deviation; "
                                         "TW1 standard deviation 1.2680"))
        spread, spread_se = np.array([_spread_and_se(x, ctx.rng) for x in scaled]).T
        checks.append(scaling_check(f"{tag}: N^(2/3) x (q0.9 - q0.1) of the largest eigenvalue (bidiagonal model)",
                                    tw_spread * scale, spread, spread_se, tw_ns, 2 / 3,
                                    note=f"{tw_reps} replicates per size; bootstrap se; TW1 quantile spread"))
        # actual Wishart samples against the bidiagonal model at the same (p, N): standardised by its
        # mean and sd there, the dense largest eigenvalues have standard deviation 1 (exactness in law)
        u = np.concatenate([(s_[:, -1] - top[m].mean()) / top[m].std(ddof=1) for s_, m in zip(spectra, sizes)])
        u_sd, u_se = _sd_and_se(u)
        ref_se = max(_sd_and_se(top[m])[1] / top[m].std(ddof=1) for m in sizes)   # the reference's own error
        checks.append(Check(f"{tag}: sd of Wishart largest eigenvalues in bidiagonal-model units (p={list(ps)})", 1.0,
                            u_sd, float(np.hypot(u_se, ref_se)),
                            note=f"{len(u)} dense samples; exact in law (Dumitriu & Edelman 2002)"))

        grid = np.linspace(law.lower_edge, law.upper_edge, 300)
        panels.append(dict(title=f"c = {c:g}, p = {ps[-1]}, {reps} matrices", xlabel="eigenvalue of X X^T / N",
                           ylabel="density of the nonzero part",
                           series=[Series("hist", spectra[-1].ravel(), label="Wishart samples"),
                                   Series("line", grid, law.pdf(grid) / law.continuous_mass, label="Marchenko-Pastur"),
                                   Series("vline", [law.lower_edge, law.upper_edge], label="edges")]))
        s_grid = np.linspace(-5.0, 4.0, 181)
        m_top = tw_sizes[-1]
        levels = (np.arange(200) + 0.5) / 200                # the sampled cdf at 200 quantiles
        centred = np.quantile((top[m_top] - law.upper_edge) / sp.edge_scale(c, tw_ns[-1]), levels)
        panels.append(dict(title=f"c = {c:g}: largest eigenvalue, m = {m_top}, {tw_reps} bidiagonal samples",
                           xlabel="(lambda_max - (1 + sqrt c)^2) / edge scale", ylabel="distribution function",
                           series=[Series("step", centred, levels,
                                          label="bidiagonal model", group="tw"),
                                   Series("line", s_grid, tracy_widom.cdf(s_grid, 1), label="TW1", group="tw")]))
    return Outcome(checks, [Figure("marchenko_pastur_wishart", "Marchenko-Pastur law against Wishart samples",
                                   panels, caption="Bidiagonal samples centred at the limit edge (1 + sqrt c)^2: "
                                                   "their cdf differs from TW1 by an O(N^(-1/3)) shift (the "
                                                   "finite-N centring), which spreads and standard deviations "
                                                   "do not see.")],
                   parameters=dict(nonzero_eigenvalues=list(sizes), aspects=list(ASPECTS), replicates=reps,
                                   bidiagonal_sizes=list(tw_sizes), bidiagonal_replicates=tw_reps),
                   notes="Nonzero spectrum from the smaller Gram matrix (p x p for c <= 1, N x N for c > 1); "
                         "Tracy-Widom checks on the Dumitriu-Edelman bidiagonal model (exact in law).")
