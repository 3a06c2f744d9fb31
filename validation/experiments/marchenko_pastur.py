r"""The Marchenko-Pastur law against Wishart samples (Marchenko & Pastur 1967; Johnstone 2001).

``st.rmt.MarchenkoPastur(aspect=c)`` is the limit spectrum of :math:`S = XX^\top/N` for a p x N
matrix X of iid standard normal entries, :math:`c = p/N`; every spectral law of the package is built on
it or its free-probability generalisations.  Measured on sampled matrices at three sizes (fixed c;
min(p, N) = 50, 100, 200 nonzero eigenvalues in the quick preset):

* the edges :math:`(1 \pm \sqrt c)^2`: mean extreme (nonzero) eigenvalue, extrapolated to infinite size
  with the :math:`N^{-2/3}` correction of a square-root edge (``validation.experiment.extrapolate``);
* the second moment :math:`1 + c`: mean of :math:`\operatorname{tr} S^2/p`, extrapolated with
  :math:`1/N` (its exact finite-size value is :math:`1 + c + 1/N`);
* the Kolmogorov-Smirnov distance of the nonzero eigenvalues to the law (predicted 0): bound
  :math:`(2 + \log n)/n` for n eigenvalues (cdf jumps 1/n, rigidity at the :math:`\log n/n` scale;
  Pillai & Yin 2014), no allowance from the law;
* the Tracy-Widom fluctuation of the largest eigenvalue: :math:`N^{2/3}` times its standard deviation
  tends to the TW1 standard deviation 1.2680 (``tracy_widom.moments(1)``, Bornemann's Fredholm
  determinants; Tracy & Widom 1996) times the
  constant of the edge scale ``spiked.edge_scale`` (Johnstone 2001), extrapolated with :math:`N^{-2/3}`.
"""
from __future__ import annotations

import numpy as np

from spectral_theory import rmt
from spectral_theory import spiked as sp
from spectral_theory import tracy_widom
from validation.experiment import Check, Figure, Outcome, Series, experiment, scaling_check

ASPECTS = (0.25, 2.0)


def _wishart_spectra(p, n, reps, rng):
    """Nonzero eigenvalues (ascending) of X X^T / n for ``reps`` p x n standard normal X: (reps, min(p, n))."""
    out = []
    for _ in range(reps):
        X = rng.standard_normal((p, n))
        G = X @ X.T if p <= n else X.T @ X                      # the nonzero spectrum of the smaller Gram
        out.append(np.linalg.eigvalsh(G) / n)
    return np.array(out)


@experiment(
    "marchenko_pastur_wishart",
    claim="The spectrum of X X^T / N for a p x N Gaussian matrix tends to the Marchenko-Pastur law of aspect "
          "c = p/N (edges (1 +- sqrt c)^2, second moment 1 + c, the whole cdf), and its largest eigenvalue "
          "fluctuates on the Tracy-Widom scale with the TW1 standard deviation; c < 1 and c > 1.",
    source="Marchenko & Pastur 1967; Johnstone, Ann. Statist. 29 (2001); Tracy & Widom 1996",
    compares=("spectral_theory.rmt.marchenko_pastur.MarchenkoPastur.__init__",
              "spectral_theory.rmt.density.SpectralDensity.cdf", "spectral_theory.spiked.edge_scale",
              "spectral_theory.tracy_widom.moments"),
    tags=("rmt", "marchenko-pastur"))
def run(ctx):
    sizes = (50, 100, 200) if ctx.quick else (200, 400, 800)    # nonzero eigenvalues: min(p, N)
    reps = 100 if ctx.quick else 300
    checks, panels = [], []
    for c in ASPECTS:
        law = rmt.MarchenkoPastur(aspect=c)
        ps = [n if c <= 1 else int(round(n * c)) for n in sizes]
        ns = [int(round(p / c)) for p in ps]
        spectra = [_wishart_spectra(p, n, reps, ctx.rng) for p, n in zip(ps, ns)]
        tag = f"aspect c={c:g}"

        def stats(fn):
            v = [fn(s_, p) for s_, p in zip(spectra, ps)]
            return np.array([x.mean() for x in v]), np.array([x.std(ddof=1) / np.sqrt(reps) for x in v])

        checks.append(scaling_check(f"{tag}: upper edge", law.upper_edge, *stats(lambda s_, p: s_[:, -1]), ns, 2 / 3,
                                    note="largest eigenvalue; Tracy-Widom edge"))
        checks.append(scaling_check(f"{tag}: lower edge", law.lower_edge, *stats(lambda s_, p: s_[:, 0]), ns, 2 / 3,
                                    note="smallest nonzero eigenvalue; soft edge"))
        # tr S^2 / p over the nonzero spectrum: the sum over min(p, n) eigenvalues, divided by p
        checks.append(scaling_check(f"{tag}: second moment tr S^2 / p", law.moment(2),
                                    *stats(lambda s_, p: np.sum(s_**2, axis=1) / p), ns, 1.0,
                                    note="exact finite-size value 1 + c + 1/N"))
        # N^(2/3) sd(largest eigenvalue) -> TW1 sd x the edge scale's constant (edge_scale at N = 1)
        sd = np.array([s_[:, -1].std(ddof=1) * n ** (2 / 3) for s_, n in zip(spectra, ns)])
        checks.append(scaling_check(f"{tag}: N^(2/3) x sd of the largest eigenvalue", tracy_widom.moments(1)[1] * sp.edge_scale(c, 1.0),
                                    sd, sd / np.sqrt(2 * (reps - 1)), ns, 2 / 3,
                                    note="sampling error of a standard deviation; TW1 standard deviation 1.2680"))
        ks = np.array([law.ks_distance(row, exclude_atom=0.0) for row in spectra[-1]])
        n_ev = spectra[-1].shape[1]
        checks.append(Check(f"{tag}: KS distance of the nonzero eigenvalues to the law (p={ps[-1]})", 0.0, ks.mean(),
                            ks.std(ddof=1) / np.sqrt(reps), finite_size=(2 + np.log(n_ev)) / n_ev,
                            note="cdf jumps + rigidity (2 + log n)/n", dof=reps - 1))
        grid = np.linspace(law.lower_edge, law.upper_edge, 300)
        panels.append(dict(title=f"c = {c:g}, p = {ps[-1]}, {reps} matrices", xlabel="eigenvalue of X X^T / N",
                           ylabel="density of the nonzero part",
                           series=[Series("hist", spectra[-1].ravel(), label="Wishart samples"),
                                   Series("line", grid, law.pdf(grid) / law.continuous_mass, label="Marchenko-Pastur"),
                                   Series("vline", [law.lower_edge, law.upper_edge], label="edges")]))
    return Outcome(checks, [Figure("marchenko_pastur_wishart", "Marchenko-Pastur law against Wishart samples",
                                   panels)],
                   parameters=dict(nonzero_eigenvalues=list(sizes), aspects=list(ASPECTS), replicates=reps),
                   notes="Nonzero spectrum from the smaller Gram matrix (p x p for c <= 1, N x N for c > 1).")
