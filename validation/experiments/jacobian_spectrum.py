r"""Score-Jacobian spectrum of a linear-manifold model along the forward process.

Model: :math:`x_0 = F z`, F (D x m) with iid N(0, 1/D) entries, :math:`z \sim \mathcal N(0,
\operatorname{diag}(v))` in blocks :math:`(m_k, v_k)` (``st.LinearManifold(basis="gaussian")``).  Its
covariance :math:`C = F\operatorname{diag}(v)F^\top` has, as :math:`D \to \infty` at fixed
:math:`m_k/D`, the Silverstein law (``st.rmt.Silverstein(fractions=[m_k/D], variances=[v_k])``, an atom
:math:`1 - m/D` at 0).  The exact score Jacobian at noise :math:`\tau = \sigma^2/\alpha^2` satisfies
:math:`\sigma^2 J = -\tau(C + \tau I)^{-1}` in any schedule, so the spectrum of :math:`\sigma^2 J`
(= that of the VE :math:`\tau J`) is the pushforward of the Silverstein law by
:math:`\lambda \mapsto -\tau/(\lambda + \tau)`: an atom of weight :math:`1 - m/D` at -1 and one bulk
per separated block (Ventura et al., arXiv 2410.05898).

Measured at forward-noised points of a VP process at several :math:`\tau`, over R independent models
(fresh F each): dense ``eigvalsh`` of the model's exact Jacobian, the top eigenvalue by matrix-free
Lanczos (exact JVPs), and once by central finite differences of the score (the route used for trained
networks).  Checks and their finite-size bounds:

* eigenvalue fraction below each gap (atom-bulk, bulk-bulk): exact separation (Bai & Silverstein 1999)
  makes the count exact for large D; bound 1/D (one eigenvalue straddling a gap edge).
* edges (top of the spectrum by Lanczos; bottom of the bulk above the atom by ``eigvalsh``): measured
  on R models at D/4, D/2 and D (same block fractions) and extrapolated to infinite size with the
  :math:`D^{-2/3}` correction of a square-root edge (the Tracy-Widom scale; Johnstone 2001), by weighted
  least squares (``validation.experiment.extrapolate``); no allowance from the predicted law.
* Kolmogorov-Smirnov distance of the empirical spectral cdf to the predicted cdf: predicted 0; bound
  :math:`(2 + \log D)/D` (1/D cdf jumps, one eigenvalue per edge, bulk rigidity at the
  :math:`\log D / D` scale: Erdős-Yau-Yin; Pillai-Yin 2014 for sample covariances).
* mean eigenvalue of :math:`\tau J`, exactly :math:`(1/D)\sum_i -\tau/(\lambda_i + \tau)` at finite D,
  predicted :math:`\tau g(-\tau)` with g the Stieltjes transform of the law; bound (number of blocks)/D
  (the real-case mean correction of the Bai-Silverstein CLT for a statistic bounded by 1 is at most 1
  per bulk, one per block, divided by D for the normalised trace).
"""
from __future__ import annotations

import numpy as np

import spectral_theory as st
from spectral_theory import rmt
from validation.experiment import Check, Figure, Outcome, Series, experiment, standard_error, scaling_check
from validation.jacobians import analytic, finite_difference, lanczos_extreme, model_jvp
from validation.samplers import forward


