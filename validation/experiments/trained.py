r"""Trained score networks against the theory: one experiment per seed paper (tag ``trained``).

Every experiment trains denoisers with :func:`validation.networks.train_denoiser` (EDM parameterisation,
float32, one torch thread per task), measures each network's own error against the exact denoiser of
the distribution it was trained on, on noisy points it was not trained on, and carries that error into the
tolerance through a perturbation bound (the bound is a property of the comparison, not of the
function under test).  A network whose error is too large for the comparison to discriminate makes
its check inconclusive (``resolution``), never "agree".

1. ``trained_linear_distillation`` (Li, Dai, Qu): the least-squares affine map distilled from a trained
   denoiser is the Wiener filter of its training set.  The affine fit is the L2(p) orthogonal projection
   onto affine maps, a contraction, and projects the training loss minimiser (the empirical denoiser
   D_M) exactly onto the Wiener filter of the training set's mean and 1/N covariance (D_G's map), so
   :math:`\|L[D_\theta] - W_G\| \le \|D_\theta - D_M\|_{L^2(p)} + ` the fit's sampling error
   :math:`\sqrt{(D+1)\,\mathrm{rss}/(D n_{fit})}`, both measured.  The distances of the network to D_M
   and D_G as N grows (memorisation -> generalisation) are the figure, with the paper's sample scores:
   the GL score (:func:`spectral_theory.metrics.generalization_score`) and the memorised fraction
   (:func:`spectral_theory.metrics.nn_ratio`) of the network's samples (EDM Heun, 18 levels) against N
   and width, next to those of D_M's samples from the same x_T, closed-form D_G samples and the true
   mixture.  The samples carry no check (figure, notes and record only): no measured quantity bounds
   how far the network's sample can end from D_M's sample of the same x_T.  Two data sets, as the paper:
   the 3-component mixture (D = 8) and the 8x8 digits (D = 64; N digits drawn without replacement, the
   others the held-out reference; their distribution has no exact denoiser, so no distance to the truth).
2. ``trained_molrg_subspaces`` (Wang et al.): the low-rank DAE trained by gradient descent (AdamW on the
   EDM loss) recovers the subspaces from the samples per component of
   :func:`spectral_theory.molrg.sample_complexity` (N_k = d + 1 for K > 1; checked from 2d, where the fit
   criterion below separates wrong splits) and not below N_k = d.  The DAE's fit is
   measured by the training energy its bases leave unexplained (the small-noise limit of its loss)
   against the optimum's (K-subspaces on the same set, 0 for noiseless data): a DAE leaving more than
   0.1^2 beyond it (what bases at the success threshold leave for isotropic data) did not fit; a failed
   DAE that leaves more than any basis of the truth's assignment missing by the threshold must
   (:func:`_failure_floor`, from the smallest eigenvalue of each component's sample second moment) may
   be a slow fit of the truth.  Each such uncertain run widens the tolerance of the success fraction by
   1/trials.  The best of up to a preset's
   number of random restarts is kept; they stop at the first near-exact fit (a quarter of the fit
   criterion's slack: below d every fit is one).
3. ``trained_jacobian_gaps`` (Ventura et al.; Achilli et al.'s D = 30 linear-manifold setting): the
   spectrum of tau J of an MLP score along its own reverse trajectory against the exact two-block
   spectrum (widths and eigenvalue counts of :func:`spectral_theory.spectral_gaps`).  The exact tau J is
   known at the trajectory's own points, so the network's error E there bounds each gap's change
   rigorously (:func:`gap_bound`: Li-Li quadratic residual bound with Weyl/Cauchy on the blocks).
4. ``trained_jacobian_alignment`` (Weitzner et al.): eigenvectors of a trained denoiser's Jacobian
   against those of the exact Gaussian denoiser (the principal directions).  The residual form of the
   Davis-Kahan theorem bounds :math:`1 - \mathrm{overlap}_i^2 \le |E q_i|^2/\hat\delta_i^2` per point
   (:func:`eigenvector_bound`), E the network's error against the construction (not the library); the
   first-order estimate :math:`\sum_{j\ne i} E_{ij}^2/(\mu_i - \mu_j)^2` is in the figure.
5. ``trained_molrg_jacobian_rank`` (Wang et al.): the numerical rank of a trained MLP denoiser's Jacobian
   on MoLRG against d_k (low noise) and sum d_k; a point counts where the network's error cannot change
   its rank (:func:`rank_certified`), the others widen the tolerance.

The bounds are evaluated at the points of the measurement, so they hold for every sample and the
checks carry no sampling term.  Without PyTorch every experiment returns no checks (inconclusive) and says so.
"""
from __future__ import annotations

import os

import numpy as np

import spectral_theory as st
from spectral_theory import metrics
from spectral_theory.distill import gaussian_sample_from_noise
from validation.experiment import Check, Figure, Outcome, Series, experiment
from validation.molrg_sweep import draw_problem
from validation.samplers import edm_sampler
from validation.sweep import grid, run_sweep

from .hidden_gaussian import SIGMA_MAX, SIGMA_MIN, _mixture

TAGS = ("trained",)
NO_TORCH = "PyTorch is not installed (pip install 'spectral-theory[nn]'): no network trained, no checks."


# Sizes of the presets, one place (the full preset's costs: README, Trained networks).
PRESETS = {
    "trained_linear_distillation": dict(
        quick=dict(n_train=[16, 128, 1024], digits_n_train=[48], widths=[64], seeds=[0], steps=1500, n_fit=4000,
                   n_samples=100),
        full=dict(n_train=[8, 32, 128, 512, 2048, 8192], digits_n_train=[16, 64, 256, 1024, 1597], widths=[32, 128],
                  seeds=[0], steps=2000, n_fit=20000, n_samples=500)),
    "trained_molrg_subspaces": dict(
        quick=dict(n=24, dims=[3], multiples=[], seeds=2, steps=400, restarts=3),
        full=dict(n=48, dims=[3, 5, 7], multiples=[1, 6], seeds=5, steps=500, restarts=8)),
    "trained_jacobian_gaps": dict(quick=dict(steps=1500, width=128, trajectories=16, levels=18),
                                  full=dict(steps=2500, width=256, trajectories=64, levels=40)),
    "trained_jacobian_alignment": dict(quick=dict(steps=1000, width=128, points=32, levels=6),
                                       full=dict(steps=3500, width=256, points=128, levels=16)),
    "trained_molrg_jacobian_rank": dict(quick=dict(steps=1500, width=128, samples=200, levels=8, p_std=1.2),
                                        full=dict(steps=3000, width=256, samples=500, levels=20, p_std=0.8)),
}


def _networks():
    """validation.networks, or None without torch."""
    try:
        from validation import networks
    except ImportError:
        return None
    return networks


def _sweep(ctx, task, points, name):
    store = os.path.join(ctx.store_dir, f"{name}.sqlite") if ctx.store_dir else None
    res = run_sweep(task, points, seed=int(ctx.rng.integers(2**31)), store=store, workers=ctx.workers,
                    scheduler=ctx.scheduler, progress=ctx.progress, name=f"{name}_{ctx.preset}")
    res.raise_for_failures()
    return res


