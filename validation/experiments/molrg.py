r"""Mixtures of low-rank Gaussians (Wang, Zhang, Zhang, Chen, Ma, Qu, arXiv 2409.02426): six experiments.

1. ``molrg_exact_denoiser``: the closed-form MoLRG denoiser is :math:`\mathbb E[x_0|x_t]`, tested without
   the formula: the residual :math:`x_0 - D(x_t)` of forward-process pairs is orthogonal to test
   functions of :math:`x_t` (:math:`P_k x_t`, :math:`x_t`), and the mean squared residual equals the MMSE
   :math:`\frac{\sigma^2}{\alpha}\mathbb E\,\mathrm{tr}\nabla D` (second-order Tweedie, from the exact
   Jacobian); unequal weights and dimensions, so the log-determinant term matters (the same test on the
   denoiser without it is reported, and fails).
2. ``molrg_k1_gradient_pca``: K = 1: Riemannian gradient training of the low-rank denoiser reaches the
   PCA subspace, within the bound :math:`|g|/(2\kappa\,\mathrm{gap}\sqrt d)` implied by its final
   gradient norm :math:`|g|` (:math:`\kappa = 2c\alpha - c^2\alpha^2`, gap = :math:`\lambda_d - \lambda_{d+1}`
   of the data's second-moment matrix); K-subspaces returns PCA to rounding.
3. ``molrg_gradient_vs_clustering``: K = 2, 3: the K-subspaces (subspace clustering) solution is a
   minimiser of the training loss (gradient training started there stays), and independently started
   gradient training either reaches it or stops at a higher loss (a worse local minimum).
4. ``molrg_phase_transition``: success probability of subspace recovery vs N_k and d (n = 48, K = 1..3,
   noiseless and small noise): noiseless K = 1 succeeds exactly when N >= d; K > 1 fails for N_k < d and
   succeeds for N_k >= d + 1; at N_k = d a wrong split of the points fits perfectly (non-identifiable).
5. ``molrg_jacobian_rank``: the numerical rank (99% energy) of the exact denoiser's Jacobian is
   :math:`\sum_k d_k` at high noise (soft posterior weights) and :math:`d_{k(x_0)}` at low noise, never
   above :math:`\sum_k d_k`; the trained low-rank denoiser's Jacobian has the same ranks.
6. ``molrg_generalization``: samples of the trained low-rank denoiser vs the Empirical (memorizing)
   score of the same training set, as N_k/d grows: the Empirical sampler copies training points (GL
   score 0) while, once the subspaces are recovered, the trained denoiser's samples lie on the true
   subspaces and are as far from the training set as fresh samples of the true model.
"""
from __future__ import annotations

import os

import numpy as np

import spectral_theory as st
from spectral_theory import metrics, molrg
from validation.experiment import Check, Figure, Outcome, Series, experiment, standard_error
from validation.molrg_sweep import AMBIENT_DIM, NOISY, draw_problem, phase_transition
from validation.samplers import edm_sampler

SOURCE = "Wang, Zhang, Zhang, Chen, Ma, Qu, arXiv 2409.02426 (seed papers 002/003); theory/molrg.md"


def _binomial_se(p, n):
    """Binomial standard error at the *predicted* probability p (0 for p in {0, 1}: a single failure of a
    deterministic prediction disagrees)."""
    return float(np.sqrt(p * (1 - p) / n)) if n > 0 else float("nan")


