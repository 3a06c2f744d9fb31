r"""The Gaussian model's closed-form probability-flow trajectory against the samplers.

For :math:`x_0 \sim \mathcal N(\mu, C)` (any rank) the probability-flow ODE is solved exactly by
``st.Gaussian.flow`` (Wang & Vastola, arXiv 2311.10892; gaussian.md).  This measures each sampler's
discretisation error against it:

* the convergence order: the local order :math:`p_n = \log(e_n / e_{n'})/\log(n'/n)` of the RMS error
  :math:`e_n` after n steps (n' the next, about 2n) is predicted (``validation.samplers.convergence_order``) to be 1 for Euler (EDM grid; DDIM, which
  is Euler in the VE-equivalent variables) and 2 for Heun.  Errors are measured at the last positive
  noise level of the grid (the final jump to sigma = 0 is one fixed-size step whatever n is, so it sets
  an error floor that would hide the order).  Since :math:`p_n = p + c/n + O(n^{-2})`, the measurement is
  the Richardson extrapolation :math:`2p_n - p_{n/2}` (the 1/n term removed); the stated finite-size
  bound is the change of that extrapolation over the last doubling (the size of the next-order term).
  Standard errors by bootstrap over the batch of start points.
* exactness: closed-form samples from noise, :math:`x_0 = \text{flow}(x_T, \sigma_T, 0)` with
  :math:`x_T \sim \mathcal N(\mu, C + \sigma_T^2 I)`, have covariance C: the sample variance along an
  eigenvector (Wishart: standard error :math:`\lambda\sqrt{2/(n-1)}`), the trace
  (:math:`\sqrt{2\operatorname{tr}C^2/(n-1)}`), the Mahalanobis mean on the support (r, standard error
  :math:`\sqrt{2r/n}`) and the variance off the support (0 up to rounding).
"""
from __future__ import annotations

import numpy as np

import spectral_theory as st
from validation.experiment import Check, Figure, Outcome, Series, experiment
from validation.samplers import convergence_order, ddim, edm_sampler

SIGMA_MAX, SIGMA_MIN = 80.0, 0.002


def _model(rng, dim, rank):
    """A rank-deficient Gaussian with a non-zero mean and eigenvalues log-spaced over two decades."""
    V = np.linalg.qr(rng.standard_normal((dim, rank)))[0]
    return st.Gaussian.from_eigen(rng.standard_normal(dim), np.geomspace(5.0, 0.05, rank), V)


def _rms_per_point(a, b):
    return np.sqrt(np.mean((a - b) ** 2, axis=1))          # (B,) per-sample squared error, averaged over D


def _local_order(err_sq, steps, rng, n_boot):
    """Richardson-extrapolated local orders from per-sample squared errors (len(steps), B), with
    bootstrap standard errors, and the RMS errors."""
    def orders(e2):                                          # e2: (len(steps), ...) mean squared errors
        e = np.sqrt(e2)
        ratio = np.log(steps[1:] / steps[:-1]).reshape((-1,) + (1,) * (e.ndim - 1))
        local = np.log(e[:-1] / e[1:]) / ratio
        return 2 * local[1:] - local[:-1]                    # Richardson: the c/n term removed
    point = orders(err_sq.mean(axis=1))
    idx = rng.integers(0, err_sq.shape[1], size=(n_boot, err_sq.shape[1]))
    boot = orders(np.stack([err_sq[:, i].mean(axis=1) for i in idx], axis=1))   # (len-1, n_boot)
    return point, boot.std(axis=1, ddof=1), np.sqrt(err_sq.mean(axis=1))


