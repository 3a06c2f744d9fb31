r"""Two training timescales of a random-features score model (Bonnaire, Urfin, Biroli, Mezard 2025).

The model of the paper's theory section (``spectral_theory.random_features``): p tanh random features of
d-dimensional Gaussian data, a linear read-out A trained on the denoising score-matching loss of n training
points at one noise level (OU time t = 0.01, the paper's choice).  The loss is quadratic in A, so gradient
descent relaxes the read-out along each eigenvector of the loss Hessian U (p x p, the noise-averaged
feature second moment over the training set) at rate :math:`2\sigma^2\lambda/d` per unit of learning rate x
steps: the training timescales are the inverse eigenvalues of U, measured here on the actual model.

For each seed (fresh features W and training set X) and each n, U is estimated with m noise draws per
training point (n m = 2p draws: an unbiased estimate whose sampling error moves the bulk means by
O(s^2), far below the memorization eigenvalue), and its eigenvalues split by rank: the top d (the
generalization group, the range of W), the next n - d (memorization), the rest.  Measured against
``training_timescales``:

* the generalization eigenvalue and the memorization mean at each n (levels);
* the exponents :math:`d\log\tau/d\log n` of both timescales over the n grid (least-squares slope of
  :math:`\log(1/\lambda)` against :math:`\log n`, per seed; mean and standard error over seeds): the paper's
  claim, :math:`\tau_{gen} \propto n^0` and :math:`\tau_{mem} \propto n` (the prediction's local exponent
  is slightly below 1 where :math:`s^2` is not negligible).

The figure adds the training itself: gradient flow on the noise-averaged loss from A = 0 (exact for this
quadratic loss, :math:`A(t) = -\sigma^{-1} C^\top U^{-1}(I - e^{-2\sigma^2 U t/d})` with
:math:`C = E[\varphi\eta^\top] = \sigma\,E[\operatorname{diag}\phi'(h)]\,W` by Stein's lemma), seed 0: the
score error on the noisy marginal and the test - train loss against training time, with the predicted
timescales.  Not checked (one seed; at these sizes, :math:`\psi_n = n/d \le 8`, the score error also rises
early because the linear part fits the training set's covariance, whose smallest eigenvalues
:math:`(1 - \sqrt{d/n})^2` make slow modes of the generalization group).

Finite-size allowance: Gaussian equivalence of the features holds up to relative :math:`O(d^{-1/2})`
corrections (Hu & Lu 2022; Mei & Montanari 2022), so a level gets :math:`d^{-1/2}` of the measured value
and an exponent over sizes :math:`n_1 < n_k` gets :math:`\log\frac{1+d^{-1/2}}{1-d^{-1/2}}/\log(n_k/n_1)`
(two levels each off by at most that fraction); the leading-order terms dropped
(:math:`\psi_n/\psi_p`, :math:`1/\psi_n`) are below it at these sizes.  Neither uses the prediction.
"""
from __future__ import annotations

import numpy as np

from spectral_theory import OU
from spectral_theory.random_features import ACTIVATIONS, training_timescales
from validation.experiment import Check, Figure, Outcome, Series, experiment, standard_error

T = 0.01              # OU time of the training noise level (Bonnaire et al.'s theory section)
ACTIVATION = "tanh"
DRAWS_PER_FEATURE = 2  # noise draws per feature: n m = 2 p samples estimate U (4 p: the same bulk means)
N_EVAL = 4096          # fresh points for the figure's score error and test loss


def _dphi(F):
    """phi'(h) from the features F = phi(h): tanh' = 1 - tanh^2 (ACTIVATION is tanh)."""
    return 1 - F**2


def hessian(X, W, alpha, sigma, draws, rng, batch=4096):
    r""":math:`U = \frac1n\sum_i \frac1m\sum_l \varphi(y_{il})\varphi(y_{il})^\top`,
    :math:`y_{il} = \alpha x_i + \sigma\eta_{il}`, :math:`\varphi(y) = \tanh(W y)`: the DSM-loss Hessian of the
    random-features score model (up to the factor :math:`2\sigma^2/d`) estimated with ``draws`` noise draws
    per training point, accumulated in batches of noisy points (BLAS-shaped), and the mean ``c`` of
    :math:`\phi'(h)` per feature over the same draws (:math:`C = \sigma\operatorname{diag}(c)W`, Stein)."""
    n, d = X.shape
    p = W.shape[0]
    phi = ACTIVATIONS[ACTIVATION]
    U, c = np.zeros((p, p)), np.zeros(p)
    idx = np.repeat(np.arange(n), draws)
    for start in range(0, idx.size, batch):
        rows = idx[start:start + batch]
        F = phi((alpha * X[rows] + sigma * rng.standard_normal((rows.size, d))) @ W.T)
        F32 = F.astype(np.float32)                          # the p x p product in float32 (2x faster), summed
        U += F32.T @ F32                                    # in float64 over batches of at most 4,096 rows
        c += _dphi(F).sum(axis=0)
    return U / idx.size, c / idx.size