# ---- 1. exact denoiser = E[x0|xt] ---------------------------------------------------------------
@experiment(
    "molrg_exact_denoiser",
    claim="The closed-form MoLRG denoiser (posterior weights with the log-determinant term) is E[x0|xt]: "
          "its residual is orthogonal to functions of xt and its mean squared error is the MMSE "
          "(sigma^2/alpha) E tr grad D.",
    source=SOURCE + "; Efron (2011) Tweedie",
    compares=("spectral_theory.models.mixture.MoLRG.denoise",),
    tags=("molrg", "denoiser"),
)
def run_exact_denoiser(ctx):
    rng = ctx.rng
    n, dims, weights = 20, [2, 6, 3], [0.5, 0.2, 0.3]
    B = 60_000 if ctx.quick else 600_000
    model = st.MoLRG(n, dims, weights=weights, rng=rng)
    schedule = st.VP(0.1, 20.0)
    checks, table = [], []
    for tau in (0.3, 2.0):
        t = schedule.time_of_tau(tau)
        sigma, alpha = schedule.sigma(t), schedule.alpha(t)
        x0, xt = model.noisy_sample(B, sigma, alpha, rng=rng)
        resid = x0 - model.denoise(xt, sigma, alpha)                       # (B, n)
        # orthogonality E[r . g(xt)] = 0 for g = P_k xt (each component) and g = xt
        tests = [(f"P_{k + 1} x_t (d={d})", xt @ U @ U.T) for k, (U, d) in enumerate(zip(model.bases, dims))]
        tests.append(("x_t", xt))
        wrong = _without_logdet(model, xt, sigma, alpha)
        resid_wrong = x0 - wrong
        for label, g in tests:
            v = np.einsum("bd,bd->b", resid, g)
            checks.append(Check(f"E[(x0 - D(xt)) . {label}] at tau={tau}", 0.0, v.mean(), standard_error(v)))
            vw = np.einsum("bd,bd->b", resid_wrong, g)
            table.append((tau, label, v.mean() / standard_error(v), vw.mean() / standard_error(vw)))
        # MMSE: E|x0 - D|^2 = (sigma^2/alpha) E tr grad D, grad D = (I + sigma^2 J)/alpha
        sub = slice(0, min(B, 4000))
        trJ = np.trace(model.score_jacobian(xt[sub], sigma, alpha), axis1=1, axis2=2)
        mmse_pred = sigma**2 / alpha**2 * (n + sigma**2 * trJ)             # per sample (B_sub,)
        se = np.sum(resid[sub] ** 2, axis=1)
        diff = se - mmse_pred                                              # paired: same xt
        checks.append(Check(f"E|x0 - D(xt)|^2 - (sigma^2/alpha^2) E(n + sigma^2 tr J) at tau={tau}", 0.0,
                            diff.mean(), standard_error(diff)))
    notes = ("z-scores of the orthogonality statistics, exact denoiser vs the same formula without the "
             "log-determinant term: " + "; ".join(f"tau={t} {l}: {a:+.1f} vs {b:+.1f}" for t, l, a, b in table))
    return Outcome(checks, [], dict(ambient_dim=n, subspace_dims=dims, weights=weights, samples=B), notes)


def _without_logdet(model, x, sigma, alpha):
    """The MoLRG denoiser with the log-determinant term dropped from the weights (a deliberately wrong
    denoiser, to show the test has power where the d_k differ)."""
    c = alpha / (alpha**2 + sigma**2)
    phi = alpha**2 / (2 * sigma**2 * (alpha**2 + sigma**2))
    logits = np.stack([np.log(p) + phi * np.sum((x @ U) ** 2, axis=1) for p, U in zip(model.weights, model.bases)], 1)
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return sum(w[:, [k]] * c * (x @ U) @ U.T for k, U in enumerate(model.bases))


