r"""The two training timescales of a random-features score model (Bonnaire, Urfin, Biroli, Mezard 2025).

The model of the paper's theory section: d-dimensional data :math:`x \sim N(0, v_x I_d)`, n training
points, a score model with p random features

.. math:: s_A(y) = A\,\varphi(y), \qquad \varphi(y) = \phi(W y), \qquad W_{jk} \sim N(0, 1/d),

trained on the denoising score-matching loss at one noise level :math:`y = \alpha x + \sigma\eta`,

.. math:: L(A) = \frac{1}{nd}\sum_{i=1}^n E_\eta\,\lVert \sigma s_A(\alpha x_i + \sigma\eta) + \eta\rVert^2
          = \frac{\sigma^2}{d}\operatorname{tr}(A U A^\top) + \frac{2\sigma}{d}\operatorname{tr}(A C) + 1,

with :math:`U = \frac1n\sum_i E_\eta[\varphi\varphi^\top]` (p x p) and :math:`C = \frac1n\sum_i
E_\eta[\varphi\eta^\top]`.  L is quadratic in A, so gradient descent with learning rate :math:`\eta_{lr}`
relaxes the component of A along an eigenvector of U of eigenvalue :math:`\lambda` as
:math:`\exp(-2\sigma^2\lambda\,t/d)` in the training time :math:`t = \eta_{lr} \times \text{steps}`: the
timescales of training are :math:`d/(2\sigma^2\lambda)`, read off the spectrum of U.

Gaussian equivalence (Mei & Montanari 2022; Hu & Lu 2022) replaces the features by
:math:`\varphi(y_i) \approx \mu_1 W(\alpha x_i + \sigma\eta) + v\,\omega_i + s\,\xi` (:math:`\omega_i`,
:math:`\xi` independent standard normal in :math:`\mathbb R^p`; :math:`\omega_i` fixed per training point,
:math:`\xi` fresh with the noise), so that for an odd activation

.. math:: U \approx \mu_1^2 \alpha^2 W X^\top X W^\top / n + \mu_1^2\sigma^2 W W^\top
          + v^2\,\Omega\Omega^\top / n + s^2 I_p,

with, for :math:`h = c u + \sigma z` (:math:`c = \alpha\sqrt{v_x}`, u, z independent standard normal,
:math:`\Gamma^2 = c^2 + \sigma^2` the preactivation variance)

.. math:: \mu_1 = E[\phi'(h)] = E[h\phi(h)]/\Gamma^2, \quad
          v^2 = E_u\big[(E_z \phi(h))^2\big] - c^2\mu_1^2, \quad
          s^2 = E[\phi(h)^2] - \Gamma^2\mu_1^2 - v^2

(:math:`v^2`: the part of the noise-averaged feature that is nonlinear in the data point; :math:`s^2`: the
part of the feature noise that is nonlinear in the noise).  For :math:`p \gg n \gg d` the spectrum of U
splits into three groups (Bonnaire et al. 2025, Sec. 4 and Fig. 4):

* d **generalization** eigenvalues :math:`\lambda_{gen} \approx \psi_p \mu_1^2 \Gamma^2 + v^2 + s^2` (the
  range of W, :math:`\psi_p = p/d`): the linear part of the score, learnt at
  :math:`\tau_{gen} = d/(2\sigma^2\lambda_{gen})`, independent of n;
* n - d **memorization** eigenvalues with mean :math:`\lambda_{mem} \approx v^2 \psi_p/\psi_n + s^2`
  (:math:`\psi_n = n/d`; a Marchenko-Pastur bulk of :math:`v^2\Omega\Omega^\top/n` whose mean is its
  trace): the directions that fit the individual training points, learnt at
  :math:`\tau_{mem} = d/(2\sigma^2\lambda_{mem})`, which grows linearly in n while :math:`v^2\psi_p/\psi_n
  \gg s^2`;
* p - n eigenvalues :math:`s^2` (directions the training set does not see).

Leading order in :math:`\psi_n/\psi_p` and :math:`1/\psi_n`; Gaussian equivalence holds up to
:math:`O(d^{-1/2})` relative corrections.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import special

from .checks import SpectralTheoryError, integer, scalar

__all__ = ["ACTIVATIONS", "FeatureCoefficients", "TrainingTimescales", "feature_coefficients",
           "training_timescales"]

# odd activations only: an even part would add a mean feature direction (a rank-one outlier of size p)
ACTIVATIONS = {"tanh": np.tanh, "erf": special.erf}


@functools.lru_cache(maxsize=1)
def _gauss_hermite():
    """Probabilists' 120-point Gauss-Hermite rule for E over N(0, 1), built on first use (about 20 ms: not at
    import of the package)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(120)
    return nodes, weights / weights.sum()


@dataclass(frozen=True)
class FeatureCoefficients:
    """Gaussian-equivalence coefficients of one activation at one noise level (module docstring):
    ``mu1`` = E[phi'(h)], ``v2`` (nonlinear in the data), ``s2`` (nonlinear in the noise), ``gamma2`` =
    Var h, and the noise level (``alpha``, ``sigma``) and ``data_variance`` they were computed at."""

    mu1: float
    v2: float
    s2: float
    gamma2: float
    alpha: float
    sigma: float
    data_variance: float
    activation: str


