r"""Speciation and collapse: the two statistical-physics times of diffusion (Biroli, Bonnaire, de
Bortoli, Mezard, arXiv 2402.18491), in VE noise variance :math:`\tau = \sigma^2/\alpha^2`.

* **speciation** :math:`\tau_S = \Lambda`, the largest covariance eigenvalue: for two symmetric
  clusters at :math:`\pm a` the central fixed point of the reverse dynamics loses stability exactly at
  :math:`\tau = a^2 = \Lambda` (``derivations.derive("gaps_two_point_instability")``; in OU time
  :math:`t_S = \frac12\log(1 + \Lambda) \approx \frac12\log\Lambda`);
* **collapse** :math:`\tau_C = \sigma^2/(P^{2/d} - 1)`: below it the exact empirical score's posterior
  condenses on one training point (``derivations.derive("gaps_collapse_time")``).

Any schedule's time follows from ``schedule.time_of_tau`` (:func:`schedule_time`: NaN outside the
schedule's range).  This module reads models only through their hooks (``covariance_eigenvalues``,
``collapse_parameters``), so the models can use it.
"""
from __future__ import annotations

import numpy as np

from .checks import SpectralTheoryError, integer, scalar
from .schedules import as_schedule

#: Empirical models: the Gaussian picture is claimed for tau >= EMPIRICAL_MARGIN * tau_collapse, the
#: collapsed picture (atom at -1) for tau <= tau_collapse / EMPIRICAL_MARGIN.
EMPIRICAL_MARGIN = 10.0


def collapse_tau(n_points, dim, variance=1.0):
    r"""Collapse (memorization) noise variance :math:`\tau_C = \sigma^2/(P^{2/d} - 1)`.

    For P training points drawn from :math:`N(0, \sigma^2 I_d)`, below :math:`\tau_C` the exact
    empirical score's posterior condenses on one training point (annealed estimate at large d with
    :math:`\log P / d` fixed; Biroli et al., arXiv 2402.18491, eq. for :math:`t_C` in OU time).  For data
    on an m-dimensional linear manifold the normal coordinates cancel from the posterior weights, so
    d = m (an extrapolation of the theorem's setting; tested in ``validation``).
    """
    P = float(integer(n_points, "n_points", minimum=2))   # a float: log of an int beyond 2**63 fails
    d = scalar(dim, "dim", positive=True)
    v = scalar(variance, "variance", positive=True)
    return v / np.expm1(2.0 * np.log(P) / d)


def empirical_collapse_parameters(model):
    """(P, d, v) for :func:`collapse_tau` from an Empirical model (its ``collapse_parameters``): P
    points, d the rank of the centred training set, v its mean nonzero covariance eigenvalue."""
    try:
        return model.collapse_parameters
    except AttributeError:
        raise SpectralTheoryError("`model` must be an Empirical model (a training set)") from None


def speciation_tau(model) -> float:
    r"""Speciation noise variance :math:`\tau_S = \Lambda`, the largest eigenvalue of the data
    covariance (``model.covariance_eigenvalues``): for two symmetric clusters at :math:`\pm a` the
    central fixed point of the reverse dynamics loses stability exactly at :math:`\tau = a^2 = \Lambda`
    (Raya & Ambrogioni 2023; Biroli et al. 2402.18491 write it in OU time as
    :math:`t_S = \frac12 \log\Lambda`, the large-Lambda form of :math:`\frac12\log(1 + \Lambda)`)."""
    lam = getattr(model, "covariance_eigenvalues", None)
    if not isinstance(lam, np.ndarray):
        raise SpectralTheoryError(f"`model` must be a data model (one with `covariance_eigenvalues`); got a "
                                  f"{type(model).__name__}")
    if lam.size == 0 or lam[0] <= 0:
        raise SpectralTheoryError("the data covariance is zero: no speciation")
    return float(lam[0])


def schedule_time(schedule, tau) -> float:
    """schedule.time_of_tau(tau), or NaN when tau is None or outside the schedule's tau range
    (``schedule``: a Schedule or a name such as ``"vp"``)."""
    schedule = as_schedule(schedule)
    if tau is None:
        return float("nan")
    tau = scalar(tau, "tau", nonnegative=True)
    lo, hi = float(schedule.tau(schedule.t_min)), float(schedule.tau(schedule.t_max))
    if tau < lo or tau > hi:
        return float("nan")
    return float(schedule.time_of_tau(tau))


def speciation_time(schedule, model) -> float:
    """Speciation time in ``schedule``'s clock (NaN if outside its range)."""
    return schedule_time(schedule, speciation_tau(model))


def collapse_time(schedule, n_points, dim, variance=1.0) -> float:
    """Collapse time in ``schedule``'s clock (NaN if outside its range)."""
    return schedule_time(schedule, collapse_tau(n_points, dim, variance))


__all__ = ["EMPIRICAL_MARGIN", "collapse_tau", "collapse_time", "empirical_collapse_parameters",
           "schedule_time", "speciation_tau", "speciation_time"]