# ---- 2. K = 1: gradient training is PCA ---------------------------------------------------------
@experiment(
    "molrg_k1_gradient_pca",
    claim="K = 1: training the low-rank denoiser by Riemannian gradient descent on the denoising loss "
          "reaches the PCA subspace of the training set (the loss is |x|^2 - (2cs - c^2 s^2)|U^T x|^2 + const).",
    source=SOURCE,
    compares=("spectral_theory.molrg.fit_subspaces",),
    tags=("molrg", "training"),
)
def run_k1_gradient_pca(ctx):
    rng = ctx.rng
    cases = [(3, 10, 0.01), (6, 9, 1e-4), (4, 30, 0.05)] if ctx.quick else \
        [(d, m, e) for d in (2, 4, 8) for m in (d + 1, 2 * d, 4 * d) for e in (0.0, 1e-4, 0.01)]
    checks, errs, bounds = [], [], []
    for d, N, eps in cases:
        model, X = draw_problem(48, d, 1, N, eps, rng)
        sv = np.linalg.svd(X, compute_uv=False)
        lam = np.concatenate([sv**2, np.zeros(48)])[: d + 1] / N           # second-moment eigenvalues
        pca = np.linalg.svd(X, full_matrices=False)[2][:d].T
        fit = molrg.fit_subspaces(X, 1, d, method="gradient", rng=rng, init="random")   # default restarts
        sigma, alpha = fit.noise_level
        c = alpha / (alpha**2 + sigma**2)
        kappa = 2 * c * alpha - (c * alpha) ** 2
        # first order in the displacement E: |grad| >= 2 kappa gap |E|, error = |sin Theta|_F / sqrt(d)
        bound = fit.gradient_norm / (2 * kappa * (lam[d - 1] - lam[d]) * np.sqrt(d))
        err = molrg.recovery_error(fit.bases, [pca]).max_error
        errs.append(err)
        bounds.append(bound)
        checks.append(Check(f"gradient-trained vs PCA subspace error, d={d}, N={N}, noise={eps}", 0.0, err, 0.0,
                            finite_size=bound, resolution=0.1,
                            note="bound |grad|/(2 kappa gap sqrt d) from the final Riemannian gradient norm"))
        ks = molrg.fit_subspaces(X, 1, d, rng=rng)
        checks.append(Check(f"K-subspaces (K=1) vs PCA subspace error, d={d}, N={N}, noise={eps}", 0.0,
                            molrg.recovery_error(ks.bases, [pca]).max_error, 0.0, finite_size=1e-8,
                            note="rounding of the eigensolver"))
    fig = Figure("molrg_k1_gradient_pca", "K = 1: gradient training reaches the PCA subspace",
                 [dict(title="subspace error vs its gradient-norm bound", xlabel="case", ylabel="error", logy=True,
                       series=[Series("points", np.arange(len(errs)), np.maximum(errs, 1e-16), label="measured"),
                               Series("points", np.arange(len(errs)), bounds, label="bound")])])
    return Outcome(checks, [fig], dict(cases=cases))