@experiment(
    "jacobian_spectrum",
    claim="Along the forward process the score-Jacobian spectrum of a linear-manifold model is the "
          "Silverstein law pushed forward by lambda -> -tau/(lambda + tau), with an atom 1 - m/D at -1.",
    source="Ventura, Achilli, Silvestri, Lucibello, Ambrogioni, arXiv 2410.05898; Silverstein & Bai 1995",
    compares=("spectral_theory.rmt.silverstein.Silverstein.__init__", "spectral_theory.rmt.density.SpectralDensity.jacobian_pushforward"),
    tags=("rmt", "jacobian", "linear-manifold"),
)
def run(ctx):
    rng = ctx.rng
    dim = 400 if ctx.quick else 1200           # D^3 per dense spectrum and Lanczos run
    replicates = 11 if ctx.quick else 31          # >= MIN_DOF + 1: Student-t at >= 10 dof
    blocks = [(dim // 5, 4.0), (dim // 5, 0.25)]
    taus = [0.05, 0.5]
    sched = st.VP()
    law_C = rmt.Silverstein(fractions=[m / dim for m, _ in blocks], variances=[v for _, v in blocks])

    models = [st.LinearManifold(dim, blocks, basis="gaussian", rng=rng) for _ in range(replicates)]
    # edges by finite-size scaling: the same block fractions at dim/4 and dim/2 as well
    small = {d: [st.LinearManifold(d, [(d // 5, v) for _, v in blocks], basis="gaussian", rng=rng)
                 for _ in range(replicates)] for d in (dim // 4, dim // 2)}
    sizes = (dim // 4, dim // 2, dim)
    checks, panels, fd_dev, lanczos_dev = [], [], [], []
    for tau in taus:
        law = law_C.jacobian_pushforward(tau)
        t = sched.time_of_tau(tau)
        sigma, alpha = sched.sigma(t), sched.alpha(t)
        spectra, tops = [], []
        for model in models:
            _, xt = forward(model, sched, t, 1, rng=rng)
            lam = sigma**2 * analytic(model, xt[0], sigma, alpha)                     # ascending, (D,)
            spectra.append(lam)
            top = lanczos_extreme(model_jvp(model), xt[0], sigma, alpha, k=1, which="largest", jvp=True, rng=rng)
            tops.append(sigma**2 * top.eigenvalues[-1])
            lanczos_dev.append(abs(tops[-1] - lam[-1]))
        if tau == taus[0]:                                                            # the black-box route, once
            model = models[0]
            _, xt = forward(model, sched, t, 1, rng=rng)
            fd = sigma**2 * finite_difference(model.score, xt[0], sigma, alpha)
            fd_dev.append(np.max(np.abs(fd - spectra[0])))
            spectra_fd = fd
        spectra = np.array(spectra)                                                   # (R, D)
        R = replicates

        def mean_se(values):
            values = np.asarray(values, dtype=float)
            return values.mean(), standard_error(values)

        # counts below gaps and the KS distance are invariant under the increasing map lambda ->
        # -tau/(lambda + tau): checked at the first tau only (the same numbers at every tau)
        for gap in (law.gaps() if tau == taus[0] else []):
            cut = 0.5 * (gap.lo + gap.hi)
            m, se = mean_se((spectra < cut).mean(axis=1))
            checks.append(Check(f"tau={tau:g}: fraction below the {gap.kind} gap", gap.mass_below, m, se,
                                finite_size=1.0 / dim, note="exact separation; one eigenvalue may straddle", dof=R - 1))
        # edges: top by Lanczos, bottom of the lowest bulk by eigvalsh (Lanczos cannot resolve the
        # degenerate atom at -1 below it), at three sizes, extrapolated with the square-root edge's N^(-2/3)
        (lo_edge, _), (_, hi_edge) = law.support()[0], law.support()[-1]
        atom = -1.0 + 1e-9
        top_ms, bot_ms = [mean_se(tops)], [mean_se([y_[y_ > atom].min() for y_ in spectra])]
        for d, ms in small.items():
            t_d, b_d = [], []
            for model in ms:
                _, xt = forward(model, sched, t, 1, rng=rng)
                y = sigma**2 * analytic(model, xt[0], sigma, alpha)
                b_d.append(y[y > atom].min())
                top = lanczos_extreme(model_jvp(model), xt[0], sigma, alpha, k=1, which="largest", jvp=True, rng=rng)
                t_d.append(sigma**2 * top.eigenvalues[-1])
            top_ms.insert(-1, mean_se(t_d))
            bot_ms.insert(-1, mean_se(b_d))
        for label, pred, ms in (("top edge (Lanczos)", hi_edge, top_ms), ("bottom edge of the bulks", lo_edge, bot_ms)):
            ms = np.array(ms)
            checks.append(scaling_check(f"tau={tau:g}: {label}", pred, ms[:, 0], ms[:, 1], sizes, 2 / 3,
                                        note=f"{replicates} models per size"))
        # KS distance of the whole spectrum (atom included) to the predicted cdf
        if tau == taus[0]:
            m, se = mean_se([law.ks_distance(s) for s in spectra])
            checks.append(Check(f"tau={tau:g}: KS distance to the predicted law", 0.0, m, se,
                                finite_size=(2 + np.log(dim)) / dim, note="cdf jumps + edges + rigidity", dof=R - 1))
        # mean of tau J: exact trace formula against tau g(-tau)
        predicted_mean = float(np.real(tau * law_C.stieltjes(-tau)))
        m, se = mean_se(spectra.mean(axis=1))
        checks.append(Check(f"tau={tau:g}: mean eigenvalue of tau J", predicted_mean, m, se,
                            finite_size=len(blocks) / dim, note="Bai-Silverstein CLT mean term, one per block", dof=R - 1))
        if tau == taus[0]:
            checks.append(Check(f"tau={tau:g}: mean eigenvalue of tau J (finite differences, one model)",
                                predicted_mean, spectra_fd.mean(), spectra.mean(axis=1).std(ddof=1),
                                finite_size=len(blocks) / dim,
                                note="one model: standard error = replicate spread", dof=R - 1))
        # figure panel: histogram of the continuous part over the predicted density
        cont = spectra[spectra > atom]
        xs = np.concatenate([np.r_[np.linspace(lo, hi, 200), np.nan] for lo, hi in law.support()])   # nan: no line across gaps
        edges = [e for b in law.support() for e in b]
        panels.append(dict(
            title=f"$\\tau = {tau:g}$ (atom at $-1$, weight {1 - sum(m for m, _ in blocks) / dim:.2f}, not shown)",
            xlabel="eigenvalue of $\\tau J$", ylabel="density of the continuous part",
            series=[Series("hist", cont, label=f"simulation ($D={dim}$, {R} models)"),
                    Series("line", xs, np.where(np.isnan(xs), np.nan, law.pdf(np.nan_to_num(xs))) / law.continuous_mass,
                           label="theory"),
                    Series("vline", edges, label="support edges")]))
    return Outcome(
        checks, [Figure("jacobian_spectrum", "Score-Jacobian spectrum of a linear manifold", panels)],
        parameters=dict(dim=dim, blocks=blocks, basis="gaussian", taus=taus, replicates=replicates,
                        schedule=repr(sched), max_abs_fd_minus_analytic=max(fd_dev),
                        max_abs_lanczos_minus_dense=max(lanczos_dev)),
        notes=f"finite differences vs exact Jacobian: max eigenvalue deviation {max(fd_dev):.2g}; "
              f"Lanczos top eigenvalue vs dense: {max(lanczos_dev):.2g}.",
    )
