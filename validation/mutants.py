r"""Built-in mutants: named wrong theories, each a patch of a real library function, that the
validation experiments must catch (``spectral-theory validate --mutants``).

A mutant replaces one function (or method) of ``spectral_theory`` or ``validation`` by a plausible
wrong version of it: a dropped factor, :math:`\gamma` instead of :math:`\sqrt\gamma` in the BBP
threshold, a collapse time with :math:`P^{1/d}`, an outlier variance off by 2, ...  The patch is applied
in the process that runs the experiment, to the function object itself wherever the experiments and
the library look it up (every loaded ``spectral_theory``/``validation`` module binding the original
object, or the class attribute of a method), so the unchanged experiment code computes its
predictions *through* the wrong theory; a prediction is never edited after the fact.

A mutant runs the experiments whose ``compares`` lists its target.  It is *caught* when at least one
of them **disagrees**; inconclusive or failing to run is not a catch.  :func:`mutants_cli` prints
which experiment caught which mutant and returns 1 if any mutant survives.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import inspect
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from spectral_theory.checks import SpectralTheoryError

from .experiment import DISAGREE, registry
from .sweep import run_sweep


@dataclass(frozen=True)
class Mutant:
    """A named wrong theory: ``make(original) -> replacement`` for the function at dotted path ``target``."""

    name: str
    target: str
    description: str
    make: Callable


def resolve(path: str):
    """The object at a dotted path ``package.module[.Class].attribute`` and its owner (module or class)."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        owner = obj
        try:
            for name in parts[i:]:
                owner, obj = obj, getattr(obj, name)
        except AttributeError:
            break
        return owner, obj
    raise SpectralTheoryError(f"cannot resolve `{path}` (a dotted path of a library function)")


@contextlib.contextmanager
def patched(mutant: Mutant):
    """Apply ``mutant`` for the duration of the block (every binding of the original object).

    Yields
    ------
    None
        The body of the ``with`` block runs with the patch in place; it is undone on exit, also after an
        exception.
    """
    registry()                                     # import every experiment module first: their bindings count
    owner, original = resolve(mutant.target)
    attr = mutant.target.rsplit(".", 1)[1]
    replacement = mutant.make(original)
    undo = []
    if inspect.isclass(owner):
        undo.append((owner, attr, inspect.getattr_static(owner, attr), attr in vars(owner)))
        setattr(owner, attr, replacement)
    else:
        for mod in list(sys.modules.values()):
            name = getattr(mod, "__name__", "") or ""
            if not name.startswith(("spectral_theory", "validation")):
                continue
            for key, value in list(vars(mod).items()):
                if value is original:
                    undo.append((mod, key, value, True))
                    setattr(mod, key, replacement)
    try:
        yield
    finally:
        for obj, key, value, own in reversed(undo):
            if own:
                setattr(obj, key, value)
            else:
                delattr(obj, key)


# ---- building blocks of wrong theories ---------------------------------------------------------
def _wrap(transform):
    """``make`` from ``transform(original, *args, **kwargs) -> value``."""
    def make(original):
        @functools.wraps(original)
        def wrong(*args, **kwargs):
            return transform(original, *args, **kwargs)
        return wrong
    return make


def _times(factor, field=None):
    """Multiply the output (or its dataclass ``field``) by ``factor``."""
    def transform(f, *a, **k):
        out = f(*a, **k)
        if field is not None:
            return dataclasses.replace(out, **{field: factor * np.asarray(getattr(out, field))})
        v = factor * np.asarray(out)
        return v.item() if v.ndim == 0 else v
    return _wrap(transform)


def _spiked_formula(formula):
    """A spiked-model law ``formula(ell, gamma)`` above the threshold sqrt(gamma), the original below."""
    def transform(f, *a, **k):
        args = _arguments(f, a, k).arguments
        ell, gamma = np.broadcast_arrays(np.asarray(args["spike"], float), np.asarray(args["aspect"], float))
        above = ell > np.sqrt(gamma)
        safe = np.where(above, ell, 1.0)
        v = np.where(above, formula(safe, gamma), np.asarray(f(*a, **k)))
        return v.item() if v.ndim == 0 else v
    return _wrap(transform)