# ---- 3. K = 2, 3: gradient training = subspace clustering ----------------------------------------
@experiment(
    "molrg_gradient_vs_clustering",
    claim="K = 2, 3: the subspace-clustering (K-subspaces) solution is a minimiser of the low-rank "
          "denoiser's training loss at low noise (gradient training started there stays there), and no independently "
          "started gradient training finds a lower loss; independent training reaches the same subspaces "
          "unless it stops in a worse local minimum.",
    source=SOURCE,
    compares=("spectral_theory.molrg.fit_subspaces",),
    tags=("molrg", "training"),
)
def run_gradient_vs_clustering(ctx):
    rng = ctx.rng
    cases = [(2, 3, 8, 0.0), (2, 4, 8, NOISY), (3, 3, 6, 0.0)] if ctx.quick else \
        [(K, d, m, e) for K in (2, 3) for d in (2, 4, 6) for m in (d + 2, 2 * d) for e in (0.0, NOISY)]
    stay, not_better, matched, rows = 0, 0, 0, []
    for K, d, Nk, eps in cases:
        model, X = draw_problem(48, d, K, Nk, eps, rng)
        ks = molrg.fit_subspaces(X, K, d, rng=rng)
        gd = molrg.fit_subspaces(X, K, d, method="gradient", rng=rng, restarts=2)
        # stationarity: train from the clustering solution at the final (lowest) training noise level
        # (EDM, so t = sigma); annealing from higher noise would first move it on purpose
        from_ks = molrg.fit_subspaces(X, K, d, method="gradient", rng=rng, init=list(ks.bases),
                                      times=[gd.noise_level[0]])
        e_stay = molrg.recovery_error(from_ks.bases, ks.bases).max_error
        e_ind = molrg.recovery_error(gd.bases, ks.bases).max_error
        # both final bases scored on one common set of noise draws at the last training level
        sigma, alpha = gd.noise_level
        xi = molrg.whitened_antithetic_noise(64, *X.shape, rng)
        l_ks = molrg.loss_and_gradient(list(from_ks.bases), X, xi, sigma, alpha)[0]
        l_gd = molrg.loss_and_gradient(list(gd.bases), X, xi, sigma, alpha)[0]
        stay += e_stay < molrg.SUCCESS_THRESHOLD
        matched += e_ind < molrg.SUCCESS_THRESHOLD
        not_better += (e_ind < molrg.SUCCESS_THRESHOLD) or (l_gd >= l_ks)
        rows.append((K, d, Nk, eps, round(e_stay, 4), round(e_ind, 4), round((l_gd - l_ks) / ks.energy, 6)))
    m = len(cases)
    checks = [Check("fraction of problems where gradient training started at the K-subspaces solution stays "
                    "within matched error 0.1 of it", 1.0, stay / m, _binomial_se(1.0, m)),
              Check("fraction of problems where independent gradient training either matches K-subspaces or "
                    "ends at a higher loss", 1.0, not_better / m, _binomial_se(1.0, m))]
    notes = (f"independent gradient training (greedy init, 2 restarts) matched K-subspaces on {matched}/{m} "
             f"problems; rows (K, d, N_k, noise, error from K-subspaces start, error of independent run, "
             f"(loss_independent - loss_clustering)/energy): {rows}")
    return Outcome(checks, [], dict(cases=cases), notes)


# ---- 4. the phase transition ---------------------------------------------------------------------
@experiment(
    "molrg_phase_transition",
    claim="Subspace recovery needs N_k >= d_k samples per component (K = 1) and N_k >= d_k + 1 (K > 1, no "
          "orthogonality constraint: at N_k = d_k a wrong split fits perfectly); success curves vs N_k/d_k.",
    source=SOURCE,
    compares=("spectral_theory.molrg.fit_subspaces", "spectral_theory.molrg.sample_complexity"),
    tags=("molrg", "sweep", "phase-transition"),
)
def run_phase_transition(ctx):
    rng = ctx.rng
    if ctx.quick:
        dims, samples, trials = (2, 4, 6), tuple(range(1, 9)), 6
    else:
        dims, samples, trials = tuple(range(2, 9)), tuple(range(1, 17)), 20     # the pooled checks are exact
    store = os.path.join(ctx.store_dir, "molrg_phase_transition.sqlite") if ctx.store_dir else None
    pt = phase_transition(dims, samples, (1, 2, 3), (0.0, NOISY), trials, seed=int(rng.integers(2**31)),
                          store=store, workers=ctx.workers, scheduler=ctx.scheduler, progress=ctx.progress,
                          name=f"molrg_phase_transition_{ctx.preset}")
    Nk = np.array(pt.samples)[None, :]
    checks = []
    for i, K in enumerate(pt.components):
        s, t = pt.successes[i, 0], pt.trials[i, 0]                          # noiseless
        counts = [st.molrg.sample_complexity(AMBIENT_DIM, [dd] * K) for dd in pt.dims]
        nec = np.array([c.necessary[0] for c in counts])[:, None]
        suf = np.array([c.sufficient[0] for c in counts])[:, None]
        for label, mask, p in [("N_k < necessary (d)", Nk < nec, 0.0),
                               (f"N_k >= sufficient ({'d' if K == 1 else 'd + 1'})", Nk >= suf, 1.0)]:
            n_tr = int(t[mask].sum())
            if n_tr == 0:                                   # no cell of the grid on this side of the count
                continue
            checks.append(Check(f"noiseless K={K}: success probability pooled over cells with {label}", p,
                                s[mask].sum() / n_tr, _binomial_se(p, n_tr)))
    # non-identifiability at N_k = d (K > 1): a wrong split into groups of d attains the perfect fit
    reps = 10 if ctx.quick else 50
    for extra, want in ((0, 1.0), (1, 0.0)):
        hits = 0
        for _ in range(reps):
            dd = int(rng.choice(pt.dims))
            model, X = draw_problem(48, dd, 2, dd + extra, 0.0, rng)
            hits += _wrong_split_fits(X, dd, rng)
        checks.append(Check(f"K=2, N_k = d{'+1' if extra else ''}: fraction of problems where a wrong split "
                            f"of the points into 2 groups fits perfectly", want, hits / reps, _binomial_se(want, reps)))
    figs = _transition_figures(pt)
    z = pt.success[:, 0]
    notes = (f"method K-subspaces (greedy seeds); {trials} trials per cell; noisy = isotropic variance {NOISY}. "
             f"Noiseless K>1 success at N_k = d (tie-breaking, not identifiability): "
             + ", ".join(f"K={K}: " + str([round(float(z[i, j, list(pt.samples).index(dd)]), 2)
                                           for j, dd in enumerate(pt.dims) if dd in pt.samples])
                         for i, K in enumerate(pt.components) if K > 1))
    return Outcome(checks, figs, dict(dims=pt.dims, samples=pt.samples, components=pt.components,
                                      noises=pt.noises, trials=trials, n=48), notes,
                   timings=dict(mean_seconds_per_trial=float(np.nanmean(pt.seconds_per_trial))))