# ---- 1. Li, Dai, Qu: distilled linear map vs the Wiener filter, memorisation -> generalisation ----
LDQ_SIGMAS = (0.2, 0.6, 2.0)          # in units of the data's sigma_data
# checked noise levels per data set: on the digits the networks' distance to D_M at 0.6 and 2 sigma_data
# (0.10-0.24 per coordinate, measured at N = 32-1797, width 128) exceeds the check's resolution (a quarter of the
# distilled map's output, 0.07-0.12): checks there could only be inconclusive (their distances are in the figure)
LDQ_CHECKED = dict(mixture=LDQ_SIGMAS, digits=(0.2,))
LDQ_SAMPLER_SIGMAS = st.edm_sigmas(18, SIGMA_MIN, SIGMA_MAX)   # the grid of hidden_gaussian_memorization (Heun)
SAMPLE_SOURCES = (("net", "trained network"), ("emp", "D_M (memorising, same x_T)"), ("gauss", "D_G (closed form)"),
                  ("true", "true mixture"))


def _ldq_data(params, rng):
    """(train (N, D), fresh(n) -> held-out points, exact model of the truth or None): N points of the mixture
    (fresh ones drawn from it), or N digits drawn without replacement (fresh ones: the other digits; their
    distribution has no exact denoiser)."""
    N = params["n_train"]
    if params.get("data", "mixture") == "digits":
        X = st.datasets.digits()
        perm = rng.permutation(X.shape[0])
        held = X[perm[N:]]
        return X[perm[:N]], lambda n: held[rng.permutation(held.shape[0])[:n]], None
    model = _mixture(np.random.default_rng(params["model_seed"]), params["dim"])
    return model.sample(N, rng=rng), lambda n: model.sample(n, rng=rng), model