def _overlap_gamma_threshold(f, *a, **k):
    """The overlap formula switched on at ell > gamma instead of sqrt(gamma)."""
    args = _arguments(f, a, k).arguments
    ell, gamma = np.broadcast_arrays(np.asarray(args["spike"], float), np.asarray(args["aspect"], float))
    above = ell > gamma
    safe = np.where(above, ell, 1.0)
    v = np.where(above, (safe**2 - gamma) / (safe * (safe + gamma)), 0.0)
    return v.item() if v.ndim == 0 else v


def _arguments(f, a, k):
    """The call's arguments by parameter name (positional or keyword alike)."""
    bound = inspect.signature(f).bind(*a, **k)
    bound.apply_defaults()
    return bound


def _argument(name, change):
    """Call the original with argument ``name`` replaced by ``change(value)``."""
    def transform(f, *a, **k):
        bound = _arguments(f, a, k)
        bound.arguments[name] = change(bound.arguments[name])
        return f(*bound.args, **bound.kwargs)
    return _wrap(transform)


def _sampler_order(method, wrong):
    def transform(f, m):
        return wrong if m == method else f(m)
    return _wrap(transform)


def _molrg_denoise_without_logdet(f, self, x, sigma, alpha=1.0):
    """The MoLRG denoiser with the log-determinant term dropped from its posterior weights."""
    from .experiments.molrg import _without_logdet
    out = _without_logdet(self, np.atleast_2d(x), sigma, alpha)
    return out[0] if np.ndim(x) == 1 else out




# ---- helpers of the mutants below ---------------------------------------------------------------
def _mp_rescaled(f, a, k):
    bound = _arguments(f, a, k)
    bound.arguments["scale"] = bound.arguments["scale"] * (1 + bound.arguments["aspect"]) / 2
    return f(*bound.args, **bound.kwargs)


def _off_support_k_over_d(op):
    k = op.diagonal.size
    return dataclasses.replace(op, off_support=k / op.dim,
                               diagonal=np.where(op.diagonal == op.off_support, k / op.dim, op.diagonal))


def _wiener_as_projection(f, *a, **k):
    from spectral_theory.linear_denoisers import mean_projection
    args = _arguments(f, a, k).arguments
    args.pop("debias", None)
    return dataclasses.replace(mean_projection(**args), kind="wiener")


def _edges_of(f, a, k):
    args = _arguments(f, a, k).arguments
    return args["a"], args["b"]


def _width_without_sqrt(a, b):
    return (b - a) / (b + a)


def _collapse_p_1_over_d(f, *a, **k):
    args = _arguments(f, a, k).arguments
    return args["variance"] / np.expm1(np.log(args["n_points"]) / args["dim"])


def _flow_squared(f, self, x_T, sT, st):
    """Gaussian flow with factor (st^2 + lam)/(sT^2 + lam) instead of its square root."""
    c = self._component
    xb = np.atleast_2d(x_T)
    r = xb - c.mean
    p = r @ c.basis
    lam = c.floor + c.excess
    factor = (st**2 + lam) / (sT**2 + lam)
    off = (st**2 + c.floor) / (sT**2 + c.floor)
    out = c.mean + off * (r - p @ c.basis.T) + (p * factor) @ c.basis.T
    return out[0] if np.ndim(x_T) == 1 else out


def _sample_squared(f, model, x_T, sT):
    from spectral_theory.distill import _gaussian
    g = _gaussian(model)
    y = np.asarray(x_T, float) - g.mean_vector
    p = y @ g.eigenvectors
    lam = g.eigenvalues
    return g.mean_vector + (p * (lam / (lam + sT**2))) @ g.eigenvectors.T


def _shrunk_mean(self, sigma, alpha):
    lam = self.eigenvalues
    U = self.eigenvectors
    w = alpha * lam / (alpha**2 * lam + sigma**2)
    return self.mean_vector - alpha * (U * w) @ (U.T @ self.mean_vector)


