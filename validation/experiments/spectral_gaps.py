r"""Spectral gaps of the score Jacobian and the three geometric phases (issue 7; Ventura et al.,
arXiv 2410.05898; theory/spectral_gaps.md).  Five experiments, each comparing ``spectral_theory``'s
predictions (``jacobian_spectrum``, ``spectral_gaps``, ``phases``, ``collapse_tau``,
``predicted_drop``) with sampled matrices, exact scores of finite training sets, finite-difference
Jacobians and reverse-process trajectories.

Finite-size bounds used throughout (all derived, none tuned):

* **edges, peaks, windows, phase boundaries, drops** (everything set by the spectrum's square-root
  edges): measured at three sizes D (same block fractions) and extrapolated to infinite size with the
  :math:`D^{-2/3}` correction of the Tracy-Widom edge scale (``validation.experiment.extrapolate``,
  weighted least squares; the extrapolated value and its error are the measurement): no allowance
  is computed from the predicted law.
* **Kolmogorov-Smirnov** distance of the m tangent eigenvalues to the law conditioned on its bulks:
  cdf jumps of 1/m and eigenvalue rigidity at the :math:`\log m/m` scale (Erdős-Yau-Yin; Pillai-Yin
  2014 for sample covariances): bound :math:`(2 + \log m)/m`.  The KS distance is invariant under the
  monotone map, so it is one check per model, not one per :math:`\tau`.
* **counts** below a gap are integers and exact (exact separation, Bai & Silverstein 1999): bound 1/2.
"""
from __future__ import annotations

import numpy as np

import spectral_theory as st
from spectral_theory.collapse import EMPIRICAL_MARGIN, empirical_collapse_parameters
from spectral_theory.phase_diagram import CONSOLIDATION, COVERAGE, TRIVIAL
from validation.experiment import Check, Figure, Outcome, Series, experiment, standard_error, scaling_check

SOURCE = "Ventura, Achilli, Silvestri, Lucibello, Ambrogioni, arXiv 2410.05898 (ICLR 2025)"
DELTA = 0.1                       # resolution threshold of the phase boundaries
EPS = np.finfo(float).eps


def _map(lam, tau):
    return -tau / (np.asarray(lam) + tau)




def _sample_spectra(D, blocks, reps, rng):
    """Eigenvalues of C (ascending, nonzero part) for ``reps`` independent Gaussian-basis models."""
    m = sum(b[0] for b in blocks)
    root_v = np.sqrt(np.concatenate([np.full(mk, vk) for mk, vk in blocks]))
    out = []
    for r in range(reps):
        # F as in LinearManifold(basis="gaussian"); the nonzero eigenvalues of C = F V F^T are those
        # of the m x m matrix V^(1/2) F^T F V^(1/2)
        F = rng.standard_normal((D, m)) / np.sqrt(D) * root_v
        out.append(np.linalg.eigvalsh(F.T @ F))               # (m,) ascending
    return np.array(out)                                     # (reps, m)


def _phase_taus(ph):
    """One tau inside each phase: 3x above the trivial boundary, the coverage midpoint (log scale),
    3x below the consolidation boundary."""
    return {TRIVIAL: 3.0 * ph.tau_trivial,
            COVERAGE: float(np.sqrt(ph.tau_trivial * ph.tau_consolidation)),
            CONSOLIDATION: ph.tau_consolidation / 3.0}