def _wrong_split_fits(X, d, rng):
    """Whether a random split of the 2 N_k points that is not the true one (rows are ordered by
    component) into two groups of N_k has zero residual for d-dimensional subspaces."""
    N = X.shape[0]
    half = N // 2
    while True:
        perm = rng.permutation(N)
        a = np.sort(perm[:half])
        if not (np.all(a < half) or np.all(a >= half)):
            break
    res = 0.0
    for idx in (perm[:half], perm[half:]):
        sv = np.linalg.svd(X[idx], compute_uv=False)
        res += np.sum(sv[d:] ** 2)
    return bool(res <= 1e-18 * np.sum(X**2))


def _transition_figures(pt):
    """Per noise setting: the success-probability heat map over (N_k, d), and success vs N_k/d (the
    collapse; points are the measured probabilities, bands their Wilson 95% intervals)."""
    figs = []
    for j, eps in enumerate(pt.noises):
        tag = "noiseless" if eps == 0 else f"noise variance {eps:g}"
        key = "noiseless" if eps == 0 else "noisy"
        for scaled in (False, True):
            panels = []
            for i, K in enumerate(pt.components):
                if not scaled:   # the (N_k, d) map itself
                    panels.append(dict(title=f"$K={K}$", xlabel="$N_k$", ylabel="$d$", series=[
                        Series("heatmap", pt.samples, pt.dims, z=pt.success[i, j], label="success probability"),
                        Series("line", pt.dims, pt.dims, label="$N_k = d$")]))
                    continue
                series = []
                for k, d in enumerate(pt.dims):
                    x = np.array(pt.samples) / d if scaled else np.array(pt.samples, dtype=float)
                    p = pt.success[i, j, k]           # error bars: the Wilson 95% interval (contains p; clip rounding)
                    err = np.maximum([p - pt.lo[i, j, k], pt.hi[i, j, k] - p], 0.0)
                    series.append(Series("points", x, p, err, label=f"$d={d}$"))
                if scaled:
                    series.append(Series("vline", [1.0], label="$N_k = d$"))
                panels.append(dict(title=f"$K={K}$", xlabel="$N_k / d$" if scaled else "$N_k$",
                                   ylabel="success probability", series=series))
            name = f"molrg_phase_transition_{'collapse' if scaled else 'heatmap'}_{key}"
            title = (f"Recovery success vs $N_k / d$ (collapse), {tag}" if scaled
                     else f"Recovery success probability over $(N_k, d)$, {tag}")
            figs.append(Figure(name, title, panels))
    return figs


