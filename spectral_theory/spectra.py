r"""Spectra of the rescaled score Jacobian :math:`\tau J` of the data models.

For a Gaussian model (data on a linear manifold, a full Gaussian, a spiked covariance) the VE score
Jacobian is :math:`J = -(C + \tau I)^{-1}`, constant in x, so each eigenvalue :math:`\lambda` of the
data covariance C becomes the eigenvalue

.. math::  f_\tau(\lambda) = -\frac{\tau}{\lambda + \tau} \in [-1, 0)

of :math:`\tau J`; the spectral law of :math:`\tau J` is the **pushforward** of the law of C by the
increasing map :math:`f_\tau` (``SpectralDensity.jacobian_pushforward``).  Directions with
:math:`\lambda = 0` (normal to the data manifold) give an atom at -1.  The law of C comes from
:mod:`spectral_theory.rmt`, through each model's ``covariance_law`` (``covariance_spectrum``):

* ``LinearManifold(basis="gaussian")``: the multi-block Silverstein law of ``F diag(v) F^T``;
* ``LinearManifold(basis="orthonormal")``, ``Gaussian``, ``SpikedCovariance``: the exact finite-D
  eigenvalues as atoms (weights ``1/D``; the rank deficit is an atom at 0);
* any of those with ``n_samples=N``: the score of the Gaussian *fitted* to N samples
  (``Gaussian.from_samples``, 1/N centred covariance).  The centred covariance of N samples equals in
  law ``(N-1)/N`` times an uncentred one of ``N - 1`` samples, so its limit law is the generalised
  Marchenko-Pastur law with population values ``(N-1)/N * lambda_i`` and ratio ``D/(N - 1)`` (for one
  block of m orthonormal directions: Marchenko-Pastur with ratio ``m/(N-1)`` on the m tangent
  directions, ``N > m`` and ``N < m`` alike).

Beyond Gaussian models the theory is local:

* ``GaussianMixture``, ``MoLRG`` near component k (posterior weight of k close to 1): :math:`J \approx J_k`, the Jacobian of
  that component alone (the between-component term of the mixture Jacobian is
  :math:`O(w_k(1-w_k))`); pass ``component=k``.
* ``Empirical`` (the exact score of a training set): :math:`J = -I/\tau + \mathrm{Cov}_w/\tau^2`.  For
  :math:`\tau` well above the collapse estimate ``collapse_tau`` the posterior weights are spread and
  the Jacobian is that of the Gaussian with the training covariance (first order in :math:`1/\tau`
  exactly; down to the collapse time for data on a linear manifold, Biroli et al. 2402.18491); well
  below it the posterior sits on one training point and every eigenvalue of :math:`\tau J` is -1.
  In the crossover no law is claimed and an error says so.

References: Ventura, Achilli, Silvestri, Lucibello, Ambrogioni, arXiv 2410.05898 (the Jacobian spectra
and their gaps); Silverstein & Bai 1995 (the sample-covariance law); theory/spectral_gaps.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev as _cheb

from .checks import SpectralTheoryError, array, scalar
from .collapse import EMPIRICAL_MARGIN  # noqa: F401  (re-exported: the margin jacobian_spectrum uses)
from .rmt import SpectralDensity
from .rmt.atomic import AtomicSpectrum  # noqa: F401  (deprecated alias of AtomicLaw, re-exported)

def covariance_spectrum(model, n_samples=None, component=None) -> SpectralDensity:
    r"""Spectral law of the covariance C behind the model's (local) Gaussian score, D-normalised:
    ``model.covariance_law(n_samples, component)`` (see each model's method).

    Parameters
    ----------
    model : a :class:`~spectral_theory.models.DataModel` (Gaussian family, mixtures near
        ``component``, Empirical: the training-set covariance; see :func:`jacobian_spectrum` for where
        it applies).
    n_samples : int N >= 2, optional.  The covariance of the Gaussian fitted to N samples of the model
        (1/N, centred): generalised Marchenko-Pastur law, population ``(N-1)/N * C``, ratio
        ``D/(N-1)``.  For a Gaussian-basis ``LinearManifold`` the population is this instance's
        exact eigenvalues (the law conditional on F).
    component : int, mixtures only.

    Returns
    -------
    SpectralDensity of the eigenvalues of C (weight ``1/D`` per eigenvalue; zero eigenvalues as an atom).
    """
    return _model(model).covariance_law(n_samples, component)


def _model(model):
    if not callable(getattr(model, "covariance_law", None)):   # the DataModel hooks, not a class list
        raise SpectralTheoryError(f"no covariance spectrum for a {type(model).__name__} model (a data model "
                                  "supplies `covariance_law` and `jacobian_spectrum`)")
    return model


def jacobian_spectrum(model, tau, n_samples=None, component=None) -> SpectralDensity:
    r"""Spectral law of :math:`\tau J` (J the VE score Jacobian at noise variance :math:`\tau`):
    ``model.jacobian_spectrum(tau, n_samples, component)``.

    For a Gaussian score the pushforward of :func:`covariance_spectrum` by
    :math:`\lambda \mapsto -\tau/(\lambda+\tau)`: bulk edges and atoms map exactly; the density is
    :math:`\rho_J(y) = \rho_C(\lambda)\,(\lambda+\tau)^2/\tau` at :math:`\lambda = -\tau(1 + 1/y)`.

    For ``Empirical`` models: for :math:`\tau \ge 10\,\tau_C` the Gaussian picture (training
    covariance), for :math:`\tau \le \tau_C/10` the collapsed law (all mass at -1), where
    :math:`\tau_C` = ``collapse_tau(N, d, v)`` with d the rank of the training set and v its mean
    nonzero covariance eigenvalue; in between a ``SpectralTheoryError`` (no theory).  For VP/OU time
    use ``schedule.tau(t)``: :math:`\sigma_t^2 J_{VP}` has the same spectrum (conventions.md).
    """
    tau = scalar(tau, "tau", positive=True)
    return _model(model).jacobian_spectrum(tau, n_samples, component)


# ---- the pushforward trick for many values of tau --------------------------------------------
_CHEB_DEGREES = (32, 64, 128, 256)
_CHEB_TOL = 1e-9


@dataclass(frozen=True)
class BulkInterpolant:
    r"""Density of one bulk :math:`[l, h]` of C as :math:`\rho(x) = \sqrt{(x-l)(h-x)}\, q(x)` with q a
    Chebyshev series (q is analytic inside a bulk with square-root edges).  ``error`` is the largest
    difference to the exact density at test points between the interpolation nodes, relative to
    max rho."""

    lo: float
    hi: float
    coef: np.ndarray
    error: float

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        out = np.zeros(x.shape)
        inside = (x >= self.lo) & (x <= self.hi)
        xi = x[inside]                                   # evaluate the series only inside the bulk
        t = (2 * xi - self.lo - self.hi) / (self.hi - self.lo)
        out[inside] = np.sqrt(np.maximum((xi - self.lo) * (self.hi - xi), 0.0)) * _cheb.chebval(t, self.coef)
        return out


def _interpolate_bulk(law, lo, hi):
    def q_of_t(t):
        x = 0.5 * (lo + hi) + 0.5 * (hi - lo) * t
        return law.pdf(x) / np.sqrt((x - lo) * (hi - x))
    for deg in _CHEB_DEGREES:
        coef = _cheb.chebinterpolate(q_of_t, deg)
        k = np.arange(deg + 1)                               # midpoints between first-kind nodes
        t_test = np.cos(np.pi * (k + 1.0) / (deg + 1))[:-1]
        x_test = 0.5 * (lo + hi) + 0.5 * (hi - lo) * t_test
        exact = law.pdf(x_test)
        approx = np.sqrt((x_test - lo) * (hi - x_test)) * _cheb.chebval(t_test, coef)
        err = float(np.max(np.abs(approx - exact)) / max(np.max(np.abs(exact)), 1e-300))
        if err <= _CHEB_TOL:
            break
    return BulkInterpolant(lo, hi, coef, err)


@dataclass(frozen=True)
class JacobianSpectra:
    r"""The law of :math:`\tau J` for many :math:`\tau` from one law of C (the pushforward trick).

    The density of C is interpolated once per bulk (``bulks``, Chebyshev in
    :math:`\rho/\sqrt{(x-l)(h-x)}`); each :math:`\tau` is then a change of variables, so a whole phase
    diagram costs a few vectorised array operations.

    Attributes
    ----------
    law : the law of C.  bulks : tuple of ``BulkInterpolant``.  atoms : (x, w) of C.
    """

    law: SpectralDensity
    bulks: tuple
    atoms: tuple

    @property
    def interpolation_error(self) -> float:
        return max((b.error for b in self.bulks), default=0.0)

    def density(self, y, tau):
        r"""Density of :math:`\tau J` at spectral points ``y`` (in (-1, 0)) for each ``tau``:
        array of shape ``(len(tau), len(y))`` (atoms excluded; see :meth:`atoms_at`)."""
        y = array(y, "y", ndim=1)
        tau = array(tau, "tau", ndim=1, positive=True)
        if np.any((y <= -1) | (y >= 0)):
            raise SpectralTheoryError("spectral points `y` of tau J must lie in (-1, 0)")
        lam = -tau[:, None] * (1.0 + 1.0 / y[None, :])                 # (T, P) preimages in C
        rho = np.zeros(lam.shape)
        for b in self.bulks:
            rho += b(lam)
        return rho * (lam + tau[:, None]) ** 2 / tau[:, None]

    def edges(self, tau):
        """Bulk edges of tau J: array (len(tau), n_bulks, 2), increasing."""
        tau = array(tau, "tau", ndim=1, positive=True)
        e = np.array([[b.lo, b.hi] for b in self.bulks]).reshape(-1, 2)
        return -tau[:, None, None] / (e[None] + tau[:, None, None])

    def atoms_at(self, tau):
        """Atom locations of tau J (len(tau), n_atoms) and their weights (n_atoms,)."""
        tau = array(tau, "tau", ndim=1, positive=True)
        x = np.array([a for a, _ in self.atoms])
        return -tau[:, None] / (x[None, :] + tau[:, None]), np.array([w for _, w in self.atoms])


def jacobian_spectra(model_or_law, n_samples=None, component=None) -> JacobianSpectra:
    """Prepare :class:`JacobianSpectra` (law of tau J for any tau) from a model or a law of C."""
    law = model_or_law if isinstance(model_or_law, SpectralDensity) else \
        covariance_spectrum(model_or_law, n_samples, component)
    bulks = tuple(_interpolate_bulk(law, lo, hi) for lo, hi in law.support())
    return JacobianSpectra(law, bulks, tuple(law.atoms))


__all__ = ["AtomicSpectrum", "covariance_spectrum", "jacobian_spectrum", "jacobian_spectra",
           "JacobianSpectra", "BulkInterpolant", "EMPIRICAL_MARGIN"]