@experiment(
    "gaussian_trajectory",
    claim="On a Gaussian model the samplers converge to the closed-form probability-flow trajectory "
          "with order 1 (Euler, DDIM) and 2 (Heun), and the closed-form map turns noise into exact samples.",
    source="Wang & Vastola, arXiv 2311.10892; Karras et al. 2022 (EDM sampler); Song et al. 2021 (DDIM)",
    tags=("samplers", "gaussian"),
    compares=("validation.samplers.convergence_order", "spectral_theory.models.gaussian.Gaussian.flow"),
)
def run(ctx):
    rng = ctx.rng
    dim, rank = (16, 10) if ctx.quick else (64, 40)
    batch = 256 if ctx.quick else 1024
    n_exact = 4000 if ctx.quick else 100_000
    n_boot = 200
    model = _model(rng, dim, rank)
    mu, lam, U = model.mean_vector, model.eigenvalues, model.eigenvectors

    # ---- convergence orders against the closed form --------------------------------------------
    x_T = model.sample(batch, rng=rng) + SIGMA_MAX * rng.standard_normal((batch, dim))   # ~ N(mu, C + s^2 I)
    exact = model.flow(x_T, SIGMA_MAX, SIGMA_MIN)                                # at the last positive level
    edm_steps = np.array([16, 32, 64, 128, 256] if ctx.quick else [16, 32, 64, 128, 256, 512, 1024])
    err = {}
    for method in ("euler", "heun"):
        err[method] = np.stack([_rms_per_point(edm_sampler(model.denoise, x_T, st.edm_sigmas(n, SIGMA_MIN, SIGMA_MAX),
                                                           method=method, record=[-2]).states[0], exact) ** 2
                                for n in edm_steps])                              # (steps, B)
    ddpm = st.VP.ddpm_linear(1000)
    a_T, s_T = ddpm.alpha(ddpm.t_max), ddpm.sigma(ddpm.t_max)
    xv_T = a_T * model.sample(batch, rng=rng) + s_T * rng.standard_normal((batch, dim))
    a_1, s_1 = ddpm.alpha(1.0), ddpm.sigma(1.0)                                   # last positive level (t = 1)
    exact_vp = a_1 * model.flow(xv_T / a_T, s_T / a_T, s_1 / a_1)
    ddim_steps = np.array([125, 250, 500, 1000])
    err["ddim"] = np.stack([_rms_per_point(ddim(model.denoise, ddpm, xv_T, n, record=[-2]).states[0], exact_vp) ** 2
                            for n in ddim_steps])

    checks, series_err = [], []
    for method, steps in (("euler", edm_steps), ("heun", edm_steps), ("ddim", ddim_steps)):
        predicted = float(convergence_order(method))                 # declared by the sampler module
        p, se, rms = _local_order(err[method], steps.astype(float), rng, n_boot)
        checks.append(Check(f"order of {method} (Richardson, n={steps[-3]}..{steps[-1]})", predicted, p[-1], se[-1],
                            finite_size=abs(p[-1] - p[-2]), resolution=0.5,
                            note="finite size = change of the extrapolated order over the last doubling"))
        e2 = err[method]                                   # (steps, samples): delta-method error of the RMS
        rms_se = e2.std(axis=1, ddof=1) / np.sqrt(e2.shape[1]) / (2 * rms)
        series_err.append(Series("points", steps, rms, rms_se, label=f"{method} RMS error",
                                 group=f"{method} (slope $-{predicted:g}$)"))
        series_err.append(Series("line", steps, rms[-1] * (steps / steps[-1]) ** -predicted, label=f"slope -{predicted:g}",
                                 group=f"{method} (slope $-{predicted:g}$)"))

    e_euler10 = np.sqrt(np.mean(_rms_per_point(edm_sampler(model.denoise, x_T, st.edm_sigmas(10, SIGMA_MIN, SIGMA_MAX), "euler").final, exact) ** 2))
    e_heun50 = np.sqrt(np.mean(_rms_per_point(edm_sampler(model.denoise, x_T, st.edm_sigmas(50, SIGMA_MIN, SIGMA_MAX), "heun").final, exact) ** 2))

    # ---- the closed form makes exact samples -----------------------------------------------------
    noise = model.sample(n_exact, rng=rng) + SIGMA_MAX * rng.standard_normal((n_exact, dim))
    x0 = model.flow(noise, SIGMA_MAX, 0.0)
    r = x0 - mu
    p = r @ U                                                                     # (n, rank) support coordinates
    var_dir = p.var(axis=0, ddof=1)                                               # (rank,)
    off = r - p @ U.T
    n = n_exact
    rounding = (100 * np.finfo(float).eps * np.abs(x0).max()) ** 2
    checks += [
        Check("variance along the top eigenvector", lam[0], var_dir[0], lam[0] * np.sqrt(2 / (n - 1)),
              note="Wishart: var of the sample variance is 2 lambda^2/(n-1)"),
        Check("variance along the smallest nonzero eigenvector", lam[-1], var_dir[-1], lam[-1] * np.sqrt(2 / (n - 1))),
        Check("trace of the sample covariance", lam.sum(), np.trace(np.cov(x0.T)), np.sqrt(2 * np.sum(lam**2) / (n - 1))),
        Check("Mahalanobis mean on the support", rank, np.mean(np.sum(p**2 / lam, axis=1)), np.sqrt(2 * rank / n),
              note="chi^2_r with the known mean: mean r, variance 2r"),
        Check("variance off the support", 0.0, np.mean(np.sum(off**2, axis=1)), 0.0, finite_size=rounding,
              note="exactly 0: the flow scales the off-support part by sigma_t/sigma_T = 0; bound = rounding"),
    ]
    figures = [
        Figure("gaussian_trajectory_error", "Sampler error against the closed-form trajectory",
               [dict(title="RMS error vs steps (EDM grid; DDIM on DDPM)", xlabel="steps", ylabel="RMS error",
                     series=series_err, logx=True, logy=True),
                dict(title="Closed-form samples: variance per eigendirection", xlabel="$\\lambda$ (model)",
                     ylabel="sample variance",
                     series=[Series("points", lam, var_dir, lam * np.sqrt(2 / (n - 1)), label="closed-form samples"),
                             Series("line", lam, lam, label="model")], logx=True, logy=True)]),
    ]
    return Outcome(
        checks, figures,
        parameters=dict(dim=dim, rank=rank, batch=batch, sigma_max=SIGMA_MAX, sigma_min=SIGMA_MIN,
                        edm_steps=edm_steps, ddim_steps=ddim_steps, exact_samples=n_exact,
                        rms_error_euler_10=e_euler10, rms_error_heun_50=e_heun50),
        notes=f"RMS error per coordinate after sampling to sigma=0: Euler 10 steps {e_euler10:.3g}, "
              f"Heun 50 steps {e_heun50:.3g} (ratio {e_euler10 / e_heun50:.0f}x).",
    )