# ---- 5. Jacobian rank ------------------------------------------------------------------------------
@experiment(
    "molrg_jacobian_rank",
    claim="The numerical rank (99% energy) of the exact MoLRG denoiser's Jacobian is sum_k d_k at high noise "
          "and d_k of the sample's component at low noise (never above sum_k d_k); a trained low-rank "
          "denoiser's Jacobian has the same ranks.",
    source=SOURCE,
    compares=("spectral_theory.molrg.numerical_rank", "spectral_theory.molrg.fit_subspaces"),
    tags=("molrg", "jacobian"),
)
def run_jacobian_rank(ctx):
    rng = ctx.rng
    n, dims = 48, [3, 5, 8]
    model = st.MoLRG(n, dims, rng=rng)
    B = 40 if ctx.quick else 200
    X = np.concatenate([c.sample(2 * d, rng) for c, d in zip(model.components, dims)])
    # unequal d_k: a large learned subspace can swallow two small true ones (a local optimum), so
    # K-subspaces gets more restarts without improvement before it stops
    trained = molrg.fit_subspaces(X, 3, dims, rng=rng, patience=6).denoiser()
    sigmas = np.geomspace(0.01, 100, 9 if ctx.quick else 25)
    ranks = {"exact": [], "trained": []}
    checks = []
    x0, labels = model.sample(B, rng=rng, return_labels=True)
    xi = rng.standard_normal(x0.shape)
    own = np.array(dims)[labels]
    for s in sigmas:
        xt = x0 + s * xi
        for name, m in (("exact", model), ("trained", trained)):
            JD = np.eye(n) + s**2 * m.score_jacobian(xt, s)              # grad D = (I + sigma^2 J)/alpha, alpha = 1
            ranks[name].append(molrg.numerical_rank(JD))
    for name in ranks:
        r = np.array(ranks[name])                                          # (S, B)
        checks.append(Check(f"{name}: fraction of samples with rank = sum d_k = {sum(dims)} at sigma={sigmas[-1]:g}",
                            1.0, np.mean(r[-1] == sum(dims)), 0.0))
        checks.append(Check(f"{name}: fraction of samples with rank = d of own component at sigma={sigmas[0]:g}",
                            1.0, np.mean(r[0] == own), 0.0))
        checks.append(Check(f"{name}: fraction of (sigma, sample) with rank <= sum d_k", 1.0,
                            np.mean(r <= sum(dims)), 0.0))
    fig = Figure("molrg_jacobian_rank", "Numerical rank of the denoiser Jacobian across noise levels",
                 [dict(title=f"$n={n}$, $d_k={dims}$", xlabel="$\\sigma$", ylabel="numerical rank (99% energy)",
                       logx=True,
                       series=[Series("points", sigmas, np.mean(ranks["exact"], axis=1),
                                      standard_error(ranks["exact"], axis=-1), label="exact"),
                               Series("points", sigmas, np.mean(ranks["trained"], axis=1), standard_error(ranks["trained"], axis=-1),
                                      label="trained (K-subspaces)"),
                               Series("hline", [sum(dims)], label="$\\sum_k d_k$"),
                               Series("hline", [float(np.mean(own))], label="mean d of own component")])])
    return Outcome(checks, [fig], dict(ambient_dim=n, subspace_dims=dims, samples=B, sigmas=sigmas))


