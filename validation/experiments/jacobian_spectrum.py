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
* edges (top of the spectrum by Lanczos; bottom of the bulk above the atom by ``eigvalsh``): the
  extreme eigenvalue fluctuates on the edge scale :math:`\gamma`, defined by D x (predicted mass
  within :math:`\gamma` of the edge) = 1.  For the GOE-normalised edge the Tracy-Widom mean shift is
  0.43 :math:`\gamma` (TW1 mean -1.21 in units of 0.36 :math:`\gamma`), so the bound is :math:`\gamma`;
  the replicate spread gives the standard error.
* Kolmogorov-Smirnov distance of the empirical spectral cdf to the predicted cdf: predicted 0; bound
  :math:`(2 + \log D)/D` (1/D cdf jumps, one eigenvalue per edge, bulk rigidity at the
  :math:`\log D / D` scale: Erdős-Yau-Yin; Pillai-Yin 2014 for sample covariances).
* mean eigenvalue of :math:`\tau J`, exactly :math:`(1/D)\sum_i -\tau/(\lambda_i + \tau)` at finite D,
  predicted :math:`\tau g(-\tau)` with g the Stieltjes transform of the law; bound (number of bulks)/D
  (the real-case mean correction of the Bai-Silverstein CLT for a statistic bounded by 1 is at most 1
  per bulk, divided by D for the normalised trace).
"""
from __future__ import annotations

import numpy as np

import spectral_theory as st
from spectral_theory import rmt
from validation.experiment import Check, Figure, Outcome, Series, experiment
from validation.jacobians import analytic, finite_difference, lanczos_extreme, model_jvp
from validation.samplers import forward


@experiment(
    "jacobian_spectrum",
    claim="Along the forward process the score-Jacobian spectrum of a linear-manifold model is the "
          "Silverstein law pushed forward by lambda -> -tau/(lambda + tau), with an atom 1 - m/D at -1.",
    source="Ventura, Achilli, Silvestri, Lucibello, Ambrogioni, arXiv 2410.05898; Silverstein & Bai 1995",
    tags=("rmt", "jacobian", "linear-manifold"),
)
def run(ctx):
    rng = ctx.rng
    dim = 400 if ctx.quick else 2000
    replicates = 4 if ctx.quick else 8
    blocks = [(dim // 5, 4.0), (dim // 5, 0.25)]
    taus = [0.05, 0.5]
    sched = st.VP()
    law_C = rmt.Silverstein(fractions=[m / dim for m, _ in blocks], variances=[v for _, v in blocks])

    models = [st.LinearManifold(dim, blocks, basis="gaussian", rng=rng) for _ in range(replicates)]
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
            return values.mean(), values.std(ddof=1) / np.sqrt(values.size)

        # counts below gaps and the KS distance are invariant under the increasing map lambda ->
        # -tau/(lambda + tau): checked at the first tau only (the same numbers at every tau)
        for gap in (law.gaps() if tau == taus[0] else []):
            cut = 0.5 * (gap.lo + gap.hi)
            m, se = mean_se((spectra < cut).mean(axis=1))
            checks.append(Check(f"tau={tau:g}: fraction below the {gap.kind} gap", gap.mass_below, m, se,
                                finite_size=1.0 / dim, note="exact separation; one eigenvalue may straddle", dof=R - 1))
        # edges: top by Lanczos, bottom of the lowest bulk by eigvalsh (Lanczos cannot resolve the
        # degenerate atom at -1 below it)
        (lo_edge, _), (_, hi_edge) = law.support()[0], law.support()[-1]
        m, se = mean_se(tops)
        checks.append(Check(f"tau={tau:g}: top edge (Lanczos)", hi_edge, m, se,
                            finite_size=2 * law.edge_scale(hi_edge, dim), note="2 Tracy-Widom scales", dof=R - 1))
        atom = -1.0 + 1e-9
        m, se = mean_se([s[s > atom].min() for s in spectra])
        checks.append(Check(f"tau={tau:g}: bottom edge of the bulks", lo_edge, m, se,
                            finite_size=2 * law.edge_scale(lo_edge, dim), note="2 Tracy-Widom scales", dof=R - 1))
        # KS distance of the whole spectrum (atom included) to the predicted cdf
        if tau == taus[0]:
            m, se = mean_se([law.ks_distance(s) for s in spectra])
            checks.append(Check(f"tau={tau:g}: KS distance to the predicted law", 0.0, m, se,
                                finite_size=(2 + np.log(dim)) / dim, note="cdf jumps + edges + rigidity", dof=R - 1))
        # mean of tau J: exact trace formula against tau g(-tau)
        predicted_mean = float(np.real(tau * law_C.stieltjes(-tau)))
        m, se = mean_se(spectra.mean(axis=1))
        checks.append(Check(f"tau={tau:g}: mean eigenvalue of tau J", predicted_mean, m, se,
                            finite_size=len(law_C.support()) / dim, note="Bai-Silverstein CLT mean term", dof=R - 1))
        if tau == taus[0]:
            checks.append(Check(f"tau={tau:g}: mean eigenvalue of tau J (finite differences, one model)",
                                predicted_mean, spectra_fd.mean(), spectra.mean(axis=1).std(ddof=1),
                                finite_size=len(law_C.support()) / dim,
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