def gradient_flow(U, c, W, alpha, sigma, times, rng, n_eval=N_EVAL):
    r"""Gradient flow of the read-out from A = 0 on the noise-averaged DSM loss with Hessian ``U`` and
    :math:`C = \sigma\,\operatorname{diag}(c) W` (``c`` the mean of :math:`\phi'` per feature): at each training
    time (learning rate x steps) the relative score error on ``n_eval`` fresh points of the noisy marginal and
    the test - train loss (test moments from ``n_eval`` fresh noisy points), by one eigendecomposition of U."""
    d = W.shape[1]
    phi = ACTIVATIONS[ACTIVATION]
    var = alpha**2 + sigma**2                               # the noisy marginal N(0, var I) of standard normal data
    lam, Q = np.linalg.eigh(U)
    Q32 = Q.astype(np.float32)
    y = np.sqrt(var) * rng.standard_normal((n_eval, d))
    F_y = phi(y @ W.T)
    F_te = phi((alpha * rng.standard_normal((n_eval, d)) + sigma * rng.standard_normal((n_eval, d))) @ W.T)

    def rotated_second_moment(F):                           # Q^T (F^T F / N) Q, in float32 (a figure's curves)
        G = F.astype(np.float32) @ Q32
        return (G.T @ G).astype(np.float64) / len(F)

    C_tr = Q.T @ (sigma * c[:, None] * W)                   # C = sigma diag(c) W in U's eigenbasis (p x d)
    B = -C_tr.T / sigma                                     # A(t) = B diag(f(t)) Q^T, f_j = (1 - e^(-r_j t))/lambda_j
    BB = B.T @ B
    f = -np.expm1(-2 * sigma**2 * np.outer(times, lam) / d) / lam      # (times, p)

    def quadratic(M2, lin):                                 # tr(A M2 A^T) + 2 tr(A lin) at every time, in U's basis
        return np.einsum("tj,jk,tk->t", f, BB * M2, f) + 2 * f @ np.sum(B.T * lin, axis=1)

    err = var / d * quadratic(rotated_second_moment(F_y), Q.T @ (F_y.T @ y) / (n_eval * var)) + 1
    C_te = Q.T @ (sigma * _dphi(F_te).mean(axis=0)[:, None] * W)
    test = quadratic(sigma**2 * rotated_second_moment(F_te), sigma * C_te)
    train = sigma**2 * (f**2 * lam) @ np.diag(BB) + 2 * sigma * f @ np.sum(B.T * C_tr, axis=1)
    return err, (test - train) / d


def _slope(ns, values):
    """Least-squares slope of log(values) against log(ns), per row."""
    x = np.log(np.asarray(ns, float))
    x = x - x.mean()
    return (np.log(values) @ x) / (x @ x)


@experiment(
    "rf_training_timescales",
    claim="Training a random-features score model on n points by gradient descent has two timescales, the "
          "inverse eigenvalues of its DSM-loss Hessian: generalization tau_gen = d/(2 sigma^2 lambda_gen), "
          "lambda_gen = (p/d) mu1^2 Gamma^2 + v^2 + s^2, independent of n, and memorization tau_mem = d/(2 sigma^2 "
          "lambda_mem), lambda_mem = v^2 p/n + s^2, growing linearly in n.",
    source="Bonnaire, Urfin, Biroli, Mezard, NeurIPS 2025 (arXiv 2505.17638), Sec. 4 and Fig. 4; Gaussian "
           "equivalence: Mei & Montanari, CPAM 75 (2022); Hu & Lu, IEEE Trans. Inf. Theory 69 (2022)",
    compares=("spectral_theory.random_features.training_timescales",
              "spectral_theory.random_features.feature_coefficients"),
    tags=("trained", "timescales", "random-features"))