def _fit_rotated(f, angle, X, n_components, dims, *args, **kwargs):
    """The fit with the last basis vector of every subspace rotated by ``angle`` towards a fixed
    random direction orthogonal to it."""
    fit = f(X, n_components, dims, *args, **kwargs)
    rng = np.random.default_rng(0)
    bases = []
    for U in fit.bases:
        v = rng.standard_normal(U.shape[0])
        v -= U @ (U.T @ v)
        U = U.copy()
        U[:, -1] = np.cos(angle) * U[:, -1] + np.sin(angle) * v / np.linalg.norm(v)
        bases.append(U)
    return dataclasses.replace(fit, bases=tuple(bases) if isinstance(fit.bases, tuple) else bases)


def _narrowest_gap(f, *a, **k):
    from spectral_theory.gaps import spectral_gaps
    gaps = spectral_gaps(*a, **k)
    return min(gaps, key=lambda g: g.width) if gaps else f(*a, **k)


def _atoms_law(atoms):
    from spectral_theory.rmt import AtomicLaw
    return AtomicLaw([x for x, _ in atoms], [w for _, w in atoms])


def _shift_top_atom(law, by):
    atoms = list(getattr(law, "atoms", ()))
    if len(atoms) < 2 or law.continuous_mass > 0:          # purely atomic laws only
        return law
    top = max(range(len(atoms)), key=lambda i: atoms[i][0])
    atoms[top] = (atoms[top][0] + by, atoms[top][1])
    return _atoms_law(atoms)


def _halve_top_atom(law):
    atoms = list(getattr(law, "atoms", ()))
    if len(atoms) < 2 or law.continuous_mass > 0:
        return law
    top = max(range(len(atoms)), key=lambda i: atoms[i][0])
    low = min(range(len(atoms)), key=lambda i: atoms[i][0])
    x, w = atoms[top]
    atoms[top] = (x, w / 2)
    atoms[low] = (atoms[low][0], atoms[low][1] + w / 2)
    return _atoms_law(atoms)


def _drop_one_block_off(f, *a, **k):
    from spectral_theory.gaps import spectral_gaps
    gaps = spectral_gaps(*a, **k)
    drop = f(*a, **k)
    i = next(i for i, g in enumerate(gaps) if g.location == drop.location)
    other = gaps[i + 1] if i + 1 < len(gaps) else gaps[i - 1] if i > 0 else drop
    return dataclasses.replace(drop, mass_below=other.mass_below, n_below=other.n_below)


# ---- the library of wrong theories ---------------------------------------------------------------
ST = "spectral_theory"
def _rotate_top_eigenvectors(f, self, x, sigma, alpha=1.0, angle=0.35):
    """The exact Jacobian with its eigenvectors 1-2 and 3-4 (largest eigenvalues) rotated into each other."""
    J = f(self, x, sigma, alpha)
    w, V = np.linalg.eigh(J)
    c, s = np.cos(angle), np.sin(angle)
    V = V.copy()
    for i, j in ((-1, -2), (-3, -4)):
        V[..., i], V[..., j] = c * V[..., i] + s * V[..., j], c * V[..., j] - s * V[..., i]
    return (V * w[..., None, :]) @ np.swapaxes(V, -1, -2)


def _swap_top_eigenvalues(f, self, x, sigma, alpha=1.0):
    """The exact Jacobian with its two largest eigenvalues exchanged (principal directions 1 and 2 ranked
    the other way round)."""
    J = f(self, x, sigma, alpha)
    w, V = np.linalg.eigh(J)
    w = w.copy()
    w[..., [-1, -2]] = w[..., [-2, -1]]
    return (V * w[..., None, :]) @ np.swapaxes(V, -1, -2)


def _wider_gaps(f, *a, **k):
    return tuple(dataclasses.replace(g, width=1.25 * g.width) for g in f(*a, **k))


def _sample_complexity_as(counts):
    """sample_complexity with the intrinsic dimensions replaced by ``counts(result)`` (K,) (the K > 1 extra kept)."""
    def transform(f, *a, **k):
        out = f(*a, **k)
        c = np.asarray(counts(out), dtype=int)
        return dataclasses.replace(out, necessary=c, sufficient=c + (out.sufficient - out.necessary))
    return _wrap(transform)