def ldq_task(params, rng):
    """Sweep task: train one MLP on N training points (mixture or digits); distances to D_M, D_G, the truth
    (mixture only); distillation; sample scores."""
    nets = _networks()
    N = params["n_train"]
    train, fresh_points, model = _ldq_data(params, rng)
    dim = train.shape[1]
    net, rec = nets.train_denoiser(train, "mlp", steps=params["steps"], batch_size=params["batch"], lr=5e-3, ema=0.99,
                                   lr_schedule="cosine", warmup=min(100, params["steps"] // 10),
                                   network_options=dict(width=params["width"], depth=2), rng=rng, threads=1)
    emp, gau = st.Empirical(train), st.Gaussian.from_samples(train)
    n_eval, n_fit = params["n_eval"], params["n_fit"]
    fresh = fresh_points(n_eval)
    out = dict(seconds=rec.seconds, final_loss=rec.final_loss(), sigma_data=rec.sigma_data)
    for k in ("mse_M", "mse_G", "mse_true", "fit_M", "fit_M_se", "lin_L", "lin_L_se", "distill", "signal", "linearity"):
        out[k] = []
    for c in LDQ_SIGMAS:
        s = c * rec.sigma_data
        x = fresh + s * rng.standard_normal(fresh.shape)                  # held-out: the true model's noisy points
        for key, ref in (("mse_M", emp), ("mse_G", gau), ("mse_true", model)):
            out[key].append(metrics.score_field_distance(net, ref, x, s).mse if ref is not None else float("nan"))
        xt = train[rng.integers(0, N, n_eval)]
        xt = xt + s * rng.standard_normal(xt.shape)                        # the training distribution, fresh noise
        fd = metrics.score_field_distance(net, emp, xt, s)
        out["fit_M"].append(fd.mse)
        out["fit_M_se"].append(fd.mse_stderr)
        fit = st.distill_linear(net, s, n_fit, train, rng=rng)
        W, b = st.wiener_filter(gau.mean_vector, gau.covariance(), s)
        xs = train[rng.integers(0, N, n_eval)]
        xs = xs + s * rng.standard_normal(xs.shape)
        d = np.mean((xs @ (fit.W - W).T + (fit.b - b)) ** 2, axis=1)
        out["lin_L"].append(float(d.mean()))
        out["lin_L_se"].append(float(d.std(ddof=1) / np.sqrt(d.size)))
        out["distill"].append((dim + 1) * fit.residual_mse / (dim * n_fit))   # E|L_hat - L|^2 / D of least squares
        out["signal"].append(float(np.mean((xs @ fit.W.T + fit.b - gau.mean_vector) ** 2)))   # measured, not W_G
        out["linearity"].append(metrics.linearity_score(net, train, s, rng=rng, n_pairs=300).score)
    out.update(_ldq_samples(net, fresh_points, train, emp, gau, params["n_samples"], rng))
    return out


def _ldq_samples(net, fresh_points, train, emp, gau, k, rng):
    """GL score and memorised fraction (NN ratio < 1/3) against ``train`` of k samples of: the network and
    the exact empirical denoiser D_M (EDM Heun, the same x_T), the closed-form Gaussian D_G and the true
    mixture (as the exact-score experiment hidden_gaussian_memorization); plus the RMS distance between the
    network's and D_M's samples of the same x_T."""
    x_T = SIGMA_MAX * rng.standard_normal((k, train.shape[1]))
    samples = dict(net=edm_sampler(net.denoise, x_T, LDQ_SAMPLER_SIGMAS, method="heun").final,
                   emp=edm_sampler(emp.denoise, x_T, LDQ_SAMPLER_SIGMAS, method="heun").final,
                   gauss=gaussian_sample_from_noise(gau, gau.sample(k, rng=rng) + x_T, SIGMA_MAX),
                   true=fresh_points(k))
    out = {}
    for m, v in samples.items():
        gl, nn = metrics.generalization_score(v, train), metrics.nn_ratio(v, train)
        out[f"gl_{m}"], out[f"gl_{m}_se"] = gl.score, gl.stderr
        out[f"mem_{m}"], out[f"mem_{m}_se"] = nn.memorized_fraction, nn.stderr
    out["net_to_emp"] = float(np.sqrt(np.mean(np.sum((samples["net"] - samples["emp"]) ** 2, axis=1))))
    return out


@experiment(
    "trained_linear_distillation",
    claim="The affine map distilled from a trained denoiser is the Wiener filter of its training set (the Gaussian "
          "denoiser D_G), within the network's own distance to its loss minimiser; as N grows the network moves from "
          "the memorising D_M towards D_G (a Gaussian mixture and the 8x8 digits).",
    source="Li, Dai, Qu, arXiv 2410.24060 (NeurIPS 2024), Sec. 3-4 and Fig. 2-3",
    tags=TAGS + ("hidden-gaussian",),
    compares=("spectral_theory.distill.wiener_filter",),
)
def run_linear_distillation(ctx):
    if _networks() is None:
        return Outcome([], notes=NO_TORCH)
    dim = 8
    cfg = PRESETS["trained_linear_distillation"][ctx.preset]
    ns, widths, seeds, steps = cfg["n_train"], cfg["widths"], cfg["seeds"], cfg["steps"]
    points = grid(n_train=ns, width=widths, seed=seeds)
    for p in points:
        p.update(data="mixture", dim=dim, model_seed=int(ctx.seed.generate_state(1)[0]))
    digits = _digits_available()
    if digits:
        points += [dict(p, data="digits") for p in grid(n_train=cfg["digits_n_train"], width=[128], seed=seeds)]
    for p in points:
        p.update(steps=steps, batch=256, n_eval=1000, n_fit=cfg["n_fit"], n_samples=cfg["n_samples"])
    res = _sweep(ctx, ldq_task, points, "trained_linear_distillation")
    checks, rows = [], [r["result"] for r in res.rows]
    for p, r in zip(points, rows):
        for j, c in enumerate(LDQ_SIGMAS):
            if c not in LDQ_CHECKED[p["data"]]:
                continue
            eps = np.sqrt(r["fit_M"][j] + 3 * r["fit_M_se"][j])
            checks.append(Check(
                f"{p['data']} N={p['n_train']} width={p['width']} seed={p['seed']} sigma={c:g} sigma_d: RMS |L[D_net] - W_G|",
                0.0, np.sqrt(r["lin_L"][j]), r["lin_L_se"][j] / (2 * np.sqrt(r["lin_L"][j])),
                finite_size=eps + np.sqrt(r["distill"][j]), resolution=0.25 * np.sqrt(r["signal"][j]),
                note="contraction of the affine projection: |L[D_net] - L[D_M]| <= |D_net - D_M| (network error vs the "
                     "empirical denoiser on training points + fresh noise, mean + 3 se) plus least-squares sampling "
                     "error; resolution a quarter of the distilled map's output RMS about the mean"))
    figs, notes = [], []
    for data, title, truth in (("mixture", f"Trained MLP denoisers on a 3-component mixture (D={dim})", "true mixture"),
                               ("digits", "Trained MLP denoisers on the 8x8 digits (D=64)", "held-out digits")):
        sel = [i for i, p in enumerate(points) if p["data"] == data]
        if not sel:
            continue
        fig, note = _ldq_figure(f"trained_linear_distillation{'' if data == 'mixture' else '_digits'}", title, truth,
                                [points[i] for i in sel], [rows[i] for i in sel])
        figs.append(fig)
        notes.append(f"{data}: {note}")
    sample_record = [dict(data=p["data"], n_train=p["n_train"], width=p["width"], seed=p["seed"], net_to_emp=r["net_to_emp"],
                          **{f"{q}_{m}": r[f"{q}_{m}"] for q in ("gl", "mem") for m, _ in SAMPLE_SOURCES})
                     for p, r in zip(points, rows)]
    return Outcome(checks, figs, dict(dim=dim, n_train=ns, digits_n_train=cfg["digits_n_train"] if digits else [],
                                      widths=widths, seeds=seeds, steps=steps,
                                      sigmas_over_sigma_data=LDQ_SIGMAS, samples=points[0]["n_samples"],
                                      sampler="EDM Heun, 18 levels 80 -> 0.002", sample_scores=sample_record),
                   timings=dict(training_seconds=sum(r["seconds"] for r in rows)),
                   notes=" ".join(notes) + (" (digits skipped: scikit-learn is not installed.)" if not digits else "")
                         + " Memorisation -> generalisation is read off the figures (no threshold theory "
                           "for it); the samples carry no check: a network error along the sampler's ODE does not bound "
                           "its end point's distance to D_M's sample from the same x_T (D_M's Jacobian grows like "
                           "1/sigma^2 near the boundaries of the training points' cells).")


def _digits_available():
    try:
        st.datasets.digits()
    except ImportError:
        return False
    return True


def _ldq_figure(name, title, truth, points, rows):
    """The distances (per noise level), linearity and sample-score panels of one data set, and a note."""
    widths = sorted({p["width"] for p in points})
    panels = []
    for j, c in enumerate(LDQ_SIGMAS):
        series = []
        for w in widths:
            sel = [i for i, p in enumerate(points) if p["width"] == w]
            n = [points[i]["n_train"] for i in sel]
            for key, lab in (("mse_M", "to D_M (memorising)"), ("mse_G", "to D_G (Gaussian)"), ("mse_true", "to the truth")):
                if np.all(np.isfinite([rows[i][key][j] for i in sel])):
                    series.append(Series("points", n, [np.sqrt(rows[i][key][j]) for i in sel], label=f"width {w}: {lab}"))
        panels.append(dict(title=f"sigma = {c:g} sigma_data", xlabel="N (training points)",
                           ylabel=f"RMS distance per coordinate ({truth})", logx=True, logy=True, series=series))
    lin = [Series("points", [p["n_train"] for p in points], [r["linearity"][j] for r in rows], label=f"sigma={c:g} sigma_d")
           for j, c in enumerate(LDQ_SIGMAS)]
    panels.append(dict(title="linearity score of the network", xlabel="N", ylabel="linearity score", logx=True, series=lin))
    scores = _ldq_sample_scores(points, rows, widths, truth)
    for key, title_, ylabel, extra in (
            ("gl", "generalization score of samples", "E |x - NN(x)| / |x|",
             [Series("hline", [], [metrics.GL_THRESHOLD], label=f"threshold {metrics.GL_THRESHOLD:g}")]),
            ("mem", "memorised fraction of samples (NN ratio < 1/3)", "fraction", [])):
        series = [Series("points", sc["n"], sc[key], sc[key + "_se"], label=lab) for lab, sc in scores]
        panels.append(dict(title=title_, xlabel="N (training points)", ylabel=ylabel, logx=True, series=series + extra))
    j = 1
    order = [f"N={p['n_train']}: |D_net-D_M|={np.sqrt(r['mse_M'][j]):.3g}, |D_net-D_G|={np.sqrt(r['mse_G'][j]):.3g}"
             for p, r in zip(points, rows) if p["seed"] == 0 and p["width"] == widths[-1]]
    widest = scores[len(widths) - 1][1]
    mem = "; ".join(f"N={N}: {f:.2f}" for N, f in zip(widest["n"], widest["mem"]))
    note = (f"at sigma = 0.6 sigma_data (held-out points, {truth}): " + "; ".join(order)
            + f". Memorised fraction of the width-{widths[-1]} network's samples: " + mem
            + " (D_M's, GL scores and D_G's / the references' in the figure and the record: sample_scores).")
    return Figure(name, title, panels), note


def _ldq_sample_scores(points, rows, widths, truth):
    """[(label, dict(n, gl, gl_se, mem, mem_se))]: the network per width, then the three references, each the
    mean over the tasks at the same N (seeds; references also over widths) with the combined standard error."""
    out = []

    def curve(select, m):
        n = sorted({p["n_train"] for p in points})
        sc = dict(n=n)
        for q in ("gl", "mem"):
            vals = [[(r[f"{q}_{m}"], r[f"{q}_{m}_se"]) for p, r in zip(points, rows) if select(p) and p["n_train"] == N]
                    for N in n]
            sc[q] = [np.mean([v for v, _ in vs]) for vs in vals]
            sc[q + "_se"] = [np.sqrt(np.sum([e**2 for _, e in vs])) / len(vs) for vs in vals]
        return sc

    for w in widths:
        out.append((f"width {w}: trained network", curve(lambda p: p["width"] == w, "net")))
    for m, lab in SAMPLE_SOURCES[1:]:
        out.append((truth if m == "true" else lab, curve(lambda p: True, m)))
    return out


# ---- 2. Wang et al.: the low-rank DAE recovers the subspaces from N_k ~ d ----------------------------
def _unexplained(bases, X):
    """Fraction of the training energy outside the best-fitting subspace of each point,
    1 - sum_i max_k |U_k^T x_i|^2 / sum_i |x_i|^2 (the small-noise limit of the DAE's loss)."""
    return 1.0 - float(st.molrg.clustering_objective(bases, X)[0].sum() / np.sum(X**2))


def molrg_task(params, rng):
    """Sweep task: one MoLRG training set; K-subspaces (the optimum) and gradient-trained low-rank DAEs from
    up to ``restarts`` random starts (the best: least unexplained energy), stopping at the first near-exact fit."""
    nets = _networks()
    n, d, K, Nk = params["n"], params["d"], params["K"], params["n_k"]
    model, X = draw_problem(n, d, K, Nk, 0.0, rng)
    ks = st.molrg.fit_subspaces(X, K, [d] * K, rng=rng)
    u_opt = _unexplained(ks.bases, X)
    fit_level = u_opt + st.molrg.SUCCESS_THRESHOLD**2
    # restarts stop at a near-exact fit, a quarter of the fit criterion's slack: a DAE still converging slowly
    # can pass the criterion with a recovery error of 0.3 (measured at d = 7, N_k = 2d), so the best of the
    # restarts is kept unless one is clearly at the optimum
    stop_level = u_opt + (st.molrg.SUCCESS_THRESHOLD / 2) ** 2
    best, seconds, used = None, 0.0, 0
    for child in rng.spawn(params["restarts"]):
        dae, rec = nets.train_denoiser(X, "lowrank_dae", network_options=dict(dims=[d] * K), steps=params["steps"],
                                       batch_size=params["batch"], lr=params["lr"], ema=0.0, rng=child, threads=1)
        seconds, used = seconds + rec.seconds, used + 1
        u = _unexplained(dae.module.bases, X)
        if best is None or u < best[1]:
            best = (dae.module.bases, u)
        if u <= stop_level:
            break
    bases, u = best
    error = st.molrg.recovery_error(bases, model.bases).max_error
    floor = _failure_floor(model.bases, X, Nk)
    # a failed fit is attributed to the training objective only if it leaves less energy than any basis of the
    # truth's assignment that misses by the threshold must (else it may be a stalled or slowly converging fit
    # of the truth); below N_k = d the floor is 0 and the data do not determine the subspaces at all
    uncertain = u > fit_level or (error >= st.molrg.SUCCESS_THRESHOLD and floor > 0 and u > u_opt + floor)
    return dict(dae_error=error, ks_error=st.molrg.recovery_error(ks.bases, model.bases).max_error,
                unexplained=u, unexplained_optimum=u_opt, fitted=bool(u <= fit_level), uncertain=bool(uncertain),
                failure_floor=floor, restarts_used=used, seconds=seconds)


def _failure_floor(bases, X, n_k):
    r"""Least unexplained energy fraction of a configuration that assigns each point to its own component's
    basis V_k and misses some subspace by the success threshold t: the points :math:`x_i = U_k c_i` of
    component k leave :math:`\mathrm{tr}((I - U_k^\top P_V U_k) S_k) \ge \lambda_{\min}(S_k)(d_k - |V^\top U_k|_F^2)
    = \lambda_{\min}(S_k)\, d_k e^2` (:math:`S_k = \sum_i c_i c_i^\top`, e the recovery error), so the fraction
    is at least :math:`\min_k \lambda_{\min}(S_k)\, d_k t^2/\sum_i |x_i|^2` (0 when N_k < d_k).  ``X`` holds the
    components' ``n_k`` points in order."""
    t2, total = st.molrg.SUCCESS_THRESHOLD**2, float(np.sum(X**2))
    lows = []
    for k, U in enumerate(bases):
        if n_k < U.shape[1]:                      # S_k singular: exactly 0 (not its rounding error)
            return 0.0
        C = X[k * n_k:(k + 1) * n_k] @ U
        lows.append(max(float(np.linalg.eigvalsh(C.T @ C)[0]), 0.0) * U.shape[1] * t2 / total)
    return min(lows)


@experiment(
    "trained_molrg_subspaces",
    claim="The low-rank DAE trained by gradient descent on MoLRG data recovers the subspaces from the number of "
          "samples per component that molrg.sample_complexity gives (N_k >= d + 1 for K > 1: linear in the intrinsic "
          "dimension, not the ambient one), and not below N_k = d.",
    source="Wang, Zhang, Zhang, Chen, Ma, Qu, arXiv 2409.02426, Sec. 3 and Fig. 3 (code: edm/trainMoLRG.py)",
    tags=TAGS + ("molrg",),
    compares=("spectral_theory.molrg.sample_complexity",),
)
def run_molrg_subspaces(ctx):
    if _networks() is None:
        return Outcome([], notes=NO_TORCH)
    cfg = PRESETS["trained_molrg_subspaces"][ctx.preset]
    n, ds, K, mult, seeds = cfg["n"], cfg["dims"], 2, cfg["multiples"], list(range(cfg["seeds"]))
    steps, restarts = cfg["steps"], cfg["restarts"]
    points = []
    for d in ds:
        nks = sorted({max(1, int(round(m * d / 2))) for m in mult} | {d - 1, d, d + 1, 2 * d})
        for nk in nks:
            for s in seeds:
                points.append(dict(n=n, d=d, K=K, n_k=nk, seed=s, steps=steps, batch=64, lr=2e-2, restarts=restarts))
    res = _sweep(ctx, molrg_task, points, "trained_molrg_subspaces")
    rows = [r["result"] for r in res.rows]
    thr = st.molrg.SUCCESS_THRESHOLD
    checks, panels, at_d = [], [], []
    for d in ds:
        need = st.molrg.sample_complexity(n, [d] * K)         # the prediction: equal dims, one count for all
        necessary, sufficient = int(need.necessary[0]), int(need.sufficient[0])
        cells = sorted({p["n_k"] for p in points if p["d"] == d})
        f_dae, f_ks = [], []
        for nk in cells:
            sel = [r for p, r in zip(points, rows) if p["d"] == d and p["n_k"] == nk]
            sd = np.mean([r["dae_error"] < thr for r in sel])
            sk = np.mean([r["ks_error"] < thr for r in sel])
            unfit = np.mean([r["uncertain"] for r in sel])
            f_dae.append(sd)
            f_ks.append(sk)
            pred = 0.0 if nk < necessary else 1.0 if nk >= sufficient else None
            # The fit criterion puts a fitted DAE at a global optimum of the training objective only where no wrong
            # configuration comes close: below N_k = d (every fit through the points is optimal) and from 2d.  For
            # d <= N_k < 2d wrong splits leave less energy unexplained than it resolves, so a DAE at a near-optimal
            # wrong split would count against a correct theory: reported, not checked.  (A property of the
            # measurement, from the data's d; the prediction comes from sample_complexity alone.)
            if pred is None or d <= nk < 2 * d:
                at_d.append(f"d={d}, N_k={nk}: DAE {sd:.2f}, K-subspaces {sk:.2f}")
                continue
            checks.append(Check(f"d={d}, N_k={nk}: success fraction of the trained DAE", pred, sd, 0.0,
                                finite_size=unfit, resolution=0.5,
                                note=f"theory (molrg.sample_complexity): no recovery below N_k = {necessary}, recovery "
                                     f"from N_k = {sufficient}; checked below d and from 2d, where the fit criterion "
                                     "certifies a global optimum; best of the random restarts; a DAE leaving more than 0.1^2 of "
                                     "the training energy unexplained beyond the K-subspaces optimum (the fraction a "
                                     "basis at the success threshold leaves for isotropic data: |P - P_hat|_F^2/(2d)) is "
                                     "unfit, and a failed DAE leaving more than a basis of the truth's assignment that "
                                     "misses by the threshold must (lambda_min(S_k) d t^2 / energy) may be a slow fit of "
                                     "the truth: both may go either way (1/trials each)"))
        panels.append(dict(title=f"d = {d}, K = {K}, n = {n}", xlabel="N_k / d", ylabel="success fraction",
                           series=[Series("points", np.array(cells) / d, f_dae, label="low-rank DAE (AdamW, EDM loss)"),
                                   Series("points", np.array(cells) / d, f_ks, label="optimum (K-subspaces)"),
                                   Series("vline", [sufficient / d], label="predicted N_k (sample_complexity)")]))
    fig = Figure("trained_molrg_subspaces", "Subspace recovery by a gradient-trained low-rank DAE", panels)
    n_unfit = sum(not r["fitted"] for r in rows)
    n_slow = sum(r["uncertain"] and r["fitted"] for r in rows)
    return Outcome(checks, [fig], dict(n=n, dims=ds, K=K, seeds=len(seeds), steps=steps, restarts=restarts),
                   notes=f"{n_unfit} of {len(rows)} DAE fits (up to {restarts} restarts each, "
                         f"{np.mean([r['restarts_used'] for r in rows]):.2f} used on average) left more energy unexplained "
                         "than the success threshold allows (unfit): gradient training of the low-rank DAE from random "
                         "starts often stalls with one direction of each basis taken from the other subspace (recovery "
                         f"error sqrt(1/d)); {n_slow} more fitted but failed above the failure floor (possibly a "
                         "slow fit of the truth: uncertain). Success fractions not checked (d <= N_k < 2d: at N_k = d the optimum is not "
                         "unique; below 2d near-optimal wrong splits leave less than 0.1^2 of the energy unexplained, so "
                         "the loss cannot certify the global optimum): " + "; ".join(at_d) + ".")


# ---- 3. Ventura et al.: gaps of a trained network's Jacobian along the reverse trajectory -------------
# The MLP recipe of the Jacobian experiments: large batches, warm-up then cosine decay, FiLM conditioning and a
# low-frequency noise embedding (validation.networks.mlp).  Measured on the two-block manifold: 1,500 steps of
# batch 1,024 reach the Jacobian error (0.06-0.11 in tau J units) of 6,000 steps of batch 256 with the first
# recipe (additive conditioning, embedding up to 64 cycles, lr 3e-3) in half the time.
JACOBIAN_RECIPE = dict(batch_size=1024, lr=1e-2, warmup=100, ema=0.99, lr_schedule="cosine")


def _train_on_model(nets, model, steps, width, rng, depth=3):
    return nets.train_denoiser(model, "mlp", steps=steps, network_options=dict(width=width, depth=depth), rng=rng,
                               threads=1, **JACOBIAN_RECIPE)


def _block_spectra(Et, index):
    """Extreme eigenvalues of the diagonal block ``index`` of a batch of symmetric matrices."""
    ev = np.linalg.eigvalsh(Et[:, index][:, :, index])
    return ev[:, 0], ev[:, -1]


def gap_bound(A_hat, lam, Q, k):
    r"""Rigorous bound on :math:`|g_k(\hat A) - g_k(A)|`, the change of the gap between the k-th and
    (k+1)-th smallest eigenvalues of a symmetric :math:`A = Q\,\mathrm{diag}(\lambda)\,Q^\top`
    (``lam`` ascending, :math:`\lambda_k < \lambda_{k+1}`) under :math:`\hat A = A + E`, per matrix of
    the batch ``A_hat`` (B, D, D).

    In A's eigenbasis split after the k-th eigenvalue, :math:`\hat A = [[M, F^\top], [F, N]]`.  If
    :math:`\eta = \lambda_{\min}(N) - \lambda_{\max}(M) > 0`, the quadratic residual bound of Li and Li
    (Linear Algebra Appl. 395, 2005) puts :math:`\lambda_k(\hat A)`, :math:`\lambda_{k+1}(\hat A)` within
    :math:`q = 2|F|^2/(\eta + \sqrt{\eta^2 + 4|F|^2})` of :math:`\lambda_{\max}(M)`, :math:`\lambda_{\min}(N)`;
    by Weyl and Cauchy interlacing :math:`\lambda_{\min}(N) - \lambda_{k+1} \in [\lambda_{\min}(E_{++}),
    \lambda_{\min}(E_{SS})]` and :math:`\lambda_{\max}(M) - \lambda_k \in [\lambda_{\max}(E_{TT}),
    \lambda_{\max}(E_{--})]` (S, T: the eigenspaces of :math:`\lambda_{k+1}`, :math:`\lambda_k`).  So
    :math:`|g_k(\hat A) - g_k(A)| \le \max(\lambda_{\max}(E_{--}) - \lambda_{\min}(E_{++}),
    \lambda_{\min}(E_{SS}) - \lambda_{\max}(E_{TT})) + 2q`, and never more than Weyl's :math:`2|E|_{op}`
    (used alone when :math:`\eta \le 0`).  For an error spread evenly over a 15 + 15 split it is about
    0.7 of Weyl's bound while the coupling is small against the gap, and tends to Weyl's as the
    quadratic term grows.
    """
    A_hat = 0.5 * (A_hat + np.swapaxes(A_hat, -1, -2))
    Et = np.swapaxes(Q, 0, 1) @ A_hat @ Q - np.diag(lam)                       # E in A's eigenbasis (B, D, D)
    weyl = 2 * np.max(np.abs(np.linalg.eigvalsh(Et)), axis=-1)
    tol = 1e-9 * max(1.0, float(np.max(np.abs(lam))))
    minus, plus = np.arange(k), np.arange(k, lam.size)
    T, S = minus[np.abs(lam[minus] - lam[k - 1]) <= tol], plus[np.abs(lam[plus] - lam[k]) <= tol]
    _, b_hi = _block_spectra(Et, minus)
    _, b_lo = _block_spectra(Et, T)
    a_lo, _ = _block_spectra(Et, plus)
    a_hi, _ = _block_spectra(Et, S)
    Ah = Et + np.diag(lam)
    eta = _block_spectra(Ah, plus)[0] - _block_spectra(Ah, minus)[1]
    f2 = np.linalg.norm(Et[:, plus][:, :, minus], ord=2, axis=(1, 2)) ** 2
    q = 2 * f2 / (np.maximum(eta, 0) + np.sqrt(np.maximum(eta, 0) ** 2 + 4 * f2))
    bound = np.maximum(b_hi - a_lo, a_hi - b_lo) + 2 * q
    return np.where(eta > 0, np.minimum(bound, weyl), weyl)


GAP_BLOCKS = ((5, 5.0), (10, 0.2))                   # G_max = (sqrt 25 - 1)/(sqrt 25 + 1) = 2/3 at tau = 1
GAP_CHECKS = {"manifold": (0.02, 0.1), "intermediate": (0.3, 1.0, 3.0)}    # tau of the checked gaps


@experiment(
    "trained_jacobian_gaps",
    claim="The spectrum of tau J of an MLP score trained on a two-block linear manifold (D=30, d1=5, d2=10) shows "
          "the predicted gaps along the reverse trajectory, within the network's own Jacobian error; it departs at "
          "small tau.",
    source="Ventura, Achilli, Silvestri, Lucibello, Ambrogioni, arXiv 2410.08727 (code: losing-dimensions, "
           "synthetic experiments)",
    tags=TAGS + ("spectral-gaps",),
    compares=("spectral_theory.gaps.spectral_gaps",),
)
def run_jacobian_gaps(ctx):
    nets = _networks()
    if nets is None:
        return Outcome([], notes=NO_TORCH)
    rng = ctx.rng
    D = 30
    model = st.LinearManifold(D, list(GAP_BLOCKS), basis="orthonormal", rng=rng)
    cfg = PRESETS["trained_jacobian_gaps"][ctx.preset]
    steps, width, batch = cfg["steps"], cfg["width"], cfg["trajectories"]
    checked = sorted({t for ts in GAP_CHECKS.values() for t in ts}, reverse=True)
    sigmas = np.unique(np.concatenate([st.edm_sigmas(cfg["levels"], 0.01, 50.0), np.sqrt(checked)]))[::-1]
    taus = sigmas[:-1] ** 2
    with nets.limit_threads(1):
        net, rec = _train_on_model(nets, model, steps, width, rng)
        x_T = sigmas[0] * rng.standard_normal((batch, D))
        idx = np.arange(taus.size)
        traj = edm_sampler(net.denoise, x_T, sigmas, method="heun", record=idx)
        A_net = np.stack([t * net.score_jacobian(traj.states[i], sigmas[i]) for i, t in enumerate(taus)])  # (T, B, D, D)
    ev_net = np.linalg.eigvalsh(0.5 * (A_net + np.swapaxes(A_net, -1, -2)))                           # (T, B, D)
    gaps = [st.spectral_gaps(model, t) for t in taus]
    kinds = ("manifold", "intermediate")
    pred = {kd: np.array([next(g.width for g in gs if g.kind == kd) for gs in gaps]) for kd in kinds}
    meas = {kd: np.empty((taus.size, batch)) for kd in kinds}
    bound = {kd: np.empty((taus.size, batch)) for kd in kinds}
    for i, (t, gs) in enumerate(zip(taus, gaps)):
        # the exact tau J at the trajectory's own points (constant in x for a Gaussian), for the network's error
        lam, Q = np.linalg.eigh(t * model.score_jacobian(np.zeros(D), sigmas[i]))
        for g in gs:
            k = int(round(g.n_below))               # the gap sits above the k smallest eigenvalues (theory's count)
            meas[g.kind][i] = ev_net[i, :, k] - ev_net[i, :, k - 1]
            bound[g.kind][i] = gap_bound(A_net[i], lam, Q, k)
    checks = []
    at = {kd: [int(np.argmin(np.abs(taus - t))) for t in GAP_CHECKS[kd]] for kd in kinds}
    for kd in kinds:
        for i in at[kd]:
            m = float(meas[kd][i].mean())
            checks.append(Check(f"tau={taus[i]:.3g}: {kd} gap of tau J (network, along its trajectory)", pred[kd][i], m,
                                0.0, finite_size=float(bound[kd][i].mean()), resolution=0.25 * pred[kd][i],
                                note="rigorous per point: Li-Li quadratic residual + Weyl/Cauchy bound on the gap's change "
                                     "under the network's error tau (J_net - J) at the same trajectory points (mean over "
                                     f"{batch} points); inconclusive when it exceeds a quarter of the predicted gap (the check is "
                                     "quantitative to 25% or not at all)"))
    k_peak = int(np.argmax(meas["intermediate"].mean(axis=1)))
    tau_peak = st.gap_peak(GAP_BLOCKS[1][1], GAP_BLOCKS[0][1])[0]
    lines = []
    for kd in kinds:
        lines += [Series("line", taus, pred[kd], label=f"{kd} gap (theory)", group=kd),
                  Series("points", taus, meas[kd].mean(1), meas[kd].std(1), label=f"{kd} gap (network)", group=kd),
                  Series("band", taus, np.maximum(pred[kd] - bound[kd].mean(1), 0), pred[kd] + bound[kd].mean(1),
                         label=f"error bound ({kd})", group=kd)]
    lines.append(Series("vline", [tau_peak], label="predicted tau_max"))
    spec = [Series("line", taus, ev_net[:, :, j].mean(1), label="") for j in range(D)]
    fig = Figure("trained_jacobian_gaps", f"Jacobian spectrum of a trained MLP score (D={D}, blocks "
                 + ", ".join(f"{d} x {v:g}" for d, v in GAP_BLOCKS) + ")",
                 [dict(title="gaps of tau J", xlabel="tau = sigma^2", ylabel="gap", logx=True, series=lines),
                  dict(title="eigenvalues of tau J (network, trajectory mean)", xlabel="tau", ylabel="eigenvalue",
                       logx=True, series=spec),
                  dict(title="bound on the gap error from the network's Jacobian error", xlabel="tau", ylabel="bound",
                       logx=True, logy=True,
                       series=[Series("points", taus, bound[kd].mean(1), label=kd) for kd in kinds])])
    unresolved = taus[np.minimum(bound["manifold"].mean(1) / np.maximum(pred["manifold"], 1e-300),
                                 bound["intermediate"].mean(1) / np.maximum(pred["intermediate"], 1e-300)) > 0.25]
    shortfall = np.mean([1 - meas[kd][i].mean() / pred[kd][i] for kd in kinds for i in at[kd]])
    notes = (f"Predicted intermediate-gap peak at tau={tau_peak:.3g}; the network's trajectory-mean gap peaks at "
             f"tau={taus[k_peak]:.3g} (grid; the gap is flat there, so the peak is not checked). Network gaps below the "
             f"theory by {shortfall:.0%} "
             "on average at the checked levels (a degenerate block of tau J spreads under the network's error, which "
             "narrows the gaps). Levels where neither gap is resolved to 25%: tau = "
             + ", ".join(f"{t:.3g}" for t in unresolved[::max(1, unresolved.size // 8)]) + ".")
    return Outcome(checks, [fig], dict(dim=D, blocks=[list(b) for b in GAP_BLOCKS], steps=steps, width=width,
                                       trajectories=batch, recipe=JACOBIAN_RECIPE, final_loss=rec.final_loss()),
                   notes=notes, timings=dict(training_seconds=rec.seconds))


# ---- 4. Weitzner et al.: Jacobian eigenvectors vs principal directions --------------------------------
def eigenvector_bound(A_hat, mu, Q, k):
    r"""Rigorous bound on :math:`1 - (\hat v_i^\top q_i)^2` for the top ``k`` eigenvectors
    :math:`\hat v_i` of each symmetric matrix of the batch ``A_hat`` (B, D, D) against those of
    :math:`A = Q\,\mathrm{diag}(\mu)\,Q^\top` (``mu`` descending): with the residual
    :math:`r_i = \hat A q_i - \mu_i q_i = E q_i` and :math:`\hat\delta_i = \min_{j \ne i}|\hat\mu_j - \mu_i|`
    (the distance of the exact eigenvalue to the *other* eigenvalues of :math:`\hat A`), expanding
    :math:`q_i` in :math:`\hat A`'s eigenbasis gives :math:`|r_i|^2 \ge \hat\delta_i^2 \sin^2\theta_i`
    (the residual form of the Davis-Kahan theorem; Parlett, The Symmetric Eigenvalue Problem, Thm 11.7.1),
    so :math:`1 - \cos^2\theta_i \le \min(1, |r_i|^2/\hat\delta_i^2)`.  Returns (B, k)."""
    A_hat = 0.5 * (A_hat + np.swapaxes(A_hat, -1, -2))
    ev = np.linalg.eigvalsh(A_hat)[:, ::-1]                                       # (B, D) descending
    r2 = np.sum((A_hat @ Q[:, :k] - Q[:, :k] * mu[:k]) ** 2, axis=1)                # (B, k)
    dist = np.abs(ev[:, None, :] - mu[None, :k, None])                             # (B, k, D)
    dist[:, np.arange(k), np.arange(k)] = np.inf                                   # j != i
    with np.errstate(divide="ignore"):
        return np.minimum(1.0, r2 / np.min(dist, axis=2) ** 2)


ALIGN_EIGENVALUES = (4.0, 2.0, 1.0, 0.5)              # principal variances; the other D - 4 are 0.05
ALIGN_CHECKED = (0.5, 1.0, 2.0)                      # noise levels of the checks (eigengaps >= 0.049 there)


@experiment(
    "trained_jacobian_alignment",
    claim="The top eigenvectors of a trained denoiser's Jacobian align with those of the exact Gaussian denoiser "
          "(the data's principal directions) within the Davis-Kahan bound of the network's own Jacobian error; where "
          "the eigengaps close (low and high noise) the trained network loses the alignment, by eigengap rather than "
          "in eigenvalue order.",
    source="Weitzner, Delbracio, Milanfar, Giryes, arXiv 2410.14730 (trained-denoiser Jacobians)",
    tags=TAGS + ("spiked",),
    compares=("spectral_theory.models.gaussian.Gaussian.score_jacobian",),
)
def run_jacobian_alignment(ctx):
    nets = _networks()
    if nets is None:
        return Outcome([], notes=NO_TORCH)
    rng = ctx.rng
    D, k_top = 16, len(ALIGN_EIGENVALUES)
    lam = np.concatenate([ALIGN_EIGENVALUES, np.full(D - k_top, 0.05)])
    Q = np.linalg.qr(rng.standard_normal((D, D)))[0]
    g = st.Gaussian.from_eigen(np.zeros(D), lam, Q)
    cfg = PRESETS["trained_jacobian_alignment"][ctx.preset]
    steps, width, batch = cfg["steps"], cfg["width"], cfg["points"]
    sig = np.unique(np.concatenate([np.geomspace(0.1, 5.0, cfg["levels"]), ALIGN_CHECKED]))
    with nets.limit_threads(1):
        net, rec = _train_on_model(nets, g, steps, width, rng)
        overlaps, ov_se = np.empty((sig.size, k_top)), np.empty((sig.size, k_top))
        bound, first = np.empty((sig.size, k_top)), np.empty((sig.size, k_top))
        for a, s in enumerate(sig):
            x = g.sample(batch, rng=rng) + s * rng.standard_normal((batch, D))
            Jn = np.eye(D) + s**2 * net.score_jacobian(x, s)                   # the network's denoiser Jacobian
            vecs = np.linalg.eigh(0.5 * (Jn + np.swapaxes(Jn, 1, 2)))[1][:, :, ::-1][:, :, :k_top]
            # the prediction: eigenvectors of the library's exact denoiser Jacobian I + sigma^2 J
            pv = np.linalg.eigh(np.eye(D) + s**2 * g.score_jacobian(np.zeros(D), s))[1][:, ::-1][:, :k_top]
            ov = np.einsum("bdk,dk->bk", vecs, pv) ** 2                                         # (B, k)
            overlaps[a], ov_se[a] = ov.mean(0), ov.std(0, ddof=1) / np.sqrt(batch)
            # the network's error against the construction (Q, lam), not the library: rigorous bound and first order
            mu = lam / (lam + s**2)
            bound[a] = eigenvector_bound(Jn, mu, Q, k_top).mean(0)
            Et = np.einsum("di,bde,ej->bij", Q, 0.5 * (Jn + np.swapaxes(Jn, 1, 2)), Q) - np.diag(mu)
            dmu = mu[:k_top, None] - mu[None, :]
            with np.errstate(divide="ignore"):
                first[a] = np.where(np.abs(dmu) > 0, Et[:, :k_top, :] ** 2 / dmu**2, 0.0).sum(axis=2).mean(axis=0)
    checks = []
    for a, s in enumerate(sig):
        if not np.any(np.isclose(s, ALIGN_CHECKED)):
            continue
        for i in range(k_top):
            checks.append(Check(f"sigma={s:.3g}: overlap^2 of eigenvector {i + 1} with the exact denoiser's", 1.0,
                                overlaps[a, i], 0.0, finite_size=bound[a, i], resolution=0.25,
                                note="residual Davis-Kahan bound 1 - overlap^2 <= |E q_i|^2 / min_j!=i |mu_hat_j - mu_i|^2 per "
                                     f"point (E: the network's Jacobian error at the same points, mean over {batch}); "
                                     "rigorous, so no sampling term"))
    fig = Figure("trained_jacobian_alignment", f"Trained denoiser's Jacobian eigenvectors vs principal directions (D={D})",
                 [dict(title="squared overlap", xlabel="sigma", ylabel="overlap^2", logx=True,
                       series=[Series("points", sig, overlaps[:, i], ov_se[:, i], label=f"direction {i + 1} (lambda={lam[i]:.2g})",
                                      group=str(i)) for i in range(k_top)]
                       + [Series("line", sig, 1 - bound[:, i], label=f"Davis-Kahan floor {i + 1}", group=str(i))
                          for i in range(k_top)]
                       + [Series("hline", [], [1.0], label="exact Gaussian denoiser")]),
                  dict(title="1 - overlap^2: bound and first-order estimate", xlabel="sigma", ylabel="1 - overlap^2",
                       logx=True, logy=True,
                       series=[Series("points", sig, np.maximum(1 - overlaps[:, i], 1e-6), label=f"measured {i + 1}",
                                      group=str(i)) for i in range(k_top)]
                       + [Series("line", sig, first[:, i], label=f"first order {i + 1}", group=str(i)) for i in range(k_top)])])
    return Outcome(checks, [fig], dict(dim=D, eigenvalues=lam, steps=steps, width=width, points=batch, sigmas=sig,
                                       checked_sigmas=ALIGN_CHECKED, recipe=JACOBIAN_RECIPE),
                   timings=dict(training_seconds=rec.seconds),
                   notes="Smallest overlap^2 over the noise grid, directions 1..4: "
                         + ", ".join(f"{overlaps[:, i].min():.3f} (sigma={sig[np.argmin(overlaps[:, i])]:.3g})"
                                     for i in range(k_top))
                         + ". Checked at sigma = " + ", ".join(f"{c:g}" for c in ALIGN_CHECKED)
                         + " (eigengaps of the exact denoiser >= 0.049); elsewhere the near-degenerate directions are "
                           "figure-only. Exact scores of a finite training set do not lose alignment in eigenvalue order "
                           "(experiment spiked_jacobian_alignment); the exact Gaussian denoiser never loses it.")


# ---- 5. Wang et al.: numerical rank of a trained MLP denoiser's Jacobian on MoLRG -------------------
def rank_certified(M, eps_op, eps_fro, energy=0.99):
    r"""Whether every matrix within the error ``eps_op`` (operator norm) and ``eps_fro`` (Frobenius norm)
    (B,) of ``M`` (B, m, p) has the numerical rank r of ``M`` (the energy rule of Wang et al.: the smallest r
    with :math:`\sum_{i\le r} s_i^2 > e^2 \sum_i s_i^2`, evaluated here rather than by
    :func:`spectral_theory.molrg.numerical_rank`, the function under test, so that the certificate does not
    move with it).  The energy ratio grows with the
    head (largest singular values) and falls with the tail, so r is certain when the smallest ratio at r
    exceeds :math:`e^2` and the largest ratio at r - 1 does not; the norms of the head and the tail move by
    at most :math:`\sqrt{k}\,\epsilon_{op}` over k values (Weyl, per value) and by at most
    :math:`\epsilon_F` (Mirsky: the singular-value vector moves by at most :math:`|E|_F` in l2); the tighter
    of the two is used.  Returns (B,) bools."""
    s = np.linalg.svd(M, compute_uv=False)                                       # (B, n) decreasing
    eo, ef = np.asarray(eps_op, float)[:, None], np.asarray(eps_fro, float)
    e2 = energy**2
    cum = np.cumsum(s**2, axis=1)
    r = np.where(cum[:, -1] > 0, np.sum(cum <= e2 * cum[:, -1:], axis=1) + 1, 0)

    def norms(k):
        """(head_lo, head_hi, tail_lo, tail_hi): l2 norms of the k largest / the rest, perturbed."""
        head = np.arange(s.shape[1])[None, :] < k[:, None]
        h = np.sqrt(np.sum(np.where(head, s**2, 0), 1))
        t = np.sqrt(np.sum(np.where(head, 0, s**2), 1))
        up = lambda mask: np.sqrt(np.sum(np.where(mask, (s + eo) ** 2, 0), 1))
        down = lambda mask: np.sqrt(np.sum(np.where(mask, np.maximum(s - eo, 0) ** 2, 0), 1))
        return (np.maximum(down(head), h - ef), np.minimum(up(head), h + ef),
                np.maximum(down(~head), t - ef), np.minimum(up(~head), t + ef))

    h_lo, _, _, t_hi = norms(r)
    _, h_hi, t_lo, _ = norms(r - 1)
    h_lo, t_lo = np.maximum(h_lo, 0), np.maximum(t_lo, 0)
    return (h_lo**2 > e2 * (h_lo**2 + t_hi**2)) & ((r <= 1) | (h_hi**2 <= e2 * (h_hi**2 + t_lo**2)))


RANK_DIMS = (3, 5)
RANK_LOW, RANK_MID = (0.05, 0.1), (0.3, 0.5)         # checked noise levels: own d_k; at most sum d_k
RANK_TRAIN_P_MEAN = float(np.log(0.1))                # training ln sigma ~ N(ln 0.1, p_std^2): accurate where checked


@experiment(
    "trained_molrg_jacobian_rank",
    claim="The numerical rank (99% energy) of a trained MLP denoiser's Jacobian on MoLRG data is d_k of the "
          "sample's own subspace at low noise and never above sum_k d_k (far below the ambient dimension), as for the "
          "exact denoiser; at high noise it rises towards sum_k d_k.",
    source="Wang, Zhang, Zhang, Chen, Ma, Qu, arXiv 2409.02426, Sec. 4 (Jacobian rank of trained denoisers)",
    tags=TAGS + ("molrg", "jacobian"),
    compares=("spectral_theory.molrg.numerical_rank",),
)
def run_molrg_jacobian_rank(ctx):
    nets = _networks()
    if nets is None:
        return Outcome([], notes=NO_TORCH)
    rng = ctx.rng
    n, dims = 20, list(RANK_DIMS)
    model = st.MoLRG(n, dims, rng=rng)
    cfg = PRESETS["trained_molrg_jacobian_rank"][ctx.preset]
    steps, width, B = cfg["steps"], cfg["width"], cfg["samples"]
    sigmas = np.unique(np.concatenate([np.geomspace(0.02, 10.0, cfg["levels"]), RANK_LOW, RANK_MID]))
    with nets.limit_threads(1):
        net, rec = nets.train_denoiser(model, "mlp", steps=steps, network_options=dict(width=width, depth=3), rng=rng,
                                       threads=1, schedule=nets.LogNormalSigma(RANK_TRAIN_P_MEAN, cfg["p_std"]), **JACOBIAN_RECIPE)
        x0, labels = model.sample(B, rng=rng, return_labels=True)
        xi = rng.standard_normal(x0.shape)
        own = np.array(dims)[labels]
        ranks, exact, certain, eps = [], [], [], []
        for s in sigmas:
            xt = x0 + s * xi
            Jn = np.eye(n) + s**2 * net.score_jacobian(xt, s)                  # grad D = I + sigma^2 J (alpha = 1)
            Je = np.eye(n) + s**2 * model.score_jacobian(xt, s)
            e = np.linalg.norm(Jn - Je, ord=2, axis=(1, 2))                    # the network's error at the same points
            ranks.append(st.molrg.numerical_rank(Jn))
            exact.append(st.molrg.numerical_rank(Je))
            certain.append(rank_certified(Jn, e, np.linalg.norm(Jn - Je, axis=(1, 2))))
            eps.append(e.mean())
    ranks, exact, certain = np.array(ranks), np.array(exact), np.array(certain)
    checks = []
    for s_set, what, hit in ((RANK_LOW, f"rank = d_k of own subspace {dims}", lambda r: r == own),
                             (RANK_MID, f"rank <= sum d_k = {sum(dims)}", lambda r: r <= sum(dims))):
        for s in s_set:
            a = int(np.argmin(np.abs(sigmas - s)))
            checks.append(Check(f"sigma={s:g}: fraction of samples with {what}", 1.0, float(np.mean(hit(ranks[a]))), 0.0,
                                finite_size=float(1 - certain[a].mean()), resolution=0.25,
                                note="a point counts as uncertain (either way) unless every matrix within the network's "
                                     "Jacobian error |J_D,net - J_D| (operator and Frobenius norms; exact MoLRG Jacobian at the same point) has the "
                                     f"network's numerical rank; the fraction of uncertain points of {B} is the allowance"))
    fig = Figure("trained_molrg_jacobian_rank", "Numerical rank of a trained MLP denoiser's Jacobian (MoLRG)",
                 [dict(title=f"$n={n}$, $d_k={dims}$", xlabel="$\\sigma$", ylabel="numerical rank (99% energy)", logx=True,
                       series=[Series("points", sigmas, ranks.mean(1), ranks.std(1), label="trained MLP"),
                               Series("points", sigmas, exact.mean(1), exact.std(1), label="exact denoiser"),
                               Series("hline", [sum(dims)], label="$\\sum_k d_k$"),
                               Series("hline", [float(own.mean())], label="mean $d_k$ of own subspace")]),
                  dict(title="network error and certified points", xlabel="$\\sigma$", ylabel="", logx=True, logy=True,
                       series=[Series("points", sigmas, eps, label="$|J_{D,net} - J_D|_{op}$ (mean)"),
                               Series("points", sigmas, np.maximum(certain.mean(1), 1e-3), label="fraction certified")])])
    agree_exact = np.mean(ranks == exact, axis=1)
    return Outcome(checks, [fig], dict(ambient_dim=n, subspace_dims=dims, steps=steps, width=width, samples=B,
                                       sigmas=sigmas, recipe=JACOBIAN_RECIPE),
                   timings=dict(training_seconds=rec.seconds),
                   notes="Fraction of samples where the network's rank equals the exact denoiser's, per sigma: "
                         + ", ".join(f"{s:.2g}: {f:.2f}" for s, f in zip(sigmas, agree_exact))
                         + ". At high noise the exact Jacobian is small (singular values ~ 1/(1 + sigma^2)) and the "
                           "network's error, though small in absolute terms, fills the 2% energy tail: its numerical rank "
                           "rises towards the ambient dimension instead of sum d_k (figure only). A point counts only where "
                           "the network's error cannot change its rank (certified fraction in the figure).")