def _phase_diagram_panel(law_c, ph, taus, sampled_lam, title):
    spectra = st.jacobian_spectra(law_c)
    edges = spectra.edges(taus)                               # (T, n_bulks, 2)
    series = [Series("band", taus, edges[:, k, 0], edges[:, k, 1], label=f"bulk {k + 1} (theory)")
              for k in range(edges.shape[1])]
    for x, w in law_c.atoms:
        series.append(Series("line", taus, _map(x, taus), label=f"atom (weight {w:.2f})"))
    for tau in taus[::max(1, taus.size // 12)]:
        ys = _map(sampled_lam, tau)
        series.append(Series("points", np.full(ys.size, tau), ys, label="", group="sampled eigenvalues"))
    for g in st.spectral_gaps(law_c, 1.0, dim=ph.dim):             # each gap where it is >= Delta
        window = g.window(DELTA)
        if window is None:
            continue
        inside = taus[(taus >= window[0]) & (taus <= window[1])]
        if inside.size:
            series.append(Series("band", inside, _map(g.a, inside), _map(g.b, inside),
                                 label=f"{g.kind} gap $\\geq {DELTA}$"))
    series += [Series("vline", [ph.tau_trivial], label="trivial | coverage"),
               Series("vline", [ph.tau_consolidation], label="coverage | consolidation")]
    if ph.tau_manifold_gap:
        series.append(Series("vline", [ph.tau_manifold_gap], label=f"manifold gap $= {DELTA}$"))
    return dict(title=title, xlabel="$\\tau$", ylabel="eigenvalues of $\\tau J$", series=series, logx=True)


# ---- 1. spectra across the three phases --------------------------------------------------------
@experiment("spectral_gap_phases",
            claim="The spectrum of tau*J of a linear-manifold model (one block; two blocks of separated "
                  "variances) is the pushforward of the (multi-block) Silverstein law at every tau: "
                  "bulk edges, gap positions and eigenvalue counts below each gap match in the trivial, "
                  "manifold-coverage and consolidation phases.",
            source=SOURCE,
            compares=("spectral_theory.rmt.silverstein.Silverstein.__init__",
                      "spectral_theory.rmt.density.SpectralDensity.jacobian_pushforward",
                      "spectral_theory.gaps.spectral_gaps", "spectral_theory.phase_diagram.phases"), tags=("spectral_gaps", "rmt", "phases"))
def run_phases(ctx):
    Ds = (80, 160, 320) if ctx.quick else (500, 1000, 2000)     # edges and boundaries: finite-size scaling
    # (every block fraction times every D an integer: the same law at every size)
    D = Ds[-1]
    reps = 40 if ctx.quick else 100         # per size (>= MIN_DOF + 1)
    shapes = {"one block": [(0.2, 1.0)], "two blocks": [(0.1, 1.0), (0.1, 16.0)]}
    checks, panels_hist, panels_diag = [], [], []
    params = dict(D=list(Ds), replicates=reps, threshold=DELTA)
    edge = "Tracy-Widom edge: N^(-2/3)"
    for name, shape in shapes.items():
        blocks = [(int(f * D), v) for f, v in shape]
        model0 = st.LinearManifold(D, blocks, rng=0)                  # for dim and speciation only
        law_c = st.covariance_spectrum(model0)                        # depends on m_k/D only
        ph = st.phases(model0, DELTA, law=law_c)
        spectra = {d: _sample_spectra(d, [(int(f * d), v) for f, v in shape], reps, ctx.rng) for d in Ds}
        lam = spectra[D]                                              # (reps, m)
        m = lam.shape[1]
        tag = f"{name}, D={D}"
        ks = np.array([law_c.ks_distance(row, exclude_atom=0.0) for row in lam])
        checks.append(Check(f"{tag}: KS distance of tangent eigenvalues to the law", 0.0, ks.mean(),
                            standard_error(ks), finite_size=(2 + np.log(m)) / m,
                            note="rigidity bound (2 + log m)/m; tau-invariant (monotone map)", dof=reps - 1))

        def per_size(stat):
            """Mean and standard error over replicates of ``stat(spectra (reps, m), d)`` at each size."""
            v = [np.asarray(stat(spectra[d], d), float) for d in Ds]
            return np.array([x.mean() for x in v]), np.array([standard_error(x) for x in v])

        # phase boundaries measured directly on the sampled spectra: the tau where the top tangent
        # eigenvalue of tau J reaches -1 + Delta (trivial | coverage), where the bottom one reaches -Delta
        # (coverage | consolidation), where the manifold gap (bottom one minus the atom -1) is Delta;
        # solved exactly from -tau/(lambda + tau) (the Gaussian model's Jacobian)
        for label, pred, stat in (
                ("log tau, trivial | coverage", ph.tau_trivial, lambda x, d: np.log(x[:, -1] * (1 - DELTA) / DELTA)),
                ("log tau, coverage | consolidation", ph.tau_consolidation,
                 lambda x, d: np.log(x[:, 0] * DELTA / (1 - DELTA))),
                ("log tau where the manifold gap is Delta", ph.tau_manifold_gap,
                 lambda x, d: np.log(x[:, 0] * (1 - DELTA) / DELTA))):
            if pred:
                checks.append(scaling_check(f"{name}: {label} (Delta={DELTA})", np.log(pred), *per_size(stat), Ds, 2 / 3,
                                            note=f"{edge}; st.phases"))
        bulks = law_c.support()
        order = sorted(shape, key=lambda b: b[1])
        for phase, tau in _phase_taus(ph).items():
            law_j = law_c.jacobian_pushforward(tau)
            for k, (lo, hi) in enumerate(bulks):
                for e, upper in ((lo, False), (hi, True)):
                    def stat(x, d, k=k, upper=upper):
                        cut = np.cumsum([0] + [int(f * d) for f, _ in order])
                        part = x[:, cut[k]:cut[k + 1]]
                        return _map(part[:, -1] if upper else part[:, 0], tau)
                    checks.append(scaling_check(
                        f"{name}, {phase} (tau={tau:.3g}): {'upper' if upper else 'lower'} edge of bulk {k + 1}",
                        _map(e, tau), *per_size(stat), Ds, 2 / 3, note=edge))
            ys = _map(lam, tau)
            for g in st.spectral_gaps(law_c, tau, dim=D):
                below = (D - m) + np.count_nonzero(ys <= g.location, axis=1)
                checks.append(Check(f"{tag}, {phase}: eigenvalues below the {g.kind} gap", g.n_below,
                                    below.mean(), standard_error(below), finite_size=0.5,
                                    note="exact separation: integer counts", dof=reps - 1))
            grid = np.linspace(min(b[0] for b in law_j.support()), max(b[1] for b in law_j.support()), 400)
            panels_hist.append(dict(
                title=f"{name}, {phase}, $\\tau={tau:.3g}$",
                xlabel="eigenvalue of $\\tau J$ (atom at $-1$ not drawn)", ylabel="density of the bulks",
                series=[Series("hist", ys.ravel(), label=f"{reps} sampled, $D={D}$"),
                        Series("line", grid, law_j.pdf(grid) / law_j.continuous_mass, label="theory / $(m/D)$")]))
        taus = np.geomspace(ph.tau_consolidation / 10, ph.tau_trivial * 10, 120)
        panels_diag.append(_phase_diagram_panel(law_c, ph, taus, lam[0], f"{name}, $D={D}$"))
        params[name] = dict(shape=shape, tau_trivial=ph.tau_trivial, tau_consolidation=ph.tau_consolidation,
                            tau_manifold_gap=ph.tau_manifold_gap,
                            separations=[(s.tau_peak, s.gap_peak, s.window) for s in ph.separations])
    figures = [Figure("spectral_gap_phase_diagram", "Phase diagram: spectrum of $\\tau J$ against $\\tau$", panels_diag),
               Figure("spectral_gap_histograms", "Density vs histogram in the three phases", panels_hist)]
    return Outcome(checks, figures, params,
                   notes="Edges from fresh Gaussian-basis models (new F per replicate); the histograms show the "
                         "tangent eigenvalues only (the atom at -1 is exact: D - m eigenvalues). The phase "
                         "taus are 3 tau_trivial, sqrt(tau_trivial tau_consolidation) and tau_consolidation/3.")


# ---- 2. gap peak and visibility window ----------------------------------------------------------
def _measured_profile_features(a, b, taus, delta):
    """Peak (by parabola in log tau on the grid) and the threshold crossings of the gap f(b) - f(a)."""
    G = _map(b[:, None], taus) - _map(a[:, None], taus)                  # (reps, T)
    lt = np.log(taus)
    j = np.clip(np.argmax(G, axis=1), 1, taus.size - 2)
    r = np.arange(G.shape[0])
    g0, g1, g2 = G[r, j - 1], G[r, j], G[r, j + 1]
    shift = 0.5 * (g0 - g2) / (g0 - 2 * g1 + g2)
    h = lt[1] - lt[0]
    tau_peak = np.exp(lt[j] + shift * h)
    g_peak = g1 - 0.25 * (g0 - g2) * shift
    lo, hi = [], []
    for row in G:
        above = np.flatnonzero(row >= delta)
        i, k = above[0], above[-1]
        lo.append(np.exp(np.interp(delta, [row[i - 1], row[i]], [lt[i - 1], lt[i]])))
        hi.append(np.exp(np.interp(delta, [row[k + 1], row[k]], [lt[k + 1], lt[k]])))
    return tau_peak, g_peak, np.array(lo), np.array(hi), G


@experiment("spectral_gap_peak_window",
            claim="The intermediate gap of tau*J between two variance blocks is widest at "
                  "tau_max = sqrt(ab) with width (sqrt b - sqrt a)/(sqrt b + sqrt a) and exceeds a "
                  "resolution Delta exactly on the predicted window, a and b the Silverstein edges.",
            source=SOURCE, compares=("spectral_theory.gaps.gap_peak", "spectral_theory.gaps.gap_window", "spectral_theory.gaps.gap_profile", "spectral_theory.rmt.silverstein.Silverstein.__init__"), tags=("spectral_gaps", "rmt"))
def run_peak_window(ctx):
    D = 320 if ctx.quick else 2000                # 0.1 D/4 an integer: the same law at every size
    dims = (D // 4, D // 2, D)
    reps = 40 if ctx.quick else 100
    direct_reps = reps if ctx.quick else 30         # dense eigvalsh of tau J, D^3 each: the cost of the full preset
    shape = [(0.1, 1.0), (0.1, 16.0)]
    blocks = [(int(f * D), v) for f, v in shape]
    law_c = st.covariance_spectrum(st.LinearManifold(D, blocks, rng=0))
    gap = [g for g in st.spectral_gaps(law_c, 1.0, dim=D) if g.kind == "intermediate"][0]
    a, b = gap.a, gap.b
    tau_max, g_max = st.gap_peak(a, b)
    w_lo, w_hi = st.gap_window(a, b, DELTA)
    tau_mid = float(np.sqrt(a * b))                 # where the direct route measures (from the edges, not gap_peak)
    feats = {q: ([], []) for q in ("log tau_max", "G_max", "log lo", "log hi", "direct")}
    for d in dims:
        blk = [(int(f * d), v) for f, v in shape]
        m1 = blk[0][0]
        lam = _sample_spectra(d, blk, reps, ctx.rng)
        am, bm = lam[:, m1 - 1], lam[:, m1]
        # the tau grid from the measured edges (never from the predicted peak)
        taus = np.geomspace(am.min() / 10, bm.max() * 10, 2001)
        tp, gp, lo, hi, G = _measured_profile_features(am, bm, taus, DELTA)
        # the same gap measured directly on tau*J of sampled models (eigvalsh, not via C's eigenvalues)
        k = d - sum(mk for mk, _ in blk) + m1
        direct = []
        for _ in range(direct_reps):
            model = st.LinearManifold(d, blk, rng=ctx.rng)
            y = np.linalg.eigvalsh(tau_mid * model.score_jacobian(np.zeros(d), np.sqrt(tau_mid)))
            direct.append(y[k] - y[k - 1])
        for q, v in (("log tau_max", np.log(tp)), ("G_max", gp), ("log lo", np.log(lo)), ("log hi", np.log(hi)),
                     ("direct", np.array(direct))):
            feats[q][0].append(v.mean())
            feats[q][1].append(standard_error(v))
    grid_note = "parabolic peak / linear crossing on a log grid of 2001 points (relative step 0.5%)"
    edge_note = "edge-driven: Tracy-Widom N^(-2/3)"
    checks = [scaling_check(label, pred, *feats[q], dims, 2 / 3, note=f"{edge_note}; {grid_note}")
              for label, pred, q in (("log tau_max", np.log(tau_max), "log tau_max"), ("G_max", g_max, "G_max"),
                                     (f"log window start (Delta={DELTA})", np.log(w_lo), "log lo"),
                                     (f"log window end (Delta={DELTA})", np.log(w_hi), "log hi"))]
    checks.append(scaling_check(f"gap width at tau=sqrt(ab)={tau_mid:.3g} (eigvalsh of tau J)",
                                st.gap_profile(a, b, tau_mid), *feats["direct"], dims, 2 / 3, note=edge_note))
    G_theory = st.gap_profile(a, b, taus)
    fig = Figure("spectral_gap_profile", "Intermediate gap vs $\\tau$", [dict(
        title=f"two blocks ($v = 1, 16$; $m_k/D = 0.1$), $D={D}$", xlabel="$\\tau$", ylabel="gap of $\\tau J$",
        logx=True, series=[Series("line", taus, G_theory, label="theory ($D \\to \\infty$)"),
                           Series("band", taus, G.min(axis=0), G.max(axis=0), label=f"{reps} sampled models"),
                           Series("hline", y=[DELTA], x=[], label=f"$\\Delta = {DELTA}$"),
                           Series("vline", [tau_max], label="$\\tau_{\\max}$"),
                           Series("vline", [w_lo], label="window"), Series("vline", [w_hi], label="")])],
        caption=(f"The theory curve is the $D \\to \\infty$ limit (peak $G_{{\\max}} = {g_max:.3f}$); the sampled "
                 f"peaks at $D = {D}$ average {gp.mean():.3f}: the extreme eigenvalues of each bulk sit inside the "
                 "limiting support by a few Tracy-Widom scales $(K D)^{-2/3}$, so the band can lie above the curve. "
                 f"The checks compare the extrapolation to $D \\to \\infty$ from $D = {', '.join(map(str, dims))}$."))
    return Outcome(checks, [fig], dict(D=D, sizes=list(dims), replicates=reps, direct_replicates=direct_reps, a=a,
                                       b=b, tau_max=tau_max, g_max=g_max, window=(w_lo, w_hi)))


# ---- 3. finite training sets: tangent directions seen vs tau ------------------------------------
def _log_half(taus, counts, half):
    """log tau where the mean count (increasing in tau) first reaches ``half`` (log-linear interpolation)."""
    i = np.flatnonzero((counts[:-1] < half) & (counts[1:] >= half))
    if not i.size:
        return np.nan
    i = i[0]
    return float(np.interp(half, [counts[i], counts[i + 1]], np.log(taus[i:i + 2])))



@experiment("empirical_tangent_directions",
            claim="For the exact score of N training points on an m-dimensional linear manifold, the number "
                  "of tangent directions seen by tau*J (eigenvalues above -1 + Delta) follows the Gaussian "
                  "(training-covariance) prediction well above the collapse estimate tau_C = v/(N^(2/m) - 1) "
                  "and drops to zero well below it.",
            source="Ventura et al. 2410.05898; Biroli, Bonnaire, de Bortoli, Mezard, arXiv 2402.18491",
            compares=("spectral_theory.collapse.collapse_tau",),
            tags=("spectral_gaps", "memorization"))
def run_empirical(ctx):
    D, m, v = (80, 6, 1.0) if ctx.quick else (200, 10, 1.0)
    N = 200 if ctx.quick else 2000
    B = 12 if ctx.quick else 40
    base = st.LinearManifold(D, [(m, v)], basis="orthonormal", rng=ctx.rng)
    emp = st.Empirical(base.sample(N, rng=ctx.rng))
    P, d, vbar = empirical_collapse_parameters(emp)
    tau_c = st.collapse_tau(P, d, vbar)
    law_train = st.covariance_spectrum(emp)                     # atoms: training covariance
    lam_train = np.array([x for x, w in law_train.atoms if x > 0])
    taus = np.geomspace(tau_c / 100, 100 * v, 15 if ctx.quick else 37)
    counts, sems, predicted, onehot, onehot_se = [], [], [], [], []
    for tau in taus:
        x0 = base.sample(B, rng=ctx.rng)                         # fresh population points
        xt = x0 + np.sqrt(tau) * ctx.rng.standard_normal(x0.shape)
        y = np.linalg.eigvalsh(tau * emp.score_jacobian(xt, np.sqrt(tau)))          # (B, D)
        c = np.count_nonzero(y > -1 + DELTA, axis=1)
        counts.append(c.mean())
        sems.append(standard_error(c))
        predicted.append(np.count_nonzero(lam_train > tau * DELTA / (1 - DELTA)))
        w_max = emp.posterior_weights(xt, np.sqrt(tau)).max(axis=1)
        onehot.append(float(np.mean(w_max)))
        onehot_se.append(float(standard_error(w_max)))
    counts, sems, predicted = np.array(counts), np.array(sems), np.array(predicted)
    checks, untestable = [], []
    for tau, c, s, p in zip(taus, counts, sems, predicted):
        if tau >= EMPIRICAL_MARGIN * tau_c:
            # Finite-N fluctuation of the posterior covariance: the weights are tilted by
            # exp(x.y_i/tau), log-variance s2 = d v (v + tau)/tau^2 over training points, so about
            # N_eff = N exp(-s2) points carry them; the posterior covariance then has Marchenko-Pastur
            # relative spread 2 sqrt(d/N_eff) (times (1 + lambda/tau) back in C units).  Every training
            # eigenvalue that close to the threshold can flip, plus one.
            n_eff = N * np.exp(-d * vbar * (vbar + tau) / tau ** 2)
            lam_thr = tau * DELTA / (1 - DELTA)
            band = 2 * np.sqrt(d / n_eff) * (1 + lam_thr / tau) * lam_thr
            fragile = np.count_nonzero(np.abs(lam_train - lam_thr) <= band)
            if 1 + fragile > m / 2:                   # threshold inside the eigenvalue cluster: no test
                untestable.append(float(tau))
                continue
            checks.append(Check(f"directions seen at tau={tau:.3g} (>= 10 tau_C): Gaussian picture", p, c, s,
                                finite_size=1.0 + fragile,
                                note="Gaussian picture with the training covariance (exact as tau -> infinity; "
                                     "an extrapolation down to 10 tau_C); bound: 1 + the training eigenvalues "
                                     f"within the N_eff={n_eff:.0f} fluctuation band of the threshold ({fragile})",
                                dof=B - 1))
        elif tau <= tau_c / 10:
            checks.append(Check(f"directions seen at tau={tau:.3g} (<= tau_C/10): collapsed", 0.0, c, s,
                                finite_size=0.5, note="posterior on one training point", dof=B - 1))
    # crossover: where half of the m directions are lost, against tau_C (claimed within a decade)
    half = m / 2
    i = np.flatnonzero((counts[:-1] < half) & (counts[1:] >= half))
    if i.size:
        i = i[0]
        lt = np.log10(taus)
        t_half = np.interp(half, [counts[i], counts[i + 1]], [lt[i], lt[i + 1]])
        checks.append(Check("log10 tau where half the tangent directions are lost", np.log10(tau_c), t_half,
                            0.0, finite_size=1.0,
                            note="collapse estimate with d = m (annealed; an extrapolation): claimed to a decade"))
    # the collapse's scaling with the number of training points: tau_half (half the directions lost)
    # measured at several N on one fixed tau grid, its log-log slope against that of collapse_tau
    # (tau_C ~ v/(N^(2/d) - 1): an exponent, so a wrong power of N changes it at any prefactor)
    # (in D = 2 m_s: the normal coordinates cancel from the posterior weights, and the sizes stay cheap).
    # The annealed estimate is asymptotic in N: at m_s = 6 (R = 12 training sets per N, 10 seeds) the fitted
    # slope is 0.07 steeper than predicted over N = 50-3200, 0.030 (2.1 se) over 400-6400 and 0.011 shallower
    # (0.4 se) over 1600-25600; at m_s = 8 and 10 it is 0.05 steeper over 400-6400.  Both presets fit where
    # the estimate applies.  The training set varies as much as the test points (across seeds the slope
    # scatters 1.5x its bootstrap-over-points error), so the error comes from R independent training sets
    # (jackknife over sets: R - 1 degrees of freedom).
    m_s, n_list = 6, (1600, 6400, 25600)
    R, Bs = (40, 8) if ctx.quick else (64, 8)
    grid = np.geomspace(3e-3, 1.0, 19)
    small = st.LinearManifold(2 * m_s, [(m_s, v)], basis="orthonormal", rng=ctx.rng)
    log_half, log_half_se, log_tc = [], [], []
    for n_pts in n_list:
        counts_r, tc_r = [], []
        for _ in range(R):
            e_n = st.Empirical(small.sample(n_pts, rng=ctx.rng))
            x0, xi = small.sample(Bs, rng=ctx.rng), ctx.rng.standard_normal((Bs, 2 * m_s))   # the same along tau:
            counts_r.append([np.count_nonzero(                                                 # a smoother crossing
                np.linalg.eigvalsh(tau * e_n.score_jacobian(x0 + np.sqrt(tau) * xi, np.sqrt(tau))) > -1 + DELTA,
                axis=1).mean() for tau in grid])
            tc_r.append(np.log(st.collapse_tau(*empirical_collapse_parameters(e_n))))
        counts_r = np.array(counts_r)                                          # (R, taus)
        jack = np.array([_log_half(grid, np.delete(counts_r, r, axis=0).mean(axis=0), m_s / 2) for r in range(R)])
        log_half.append(_log_half(grid, counts_r.mean(axis=0), m_s / 2))
        log_half_se.append(float(np.sqrt((R - 1) / R * np.sum((jack - jack.mean()) ** 2))))
        log_tc.append(float(np.mean(tc_r)))
    X = np.log(n_list)
    slope_pred = np.polyfit(X, log_tc, 1)[0]
    wts = 1 / np.asarray(log_half_se) ** 2
    A = np.stack([np.ones_like(X), X], axis=1)
    cov = np.linalg.inv(A.T @ (A * wts[:, None]))
    slope = (cov @ A.T @ (wts * np.asarray(log_half)))[1]
    checks.append(Check(f"slope of log tau_half against log N (N = {list(n_list)}, D = {2 * m_s})", slope_pred, slope,
                        float(np.sqrt(cov[1, 1])), dof=R - 1,
                        note=f"weighted least squares over the N; jackknife standard errors over {R} training sets "
                             f"of {Bs * grid.size} test points each; predicted: the slope of log collapse_tau(N, d, v)"))
    fig = Figure("empirical_tangent_directions", "Tangent directions seen by the exact empirical score", [dict(
        title=f"$N={N}$ points on an $m={m}$ plane in $D={D}$", xlabel="$\\tau$",
        ylabel=f"eigenvalues of $\\tau J$ above $-1+{DELTA}$",
        logx=True, series=[Series("points", taus, counts, sems, label="empirical score (fresh points)"),
                           Series("step", taus, predicted, label="Gaussian (training covariance)"),
                           Series("hline", [], [m], label="$m$"),
                           Series("vline", [tau_c], label="$\\tau_C = v/(N^{2/m}-1)$"),
                           Series("vline", [tau_c / 10], label="$\\tau_C/10$"),
                           Series("vline", [10 * tau_c], label="$10\\,\\tau_C$")]),
        dict(title="mean largest posterior weight", xlabel="$\\tau$", ylabel="$\\max_i w_i$", logx=True,
             series=[Series("points", taus, onehot, onehot_se, label="")])])
    return Outcome(checks, [fig], dict(D=D, m=m, N=N, points=B, tau_collapse=tau_c, d=d, v=vbar,
                                       untestable_taus=untestable),
                   notes=f"Not tested at tau = {np.round(untestable, 3).tolist()}: there the threshold lies inside "
                         "the cluster of training eigenvalues and the count's fluctuation bound exceeds m/2. "
                         "Theorems: tau J -> -I + C_train/tau as tau -> infinity (Taylor expansion of the "
                         "exact score), and all eigenvalues -1 wherever the posterior is one-hot. "
                         "Extrapolations: the Gaussian count down to 10 tau_C, and tau_C with d = m (the "
                         "normal coordinates cancel from the posterior weights of points on a linear "
                         "manifold, so the annealed argument runs in m dimensions). The simulation's "
                         "verdicts on these are the checks above.")


# ---- 4. finite differences and the dimension from the largest drop -----------------------------
@experiment("jacobian_dimension_drop",
            claim="Central finite differences of the score reproduce the analytic Jacobian spectrum within "
                  "the rounding bound, and the largest drop of the sorted singular values of tau*J sits in "
                  "the widest gap predicted at that tau: m (manifold gap) at small tau, a sub-dimension "
                  "(intermediate gap) at larger tau.",
            source=SOURCE + "; Stanczuk et al., arXiv 2212.12611", compares=("spectral_theory.gaps.predicted_drop", "spectral_theory.rmt.silverstein.Silverstein.__init__"), tags=("spectral_gaps", "dimension"))
def run_dimension(ctx):
    from validation.jacobians import finite_difference
    D = 200 if ctx.quick else 800
    blocks = [(int(0.05 * D), 1.0), (int(0.05 * D), 25.0)]
    m = sum(b[0] for b in blocks)
    model = st.LinearManifold(D, blocks, rng=ctx.rng)
    law_c = st.covariance_spectrum(model)
    gaps_small = st.predicted_drop(law_c, 0.05, dim=D)
    taus = np.geomspace(0.01, 200.0, 9 if ctx.quick else 13)     # per tau: 3 x R dense spectra
    sizes = (100, 200, 400) if ctx.quick else (200, 400, 800)   # 0.05 d an integer, >= 5 per block
    R = 11 if ctx.quick else 31
    models = {d: [st.LinearManifold(d, [(int(0.05 * d), v) for _, v in blocks], rng=ctx.rng) for _ in range(R)]
              for d in sizes}
    checks, read, pred = [], [], []
    for tau in taus:
        sigma = np.sqrt(tau)
        x = model.noisy_sample(1, sigma, rng=ctx.rng)[1][0]
        y_an = np.linalg.eigvalsh(tau * model.score_jacobian(x, sigma))
        y_fd = tau * finite_difference(model.score, x, sigma)
        h = np.cbrt(EPS) * sigma
        s_max = np.max(np.abs(model.score(x, sigma)))
        bound = tau * D * 4 * EPS * (s_max + np.max(np.abs(x)) / tau) / h
        checks.append(Check(f"max |FD - analytic| eigenvalue of tau J at tau={tau:.3g}", 0.0,
                            np.max(np.abs(np.sort(y_fd) - y_an)), 0.0, finite_size=bound,
                            note="rounding: D * 4 eps (|s| + |x| |J|) / h (the score is linear: no truncation)"))
        est = st.estimate_dimension(np.abs(y_fd))        # singular values of the symmetric tau J
        g = st.predicted_drop(law_c, tau, dim=D)
        read.append(est.n_below)
        pred.append(D - g.n_below)
        checks.append(Check(f"dimension read off the largest drop at tau={tau:.3g} ({g.kind} gap widest)",
                            D - g.n_below, est.n_below, 0.0, finite_size=0.5, note="integer"))
        # the drop's size: R fresh models at three sizes (same block fractions), extrapolated with the
        # N^(-2/3) of the gap's square-root edges
        drops = np.array([[st.estimate_dimension(np.abs(np.linalg.eigvalsh(tau * mdl.score_jacobian(np.zeros(d),
                                                                                         sigma)))).drop
                           for mdl in models[d]] for d in sizes])                       # (sizes, R)
        checks.append(scaling_check(f"size of the largest drop at tau={tau:.3g}", g.width, drops.mean(axis=1),
                                    drops.std(axis=1, ddof=1) / np.sqrt(drops.shape[1]), sizes, 2 / 3,
                                    note=f"{drops.shape[1]} models per size (eigvalsh of tau J); Tracy-Widom edges"))
    fig = Figure("jacobian_dimension_drop", "Dimension from the largest drop of sorted singular values", [dict(
        title=f"$D={D}$, blocks {blocks} ($m={m}$)", xlabel="$\\tau$", ylabel="dimension below the largest drop",
        logx=True, series=[Series("points", taus, read, label="finite differences (one model)"),
                           Series("step", taus, pred, label="widest predicted gap"),
                           Series("hline", [], [m], label="$m$"),
                           Series("hline", [], [blocks[1][0]], label="$m_{\\mathrm{top}}$")])])
    return Outcome(checks, [fig], dict(D=D, blocks=blocks, small_tau_gap=gaps_small.kind),
                   notes="Finite differences by validation.jacobians.finite_difference (central, symmetrised).")


# ---- 5. phases along reverse trajectories -------------------------------------------------------
@experiment("phases_along_trajectories",
            claim="Along probability-flow (EDM Heun) trajectories of a mixture of low-rank Gaussians, the "
                  "spectrum of tau*J at each noise level matches that at forward-noised points of the same "
                  "tau, and where the posterior has settled on one component it is the local Gaussian law "
                  "(jacobian_spectrum(component=k)) with its phases.",
            source=SOURCE, compares=("spectral_theory.spectra.jacobian_spectrum", "spectral_theory.models.mixture.MoLRG.denoise"), tags=("spectral_gaps", "phases", "samplers"))
def run_trajectories(ctx):
    from validation.jacobians import analytic
    from validation.samplers import edm_sampler
    D, dims = (60, [4, 4]) if ctx.quick else (200, [10, 10])
    B = 160 if ctx.quick else 400                          # trajectories; 4B forward-noised points
    steps = 40 if ctx.quick else 120
    model = st.MoLRG(D, dims, rng=ctx.rng)
    sigmas = st.edm_sigmas(steps, sigma_min=0.01, sigma_max=30.0)
    record = np.arange(0, steps, steps // 8)
    x_T = sigmas[0] * ctx.rng.standard_normal((B, D))      # the model has unit-scale data << sigma_max
    traj = edm_sampler(model.denoise, x_T, sigmas, method="heun", record=record)
    local = st.phases(model, DELTA, component=0)
    checks, rows = [], []
    for k, idx in enumerate(traj.record):
        sigma = traj.sigmas[idx]
        tau = sigma ** 2
        if not sigma > 0:
            continue
        y_tr = analytic(model, traj.states[k], sigma) * tau                 # (B, D)
        _, xf = model.noisy_sample(4 * B, sigma, rng=ctx.rng)      # cheap: no trajectory
        y_fw = analytic(model, xf, sigma) * tau
        seen_tr = np.count_nonzero(y_tr > -1 + DELTA, axis=1)
        seen_fw = np.count_nonzero(y_fw > -1 + DELTA, axis=1)
        se = np.sqrt(seen_tr.var(ddof=1) / B + seen_fw.var(ddof=1) / (4 * B))
        checks.append(Check(f"directions seen at tau={tau:.3g}: trajectory vs forward", seen_fw.mean(),
                            seen_tr.mean(), se, finite_size=0.0,
                            note="two-sample comparison; the ODE's marginals equal the forward ones"))
        w = model.posterior_weights(traj.states[k], sigma).max(axis=1)
        law = st.jacobian_spectrum(model, tau, component=0)
        expected = sum(wt for x, wt in law.atoms if x > -1 + DELTA) * D
        if w.min() > 1 - 1e-6:          # the local picture's regime, read off the measured weights
            checks.append(Check(f"directions seen at tau={tau:.3g} ({local.phase(tau)}): local law", expected,
                                seen_tr.mean(), standard_error(seen_tr), finite_size=0.0,
                                note="posterior weight > 1 - 1e-6 at every state: J = J_k to 1e-6"))
            top = np.sort(y_tr, axis=1)[:, -dims[0]:]
            checks.append(Check(f"tangent eigenvalue of tau J at tau={tau:.3g}: local law",
                                max(x for x, _ in law.atoms), top.mean(), standard_error(top.mean(axis=1)),
                                finite_size=1e-5, note="between-component term <= 1 - w_max < 1e-6 (x |x|^2 / tau)"))
        rows.append((tau, seen_tr.mean(), seen_fw.mean(), float(w.mean()), expected,
                     standard_error(seen_tr), standard_error(seen_fw), standard_error(w)))
    rows = np.array(rows)
    fig = Figure("phases_along_trajectories", "Directions seen along reverse trajectories", [dict(
        title=f"MoLRG $D={D}$, subspaces {dims}, EDM Heun {steps} steps", xlabel="$\\tau$",
        ylabel=f"eigenvalues above $-1+{DELTA}$",
        logx=True, series=[Series("points", rows[:, 0], rows[:, 1], rows[:, 5], label="trajectories"),
                           Series("points", rows[:, 0], rows[:, 2], rows[:, 6], label="forward-noised"),
                           Series("step", rows[:, 0], rows[:, 4], label="local law (one component)"),
                           Series("vline", [local.tau_trivial], label="trivial | coverage (local)"),
                           Series("vline", [local.tau_consolidation], label="coverage | consolidation (local)")]),
        dict(title="mean largest posterior weight along trajectories", xlabel="$\\tau$", ylabel="$\\max_k w_k$",
             logx=True, series=[Series("points", rows[:, 0], rows[:, 3], rows[:, 7], label="")])])
    return Outcome(checks, [fig], dict(D=D, dims=dims, trajectories=B, steps=steps,
                                       tau_trivial_local=local.tau_trivial,
                                       tau_consolidation_local=local.tau_consolidation),
                   notes="Trajectories from validation.samplers.edm_sampler with the model's exact denoiser.")