@dataclass(frozen=True)
class TrainingTimescales:
    r"""Spectrum of the DSM-loss Hessian U and the two training timescales (module docstring).

    ``lambda_gen`` (d eigenvalues), ``lambda_mem`` (mean of n - d), ``lambda_rest`` (p - n); ``tau_gen``,
    ``tau_mem`` in units of learning rate x steps, :math:`d/(2\sigma^2\lambda)`; ``mem_exponent`` the local
    exponent :math:`d\log\tau_{mem}/d\log n = v^2\psi_p/(\psi_n\lambda_{mem})` (1 while memorization is
    set by the training set, 0 once :math:`s^2` dominates); ``coefficients`` the :class:`FeatureCoefficients`."""

    dim: int
    features: int
    samples: int
    lambda_gen: float
    lambda_mem: float
    lambda_rest: float
    tau_gen: float
    tau_mem: float
    mem_exponent: float
    coefficients: FeatureCoefficients


def feature_coefficients(alpha, sigma, activation: str = "tanh", data_variance=1.0) -> FeatureCoefficients:
    r"""Gaussian-equivalence coefficients :math:`\mu_1, v^2, s^2` of an odd activation for preactivations
    :math:`h = \alpha\sqrt{v_x}\,u + \sigma z` (module docstring), by nested 120-point Gauss-Hermite
    quadrature (exact to ~1e-12 for tanh and erf at these variances; checked against mpmath in the tests).

    Parameters
    ----------
    alpha, sigma : signal scale >= 0 and noise level > 0 of :math:`y = \alpha x + \sigma\eta`
        (e.g. ``OU().alpha(t)``, ``OU().sigma(t)``).
    activation : ``"tanh"`` or ``"erf"``.
    data_variance : per-coordinate variance :math:`v_x > 0` of the data.
    """
    a = scalar(alpha, "alpha", nonnegative=True)
    s = scalar(sigma, "sigma", positive=True)
    vx = scalar(data_variance, "data_variance", positive=True)
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise SpectralTheoryError(f"`activation` must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
    phi = ACTIVATIONS[activation]
    c = a * np.sqrt(vx)
    with np.errstate(over="ignore"):
        gamma2 = c * c + s * s
    if not np.isfinite(gamma2):
        raise SpectralTheoryError(f"`alpha` * sqrt(`data_variance`) and `sigma` must give a finite preactivation "
                                  f"variance; got alpha={a}, sigma={s}, data_variance={vx}")
    nodes, weights = _gauss_hermite()
    h = c * nodes[:, None] + s * nodes[None, :]
    f = phi(h)
    mean_over_noise = f @ weights                               # E_z phi(c u + sigma z), one value per node u
    mu1 = float(weights @ (f * h) @ weights) / gamma2           # Stein: E[h phi(h)] = Var(h) E[phi'(h)]
    second = float(weights @ (f * f) @ weights)
    v2 = float(weights @ mean_over_noise**2) - c * c * mu1**2
    s2 = second - gamma2 * mu1**2 - v2
    # both are variances: below the quadrature's round-off (relative 1e-13 of E phi^2) they are 0
    v2, s2 = (x if x > 1e-13 * second else 0.0 for x in (v2, s2))
    return FeatureCoefficients(float(mu1), v2, s2, float(gamma2), float(a), float(s), float(vx), activation)


def training_timescales(dim, features, samples, alpha, sigma, activation: str = "tanh",
                        data_variance=1.0) -> TrainingTimescales:
    r"""Generalization and memorization timescales of gradient-descent training of the random-features
    score model (module docstring; Bonnaire, Urfin, Biroli, Mezard, NeurIPS 2025, arXiv 2505.17638, Sec. 4):

    .. math:: \lambda_{gen} = \frac{p}{d}\mu_1^2\Gamma^2 + v^2 + s^2, \qquad
              \lambda_{mem} = v^2\frac{p}{n} + s^2, \qquad
              \tau = \frac{d}{2\sigma^2\lambda}.

    Parameters
    ----------
    dim, features, samples : d, p, n with p > n > d (the separated regime the formulas are the leading
        order of).
    alpha, sigma, activation, data_variance : as in :func:`feature_coefficients`.
    """
    d = integer(dim, "dim", minimum=1)
    p = integer(features, "features", minimum=1)
    n = integer(samples, "samples", minimum=1)
    if not d < n < p:
        raise SpectralTheoryError(f"the two timescales need `dim` < `samples` < `features`; got d={d}, n={n}, p={p}")
    co = feature_coefficients(alpha, sigma, activation, data_variance)
    # the range of W also carries the O(1) parts v^2 (Omega Omega^T / n restricted to d directions) and s^2
    lam_gen = p / d * co.mu1**2 * co.gamma2 + co.v2 + co.s2
    lam_mem = co.v2 * p / n + co.s2          # > 0: s^2 > 0 for an odd nonlinear activation and sigma > 0
    with np.errstate(over="ignore", divide="ignore"):
        scale = d / (2 * np.float64(co.sigma) ** 2)
    if not np.isfinite(scale):
        raise SpectralTheoryError(f"`sigma` = {co.sigma} is too small: the timescales d/(2 sigma^2 lambda) overflow")
    return TrainingTimescales(d, p, n, float(lam_gen), float(lam_mem), co.s2, float(scale / lam_gen),
                              float(scale / lam_mem), float(co.v2 * p / n / lam_mem), co)