def _timescales_with(lambda_gen=None, lambda_mem=None):
    """training_timescales with ``lambda_gen``/``lambda_mem`` replaced by ``fn(result)`` and the timescales
    (and the memorization exponent) recomputed from them."""
    def transform(f, *a, **k):
        out = f(*a, **k)
        gen = out.lambda_gen if lambda_gen is None else lambda_gen(out)
        mem = out.lambda_mem if lambda_mem is None else lambda_mem(out)
        scale = out.tau_gen * out.lambda_gen
        return dataclasses.replace(out, lambda_gen=gen, lambda_mem=mem, tau_gen=scale / gen, tau_mem=scale / mem,
                                   mem_exponent=out.mem_exponent * out.lambda_mem / mem)
    return _wrap(transform)


MUTANTS: tuple = (
    # spiked covariance (BBP, Paul 2007)
    Mutant("overlap-dropped-denominator", f"{ST}.spiked.overlap",
           "squared overlap 1 - gamma/ell^2 (the factor 1/(1 + gamma/ell) dropped)",
           _spiked_formula(lambda l, g: 1 - g / l**2)),
    Mutant("bbp-threshold-gamma", f"{ST}.spiked.overlap",
           "overlap switched on at ell > gamma instead of sqrt(gamma)", _wrap(_overlap_gamma_threshold)),
    Mutant("outlier-eigenvalue-dropped-factor", f"{ST}.spiked.top_eigenvalue",
           "outlier eigenvalue 1 + ell (the factor 1 + gamma/ell dropped)", _spiked_formula(lambda l, g: 1 + l)),
    Mutant("outlier-variance-x2", f"{ST}.spiked.outlier_variance", "outlier variance off by a factor 2", _times(2.0)),
    Mutant("emergence-gamma", f"{ST}.spiked.emergence_tau", "emergence level lambda/gamma instead of lambda/sqrt(gamma)",
           _wrap(lambda f, *a, **k: np.asarray(f(*a, **k)) * np.sqrt(_arguments(f, a, k).arguments["aspect"])
                 / _arguments(f, a, k).arguments["aspect"])),
    Mutant("mean-projection-off-support-k-over-D", f"{ST}.linear_denoisers.mean_projection",
           "off-support value k/D (the detected spikes' share of the trace ignored)",
           _wrap(lambda f, *a, **k: _off_support_k_over_d(f(*a, **k)))),
    Mutant("mean-wiener-dropped-weight", f"{ST}.linear_denoisers.mean_wiener",
           "mean Wiener shrinkage without the weight lambda_hat/(lambda_hat + s) (the projection's mean)",
           _wrap(_wiener_as_projection)),
    Mutant("reverse-mean-squared-factors", f"{ST}.linear_denoisers.reverse_mean",
           "mean reverse process with squared per-step factors (E[P]^2 instead of E[P])",
           _wrap(lambda f, *a, **k: dataclasses.replace(out := f(*a, **k), multipliers=out.multipliers**2,
                                                       off_support=out.off_support**2))),
    # samplers and the Gaussian closed form
    Mutant("heun-order-1", "validation.samplers.convergence_order", "Heun declared first order",
           _sampler_order("heun", 1)),
    Mutant("euler-order-2", "validation.samplers.convergence_order", "Euler (and DDIM) declared second order",
           _wrap(lambda f, m: 2 if m in ("euler", "ddim") else f(m))),
    Mutant("gaussian-flow-variance-ratio", f"{ST}.models.gaussian.Gaussian.flow",
           "closed-form flow with the variance ratio instead of its square root",
           _wrap(_flow_squared)),
    # hidden Gaussian structure
    Mutant("wiener-filter-sigma-not-squared", f"{ST}.distill.wiener_filter",
           "Wiener filter C (C + sigma I)^-1 (sigma instead of sigma^2)", _argument("sigma", np.sqrt)),
    Mutant("wiener-filter-noise-variance-x2", f"{ST}.distill.wiener_filter",
           "Wiener filter C (C + 2 sigma^2 I)^-1 (the noise variance doubled, a VP/VE factor 2)",
           _argument("sigma", lambda s: np.sqrt(2.0) * s)),
    Mutant("distillation-rate-half", f"{ST}.distill.distillation_rate", "sandwich constant off by a factor 1/2",
           _times(0.5, field="constant")),
    Mutant("gaussian-sample-variance-ratio", f"{ST}.distill.gaussian_sample_from_noise",
           "closed-form Gaussian samples scaled by lambda/(lambda + sigma^2) instead of its square root",
           _wrap(_sample_squared)),
    Mutant("empirical-denoiser-temperature", f"{ST}.models.empirical.Empirical.denoise",
           "Empirical posterior weights at noise sigma instead of sigma^2 (a wrong temperature)",
           _argument("sigma", np.sqrt)),
    Mutant("gaussian-denoiser-dropped-mean", f"{ST}.models.gaussian.Gaussian.denoise",
           "Gaussian denoiser that shrinks towards 0 instead of the mean",
           _wrap(lambda f, self, x, sigma, alpha=1.0: f(self, x, sigma, alpha) - _shrunk_mean(self, sigma, alpha))),
    Mutant("empirical-jacobian-no-covariance", f"{ST}.models.empirical.Empirical.score_jacobian",
           "Empirical score Jacobian -I/sigma^2 (the posterior covariance term dropped)",
           _wrap(lambda f, self, x, sigma, alpha=1.0: np.broadcast_to(
               -np.eye(self.dim) / sigma**2, np.shape(f(self, x, sigma, alpha))).copy())),
    Mutant("empirical-jacobian-sign", f"{ST}.models.empirical.Empirical.score_jacobian",
           "Empirical score Jacobian with the posterior covariance term's sign flipped",
           _wrap(lambda f, self, x, sigma, alpha=1.0: -2 * np.eye(self.dim) / sigma**2 - f(self, x, sigma, alpha))),
    # mixtures of low-rank Gaussians
    Mutant("molrg-denoiser-without-logdet", f"{ST}.models.mixture.MoLRG.denoise",
           "MoLRG denoiser whose weights drop the log-determinant term", _wrap(_molrg_denoise_without_logdet)),
    Mutant("numerical-rank-off-by-one", f"{ST}.molrg.numerical_rank", "numerical rank one too large",
           _wrap(lambda f, *a, **k: np.asarray(f(*a, **k)) + 1)),
    Mutant("numerical-rank-90-percent-energy", f"{ST}.molrg.numerical_rank",
           "numerical rank by 90% of the singular-value energy instead of 99%", _argument("energy", lambda e: 0.9)),
    Mutant("sample-complexity-ambient-dimension", f"{ST}.molrg.sample_complexity",
           "subspace recovery needs N_k >= n, the ambient dimension (as for a full covariance), not d_k",
           _sample_complexity_as(lambda out: np.full_like(out.necessary, out.ambient_dim))),
    Mutant("sample-complexity-half-dimension", f"{ST}.molrg.sample_complexity",
           "subspace recovery from N_k = d_k/2 (rounded down) samples per component",
           _sample_complexity_as(lambda out: out.necessary // 2)),
    Mutant("fit-subspaces-one-dimension-short", f"{ST}.molrg.fit_subspaces",
           "subspace fit whose last basis vector is replaced by a random orthogonal direction",
           _wrap(lambda f, *a, **k: _fit_rotated(f, np.pi / 2, *a, **k))),
    Mutant("fit-subspaces-tilted", f"{ST}.molrg.fit_subspaces",
           "subspace fit with its last basis vector tilted by 0.3 rad out of the fitted subspace",
           _wrap(lambda f, *a, **k: _fit_rotated(f, 0.3, *a, **k))),
    Mutant("molrg-denoiser-5-percent", f"{ST}.models.mixture.MoLRG.denoise",
           "MoLRG denoiser 5% too large (a factor alpha/(alpha^2 + sigma^2) misapplied)", _times(1.05)),
    # spectral gaps and phases
    Mutant("gap-peak-arithmetic-mean", f"{ST}.gaps.gap_peak", "gap peak at (a + b)/2 instead of sqrt(ab)",
           _wrap(lambda f, *a, **k: ((_edges_of(f, a, k)[0] + _edges_of(f, a, k)[1]) / 2, f(*a, **k)[1]))),
    Mutant("gap-peak-width-dropped-sqrt", f"{ST}.gaps.gap_peak", "peak width (b - a)/(b + a) (square roots dropped)",
           _wrap(lambda f, *a, **k: (f(*a, **k)[0], _width_without_sqrt(*_edges_of(f, a, k))))),
    Mutant("gap-window-factor-2", f"{ST}.gaps.gap_window", "visibility window at threshold 2 Delta",
           _argument("threshold", lambda d: 2 * d)),
    Mutant("gap-profile-dropped-factor", f"{ST}.gaps.gap_profile", "gap profile off by a factor 1/2", _times(0.5)),
    Mutant("phase-boundary-factor-80", f"{ST}.phase_diagram.phases", "trivial | coverage boundary off by a factor 80",
           _wrap(lambda f, *a, **k: dataclasses.replace(ph := f(*a, **k), tau_trivial=80 * ph.tau_trivial))),
    Mutant("consolidation-boundary-delta", f"{ST}.phase_diagram.phases",
           "coverage | consolidation boundary gamma_- Delta (the factor 1/(1 - Delta) dropped)",
           _wrap(lambda f, *a, **k: dataclasses.replace(ph := f(*a, **k),
                                                        tau_consolidation=ph.tau_consolidation * (1 - ph.threshold)))),
    Mutant("collapse-tau-P-1-over-d", f"{ST}.collapse.collapse_tau", "collapse level v/(P^(1/d) - 1) instead of P^(2/d)",
           _wrap(_collapse_p_1_over_d)),
    Mutant("collapse-tau-factor-80", f"{ST}.collapse.collapse_tau", "collapse level off by a factor 80",
           _times(80.0)),
    Mutant("silverstein-weights-x2", f"{ST}.rmt.silverstein.Silverstein.__init__",
           "Silverstein law with the block weights m_k/D doubled (the aspect ratio off by 2)",
           _argument("fractions", lambda w: 2 * np.asarray(w, float))),
    Mutant("silverstein-variance-x2", f"{ST}.rmt.silverstein.Silverstein.__init__",
           "Silverstein law with the block variances doubled (a dropped factor 1/2)",
           _argument("variances", lambda v: 2 * np.asarray(v, float))),
    Mutant("mp-edge-aspect-inverse", f"{ST}.rmt.marchenko_pastur.MarchenkoPastur.__init__",
           "Marchenko-Pastur law with aspect 1/gamma", _argument("aspect", lambda c: 1 / c)),
    Mutant("mp-scale-dropped", f"{ST}.rmt.marchenko_pastur.MarchenkoPastur.__init__",
           "Marchenko-Pastur law with scale (1 + aspect)/2 (a dropped normalisation)",
           _wrap(lambda f, *a, **k: _mp_rescaled(f, a, k))),
    Mutant("edge-scale-dropped-cube-root", f"{ST}.spiked.edge_scale",
           "Tracy-Widom edge scale without the factor (1 + 1/sqrt(gamma))^(1/3)",
           _wrap(lambda f, *a, **k: np.asarray(f(*a, **k)) / (1 + 1 / np.sqrt(_arguments(f, a, k).arguments["aspect"]))
                 ** (1 / 3))),
    Mutant("jacobian-pushforward-tau-squared", f"{ST}.rmt.density.SpectralDensity.jacobian_pushforward",
           "Jacobian spectrum pushed forward at tau^2 instead of tau",
           _argument("tau", lambda t: t**2)),
    Mutant("spectral-gaps-count-off-by-one", f"{ST}.gaps.spectral_gaps", "eigenvalue counts below each gap off by one",
           _wrap(lambda f, *a, **k: tuple(dataclasses.replace(g, n_below=g.n_below + 1) for g in f(*a, **k)))),
    Mutant("predicted-drop-narrowest-gap", f"{ST}.gaps.predicted_drop", "the narrowest predicted gap instead of the widest",
           _wrap(_narrowest_gap)),
    Mutant("jacobian-spectrum-tangent-shifted", f"{ST}.spectra.jacobian_spectrum",
           "local Jacobian law with its tangent atom moved by 0.1 towards 0",
           _wrap(lambda f, *a, **k: _shift_top_atom(f(*a, **k), 0.1))),
    Mutant("jacobian-spectrum-atom-weight", f"{ST}.spectra.jacobian_spectrum",
           "local Jacobian law with half the tangent mass moved into the atom at -1",
           _wrap(lambda f, *a, **k: _halve_top_atom(f(*a, **k)))),
    # image scale (matrix-free SLQ)
    Mutant("jacobian-pushforward-tau-x2", f"{ST}.rmt.density.SpectralDensity.jacobian_pushforward",
           "Jacobian spectrum pushed forward at 2 tau (a VP/VE factor 2 in the noise level)",
           _argument("tau", lambda t: 2 * t)),
    Mutant("silverstein-variance-10-percent", f"{ST}.rmt.silverstein.Silverstein.__init__",
           "Silverstein law with the block variances 10% too large", _argument("variances", lambda v: 1.1 * np.asarray(v, float))),
    # two training timescales of a random-features score model (Bonnaire et al. 2025)
    Mutant("timescales-memorization-sqrt-n", f"{ST}.random_features.training_timescales",
           "memorization eigenvalue v^2 p/sqrt(n d) + s^2: a memorization time growing as sqrt(n), not n",
           _timescales_with(lambda_mem=lambda o: o.coefficients.v2 * o.features / np.sqrt(o.samples * o.dim)
                            + o.coefficients.s2)),
    Mutant("timescales-generalization-grows-with-n", f"{ST}.random_features.training_timescales",
           "generalization eigenvalue times 2d/n: a generalization time growing with n like the memorization time",
           _timescales_with(lambda_gen=lambda o: o.lambda_gen * 2 * o.dim / o.samples)),
    Mutant("feature-coefficients-v2-halved", f"{ST}.random_features.feature_coefficients",
           "nonlinear data part v^2 of the features halved", _times(0.5, field="v2")),
    # trained networks (experiments tagged `trained`)
    Mutant("gaussian-jacobian-eigenvectors-rotated", f"{ST}.models.gaussian.Gaussian.score_jacobian",
           "exact Gaussian score Jacobian with its top eigenvectors rotated pairwise by 0.35 rad",
           _wrap(_rotate_top_eigenvectors)),
    Mutant("gaussian-jacobian-top-eigenvalues-swapped", f"{ST}.models.gaussian.Gaussian.score_jacobian",
           "exact Gaussian score Jacobian with its two largest eigenvalues exchanged (directions 1, 2 ranked the "
           "other way)", _wrap(_swap_top_eigenvalues)),
    # (a 20% narrower gap survives trained_jacobian_gaps: the network's gaps sit 10-16% below the theory)
    Mutant("spectral-gaps-width-125-percent", f"{ST}.gaps.spectral_gaps", "every gap of tau J 25% too wide",
           _wrap(_wider_gaps)),
    Mutant("predicted-drop-one-block-off", f"{ST}.gaps.predicted_drop",
           "the widest gap, but the dimension it reveals counted one block off (the neighbouring gap's count)",
           _wrap(_drop_one_block_off)),
    Mutant("phases-trivial-without-1-minus-delta", f"{ST}.phase_diagram.phases",
           "trivial | coverage boundary gamma_+/Delta (the factor 1 - Delta dropped: 11% at Delta = 0.1)",
           _wrap(lambda f, *a, **k: dataclasses.replace(ph := f(*a, **k), tau_trivial=ph.gamma_plus / ph.threshold))),
    Mutant("phases-separation-peak-arithmetic", f"{ST}.phase_diagram.phases",
           "subspace separations peaking at tau = (a + b)/2 instead of sqrt(ab)",
           _wrap(lambda f, *a, **k: dataclasses.replace(ph := f(*a, **k), separations=tuple(
               dataclasses.replace(sep, tau_peak=0.5 * (sep.a + sep.b)) for sep in ph.separations)))),
)


def mutants() -> dict:
    """The built-in mutants by name."""
    return {m.name: m for m in MUTANTS}


def targets_of(experiment_name: str) -> list:
    """The mutants whose target the experiment compares."""
    exp = registry()[experiment_name]
    return [m for m in MUTANTS if m.target in exp.compares]


# ---- running ----------------------------------------------------------------------------------
def mutant_task(params: dict, rng) -> dict:
    """Sweep task: one experiment under one mutant (``params``: mutant, name, preset, seed); returns the
    experiment's verdict and disagreeing checks (figures dropped)."""
    from .suite import run_experiment
    with patched(mutants()[params["mutant"]]), threadpool_limits(1):
        rec = run_experiment(params["name"], params["preset"], params["seed"])
    bad = [c["quantity"] for c in rec["checks"] if c["verdict"] == DISAGREE]
    return dict(verdict=rec["verdict"], disagreeing=bad[:3], n_disagreeing=len(bad), seconds=rec["seconds"],
                error=(rec.get("error") or "").strip().splitlines()[-1:] or None)


def run_mutants(names=None, preset="quick", seed=0, workers=1, experiments=None) -> list:
    """Run mutants (all, or ``names``) on the experiments comparing their targets (optionally only
    those in ``experiments``); return one dict per mutant: name, target, description, runs
    (experiment -> verdict), caught_by."""
    reg = registry()
    table = mutants()
    chosen = list(table) if not names else list(names)
    for n in chosen:
        if n not in table:
            raise SpectralTheoryError(f"unknown mutant `{n}`; known: {', '.join(table)}")
    points = [dict(mutant=m, name=e, preset=preset, seed=int(seed))
              for m in chosen for e in sorted(reg)
              if table[m].target in reg[e].compares and (not experiments or e in experiments)]
    result = run_sweep(mutant_task, points, seed=int(seed), workers=workers, name="mutants")
    out = {m: dict(name=m, target=table[m].target, description=table[m].description, runs={}, caught_by=[])
           for m in chosen}
    for p, row in zip(points, result.rows):
        res = row["result"] or dict(verdict="error", error=row.get("error"))
        out[p["mutant"]]["runs"][p["name"]] = res
        if res["verdict"] == DISAGREE:
            out[p["mutant"]]["caught_by"].append(p["name"])
    return list(out.values())


def format_mutants(results) -> str:
    """One row per mutant: the experiments that caught it (disagreed; with their number of disagreeing
    checks) or SURVIVED, then the other experiments' verdicts; a last line counts the caught ones."""
    if not results:
        return "no mutant targets a function the chosen experiments compare"
    width = max(len(r["name"]) for r in results) + 2
    lines = ["mutant".ljust(width) + "caught by (experiments that disagree; others: verdict)"]
    for r in results:
        runs = r["runs"]
        caught = ", ".join(f"{e} ({runs[e].get('n_disagreeing', '?')} checks)" for e in r["caught_by"]) or "SURVIVED"
        rest = ", ".join(f"{e}: {v['verdict']}" for e, v in runs.items() if e not in r["caught_by"])
        if not runs:
            caught = "SURVIVED (no experiment compares its target)"
        lines.append(r["name"].ljust(width) + caught + (f"  [{rest}]" if rest else ""))
    n_caught = sum(bool(r["caught_by"]) for r in results)
    lines.append(f"{n_caught} of {len(results)} mutants caught")
    return "\n".join(lines)


def mutants_cli(args) -> int:
    """``spectral-theory validate --mutants [NAMES]``: NAMES restricts the experiments run."""
    from .suite import resolve_names
    exps = resolve_names(getattr(args, "names", None), registry().keys()) if getattr(args, "names", None) else None
    started = time.perf_counter()
    results = run_mutants(preset=args.preset, seed=args.seed, workers=args.workers, experiments=exps)
    if exps:
        results = [r for r in results if r["runs"]]
    print(format_mutants(results))
    print(f"wall time {time.perf_counter() - started:.1f} s")
    return 0 if all(r["caught_by"] for r in results) else 1


__all__ = ["Mutant", "MUTANTS", "mutants", "patched", "resolve", "targets_of", "run_mutants", "format_mutants",
           "mutants_cli", "mutant_task"]