def run(ctx):
    # d^(-1/2) sets the allowance: d = 64 keeps the exponents' detectable error near 20% (d = 32: 28%)
    d, p, ns, seeds = (64, 2048, (128, 256, 512), 11) if ctx.quick else (96, 3072, (192, 384, 768), 12)
    sched = OU()
    alpha, sigma = float(sched.alpha(T)), float(sched.sigma(T))
    preds = [training_timescales(d, p, n, alpha, sigma, ACTIVATION) for n in ns]
    gen, mem = np.empty((seeds, len(ns))), np.empty((seeds, len(ns)))
    times = np.geomspace(0.1 * preds[0].tau_gen, 30 * preds[-1].tau_mem, 48)   # training times of the figure
    spectra, flows = [], []                                 # seed 0: full spectra and gradient-flow curves
    streams = [np.random.default_rng(s) for s in ctx.seed.spawn(seeds + 1)]
    for r, rng in enumerate(streams[:seeds]):
        W = rng.standard_normal((p, d)) / np.sqrt(d)
        for j, n in enumerate(ns):
            X = rng.standard_normal((n, d))
            U, c = hessian(X, W, alpha, sigma, DRAWS_PER_FEATURE * p // n, rng)
            ev = np.linalg.eigvalsh(U)[::-1]                 # (LAPACK's subset solver is slower here)
            gen[r, j], mem[r, j] = ev[:d].mean(), ev[d:n].mean()
            if r == 0:
                spectra.append(ev)
                flows.append(gradient_flow(U, c, W, alpha, sigma, times, streams[seeds]))
    eps = d ** -0.5                                         # relative Gaussian-equivalence correction
    span = np.log(ns[-1] / ns[0])
    slope_allowance = np.log((1 + eps) / (1 - eps)) / span
    note = f"{seeds} seeds (features and training set); allowance d^(-1/2) = {eps:.3f} relative"
    checks = [Check(f"generalization eigenvalue lambda_gen (mean of the top d = {d}, p = {p}, all n)",
                    np.mean([q.lambda_gen for q in preds]), gen.mean(), standard_error(gen.mean(axis=1)),
                    finite_size=eps * gen.mean(), note=note, dof=seeds - 1)]
    for j, (n, q) in enumerate(zip(ns, preds)):
        checks.append(Check(f"memorization eigenvalue lambda_mem (mean of ranks d+1..n, n = {n})", q.lambda_mem,
                            mem[:, j].mean(), standard_error(mem[:, j]), finite_size=eps * mem[:, j].mean(),
                            note=note, dof=seeds - 1))
    pred_mem_exp = _slope(ns, np.array([q.lambda_mem for q in preds]) ** -1)
    exp_note = (f"slope of log(1/lambda) on log n over n = {list(ns)} per seed; allowance "
                f"log((1+{eps:.3f})/(1-{eps:.3f}))/log({ns[-1]}/{ns[0]}) = {slope_allowance:.3f}")
    gen_exp, mem_exp = _slope(ns, 1 / gen), _slope(ns, 1 / mem)        # per seed
    checks.append(Check("exponent of tau_gen in n (predicted 0: independent of the training set size)",
                        _slope(ns, np.array([q.lambda_gen for q in preds]) ** -1), gen_exp.mean(),
                        standard_error(gen_exp), finite_size=slope_allowance, note=exp_note, dof=seeds - 1))
    checks.append(Check("exponent of tau_mem in n (linear growth: ~1)", pred_mem_exp, mem_exp.mean(),
                        standard_error(mem_exp), finite_size=slope_allowance, note=exp_note, dof=seeds - 1))

    scale = d / (2 * sigma**2)                              # tau = scale / lambda, in learning rate x steps
    t_opt = [times[int(np.argmin(err))] for err, _ in flows]   # the early-stopping optimum of the score error
    panels = [dict(title=f"DSM-loss Hessian spectrum (d = {d}, p = {p}, seed 0)", xlabel=r"eigenvalue $\lambda$",
                   ylabel="count", logx=True, logy=True,
                   series=[s for j, (n, ev) in enumerate(zip(ns, spectra)) for s in (
                       Series("step", np.geomspace(ev[-1], ev[0], 60).tolist(),
                              np.histogram(ev, np.geomspace(ev[-1], ev[0], 61))[0].tolist(), label=f"n = {n}",
                              group=str(n)),
                       Series("vline", [preds[j].lambda_mem],
                              label=r"$\lambda_{mem}$ predicted (one per n)" if j == 0 else ""))]
                   + [Series("vline", [preds[0].lambda_gen], label=r"$\lambda_{gen}$ predicted"),
                      Series("vline", [preds[0].lambda_rest], label=r"$s^2$ (unseen directions)")]),
              dict(title="Training timescales", xlabel="training set size n",
                   ylabel=r"$\tau$ (learning rate $\times$ steps)", logx=True, logy=True,
                   series=[Series("line", list(ns), [q.tau_gen for q in preds], label=r"$\tau_{gen}$ theory",
                                  group="gen"),
                           Series("points", list(ns), (scale / gen).mean(axis=0).tolist(),
                                  standard_error(scale / gen).tolist(), label="measured", group="gen"),
                           Series("line", list(ns), [q.tau_mem for q in preds], label=r"$\tau_{mem}$ theory",
                                  group="mem"),
                           Series("points", list(ns), (scale / mem).mean(axis=0).tolist(),
                                  standard_error(scale / mem).tolist(), label="measured", group="mem"),
                           Series("points", list(ns), t_opt, label="gradient flow: score-error minimum")]),
              dict(title="Gradient flow: score error on the noisy marginal (seed 0)",
                   xlabel=r"training time $\tau$ (learning rate $\times$ steps)", ylabel="relative score error",
                   logx=True, logy=True,
                   series=[Series("line", times.tolist(), f[0].tolist(), label=f"n = {n}", group=str(n))
                           for n, f in zip(ns, flows)]
                   + [Series("vline", [q.tau_mem], group=str(n)) for n, q in zip(ns, preds)]
                   + [Series("vline", [preds[0].tau_gen], label=r"$\tau_{gen}$ (dotted: $\tau_{mem}$)")]),
              dict(title="Gradient flow: test - train DSM loss (seed 0)", xlabel=r"training time $\tau$",
                   ylabel="test - train loss", logx=True, logy=True,
                   series=[Series("line", times.tolist(), np.maximum(f[1], 1e-6).tolist(), label=f"n = {n}",
                                  group=str(n)) for n, f in zip(ns, flows)]
                   + [Series("vline", [q.tau_mem], group=str(n)) for n, q in zip(ns, preds)])]
    fig = Figure("rf_training_timescales", "Two training timescales of a random-features score model", panels,
                 caption="The memorization eigenvalues (ranks d+1..n of the loss Hessian, middle group) move down as "
                         "1/n, so the time to fit the training points grows linearly in n while the generalization "
                         "time stays put (top right). In gradient flow (bottom) the score error is smallest near "
                         "tau_gen for every n and rises again later, and more slowly, for larger n; at these sizes "
                         "(n/d <= 8) the rise starts well before tau_mem, as the linear part fits the training set's "
                         "covariance (its smallest eigenvalues (1 - sqrt(d/n))^2 make slow modes of the "
                         "generalization group): the clean separation of the paper needs n/d >> 1.")
    co = preds[0].coefficients
    return Outcome(checks, [fig], dict(d=d, p=p, n=list(ns), seeds=seeds, t=T, activation=ACTIVATION,
                                       draws=[DRAWS_PER_FEATURE * p // n for n in ns]),
                   notes=f"Gaussian-equivalence coefficients at t = {T}: mu1 = {co.mu1:.4f}, v^2 = {co.v2:.4g}, "
                         f"s^2 = {co.s2:.4g}; tau_mem/tau_gen = "
                         + ", ".join(f"{q.tau_mem / q.tau_gen:.0f} (n = {n})" for n, q in zip(ns, preds))
                         + ". Gradient flow (seed 0): score-error minimum at tau = "
                         + ", ".join(f"{x:.3g}" for x in t_opt) + f" (predicted tau_gen = {preds[0].tau_gen:.3g}); "
                         "score error at the predicted tau_mem: "
                         + ", ".join(f"{np.interp(np.log(q.tau_mem), np.log(times), f[0]):.3g}" for q, f in zip(preds, flows))
                         + ". The checked timescales are those of gradient flow on the noise-averaged loss (exact "
                           "for this quadratic loss); a U-Net's memorization time (the paper's Sec. 3) is not "
                           "measured here.")