# ---- 6. generalization -----------------------------------------------------------------------------
@experiment(
    "molrg_generalization",
    claim="Samples of the Empirical score copy the training set (GL score 0), while the trained low-rank "
          "denoiser's samples, once N_k >= d + 1, lie on the true subspaces and are as far from the training "
          "set as fresh samples of the true model; curves vs N_k/d.",
    source=SOURCE + "; GL score of Li, Dai, Qu, arXiv 2410.24060",
    compares=("spectral_theory.molrg.fit_subspaces", "spectral_theory.models.empirical.Empirical.denoise"),
    tags=("molrg", "generalization", "sampler"),
)
def run_generalization(ctx):
    rng = ctx.rng
    K, d, n = 2, 4, 48
    ratios = (0.5, 1.0, 1.5, 2.0, 4.0) if ctx.quick else (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 8.0)
    B = 400 if ctx.quick else 2000
    sig = st.edm_sigmas(18 if ctx.quick else 40, 0.002, 80.0, 7.0)
    model = st.MoLRG(n, [d] * K, rng=rng)
    P_true = [U @ U.T for U in model.bases]
    rows, checks = [], []
    for r in ratios:
        Nk = max(1, int(round(r * d)))
        X = np.concatenate([c.sample(Nk, rng) for c in model.components])
        trained = molrg.fit_subspaces(X, K, d, rng=rng).denoiser()
        x_T = 80.0 * rng.standard_normal((B, n))
        s_tr = edm_sampler(trained.denoise, x_T, sig).final
        s_emp = edm_sampler(st.Empirical(X).denoise, x_T, sig).final
        fresh = model.sample(B, rng=rng)
        gl_tr, gl_emp, gl_fresh = (metrics.generalization_score(s, X) for s in (s_tr, s_emp, fresh))
        off = np.min([np.linalg.norm(s_tr - s_tr @ P, axis=1) for P in P_true], axis=0) / np.linalg.norm(s_tr, axis=1)
        rows.append((Nk / d, gl_tr, gl_emp, gl_fresh, off))
        if Nk >= d + 1:
            checks.append(Check(f"GL score, trained denoiser minus fresh true-model samples, N_k/d={Nk / d:g}", 0.0,
                                gl_tr.score - gl_fresh.score, float(np.hypot(gl_tr.stderr, gl_fresh.stderr)),
                                finite_size=0.02, note="EDM sampler discretisation (18 Heun steps) and recovery error 0.1"))
            checks.append(Check(f"trained samples' relative distance to the true union of subspaces, N_k/d={Nk / d:g}",
                                0.0, off.mean(), standard_error(off), finite_size=0.1,
                                note="the success criterion bounds the subspace error by 0.1"))
        checks.append(Check(f"GL score of Empirical-score samples, N_k/d={Nk / d:g}", 0.0, gl_emp.score, gl_emp.stderr,
                            finite_size=0.01, note="final noise level 0.002 sqrt(n) over |x|"))
    x = [r[0] for r in rows]
    fig = Figure("molrg_generalization", "Generalization: trained low-rank denoiser vs Empirical score",
                 [dict(title=f"$K={K}$, $d={d}$, $n={n}$", xlabel="$N_k / d$", ylabel="GL score (NN distance / norm)",
                       series=[Series("points", x, [r[1].score for r in rows], [r[1].stderr for r in rows], label="trained low-rank"),
                               Series("points", x, [r[2].score for r in rows], [r[2].stderr for r in rows], label="Empirical"),
                               Series("points", x, [r[3].score for r in rows], [r[3].stderr for r in rows],
                                      label="fresh true-model samples")]),
                  dict(title="distance of trained samples to the true subspaces", xlabel="$N_k / d$",
                       ylabel="relative distance", series=[Series("points", x, [r[4].mean() for r in rows],
                                                                  [standard_error(r[4]) for r in rows])])])
    return Outcome(checks, [fig], dict(K=K, d=d, n=n, ratios=ratios, samples=B))
