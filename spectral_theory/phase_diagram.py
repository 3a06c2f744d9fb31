r"""The three geometric phases of diffusion and the related statistical-physics times.

An eigenvalue :math:`\lambda` of the data covariance C appears in :math:`\tau J` as
:math:`-\tau/(\lambda + \tau)`: about -1 (the direction is drowned in noise) when
:math:`\lambda \ll \tau`, about 0 (the direction is resolved, the score no longer pushes along it) when
:math:`\lambda \gg \tau`.  With a resolution :math:`\Delta` (the smallest spectral feature one can
read), as :math:`\tau` decreases (Ventura et al., arXiv 2410.05898):

1. **trivial** phase, :math:`\tau > \tau_{\rm triv}`: the whole spectrum lies within :math:`\Delta`
   of -1 (:math:`\tau J \approx -I`).  It ends when the top of the tangent spectrum
   :math:`\gamma_+/(\gamma_+ + \tau)` leaves -1 by :math:`\Delta`:
   :math:`\tau_{\rm triv} = \gamma_+ (1 - \Delta)/\Delta`, :math:`\gamma_+` the largest eigenvalue
   (upper edge) of C;
2. **manifold coverage**, :math:`\tau_{\rm cons} < \tau < \tau_{\rm triv}`: tangent eigenvalues spread
   over (-1, 0); intermediate gaps open and close (each in its visibility window,
   ``gaps.gap_window``), higher-variance subspaces separating first; the manifold gap reaches
   :math:`\Delta` at :math:`\tau = \gamma_-(1-\Delta)/\Delta` (from then on the dimension can be read);
3. **consolidation**, :math:`\tau < \tau_{\rm cons} = \gamma_- \Delta/(1 - \Delta)`: every tangent
   eigenvalue lies within :math:`\Delta` of 0 (equivalently the manifold gap exceeds
   :math:`1 - \Delta`), :math:`\gamma_-` the smallest nonzero eigenvalue (lower edge) of C.

Note on the definition: theory/spectral_gaps.md places the first boundary where the *first gap*
becomes visible; for one variance block the only gap is the manifold gap, so that rule would leave no
coverage phase although the tangent spectrum visibly spreads, and we use the spectrum's width instead
(the gap-based times are reported too: ``tau_manifold_gap`` and each separation window).

Related times (Biroli, Bonnaire, de Bortoli, Mezard, arXiv 2402.18491), in VE noise variance:
**speciation** :math:`\tau_S = \Lambda` (largest covariance eigenvalue; the symmetric two-point
instability, ``derivations.derive("gaps_two_point_instability")``; in OU time
:math:`t_S = \frac12\log(1 + \Lambda) \approx \frac12\log\Lambda`) and **collapse**
:math:`\tau_C = \sigma^2/(P^{2/d} - 1)` (``derivations.derive("gaps_collapse_time")``).
Any schedule's time follows from ``schedule.time_of_tau``.  Both times are computed in
:mod:`spectral_theory.collapse`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import SpectralTheoryError
from .collapse import schedule_time as _time
from .collapse import speciation_tau
from .schedules import as_schedule
from .gaps import spectral_gaps
from .parameters import check
from .spectra import covariance_spectrum

TRIVIAL, COVERAGE, CONSOLIDATION = "trivial", "manifold coverage", "consolidation"


@dataclass(frozen=True)
class Separation:
    """An intermediate gap as a subspace separation: borders (a, b) in C, ``n_below`` eigenvalues below
    (the separated subspace has the ``dim - n_below - (normal)`` directions above), the peak
    (``tau_peak``, ``gap_peak``) and the visibility ``window`` (None if never visible)."""

    a: float
    b: float
    n_below: float
    tau_peak: float
    gap_peak: float
    window: tuple | None


@dataclass(frozen=True)
class Phases:
    r"""Phase boundaries in :math:`\tau` for a resolution ``threshold`` (see the module docstring).

    Attributes
    ----------
    threshold : the resolution :math:`\Delta`.
    tau_trivial : boundary trivial / manifold coverage, :math:`\gamma_+(1 - \Delta)/\Delta`.
    tau_consolidation : boundary coverage / consolidation, :math:`\gamma_-\Delta/(1 - \Delta)`.
    tau_manifold_gap : where the manifold gap reaches :math:`\Delta` (None without normal directions).
    separations : intermediate gaps in the order the subspaces separate as tau decreases (the
        visible ones by decreasing upper window end, then the never-visible ones).
    gamma_plus, gamma_minus : largest and smallest nonzero eigenvalue/edge of C.
    tau_speciation : largest covariance eigenvalue.  tau_collapse : for Empirical models, else None.
    dim : ambient dimension.
    """

    threshold: float
    tau_trivial: float
    tau_consolidation: float
    tau_manifold_gap: float | None
    separations: tuple
    gamma_plus: float
    gamma_minus: float
    tau_speciation: float
    tau_collapse: float | None
    dim: int

    def phase(self, tau) -> str:
        """The phase at noise variance ``tau``."""
        tau = check("tau", tau, scalar_only=True)
        if tau >= self.tau_trivial:
            return TRIVIAL
        return CONSOLIDATION if tau <= self.tau_consolidation else COVERAGE

    def in_time(self, schedule) -> "PhaseTimes":
        """The same boundaries in ``schedule``'s time (a Schedule or a name such as ``"vp"``; NaN where
        outside the schedule's tau range)."""
        schedule = as_schedule(schedule)
        return PhaseTimes(
            schedule=schedule,
            t_trivial=_time(schedule, self.tau_trivial),
            t_consolidation=_time(schedule, self.tau_consolidation),
            t_manifold_gap=_time(schedule, self.tau_manifold_gap),
            separation_windows=tuple(None if s.window is None else
                                     (_time(schedule, s.window[0]) if s.window[0] > 0 else float("nan"),
                                      _time(schedule, s.window[1])) for s in self.separations),
            t_speciation=_time(schedule, self.tau_speciation),
            t_collapse=_time(schedule, self.tau_collapse))


@dataclass(frozen=True)
class PhaseTimes:
    """:class:`Phases` in a schedule's time (time increases with tau for every schedule)."""

    schedule: object
    t_trivial: float
    t_consolidation: float
    t_manifold_gap: float
    separation_windows: tuple
    t_speciation: float
    t_collapse: float


def phases(model, threshold=0.1, n_samples=None, component=None, law=None) -> Phases:
    r"""Phase boundaries of ``model`` at resolution ``threshold`` (:math:`\Delta \in (0, 1/2)`).

    ``model`` as in ``covariance_spectrum`` (for Empirical: the training-set covariance; its collapse
    time is added).  ``law``: the model's ``covariance_spectrum`` if already computed (its bulk masses
    are integrated once per law object, so reusing it saves that work).
    """
    delta = check("threshold", threshold, scalar_only=True)
    if delta >= 0.5:
        raise SpectralTheoryError(f"`threshold` must be in (0, 1/2) (a resolution of tau J in [-1, 0]); got {delta}")
    if law is None:
        law = covariance_spectrum(model, n_samples, component)
    points = [e for b in law.support() for e in b] + [x for x, _ in law.atoms]
    positive = [p for p in points if p > 0]
    if not positive:
        raise SpectralTheoryError("the covariance spectrum has no positive part")
    g_plus, g_minus = max(positive), min(positive)
    gaps = spectral_gaps(law, 1.0, dim=model.dim)
    tau_mg = None
    seps = []
    for g in gaps:
        if g.kind == "manifold":
            tau_mg = g.window(delta)[1]
        else:
            tp, gp = g.peak()
            seps.append(Separation(g.a, g.b, g.n_below, float(tp), float(gp), g.window(delta)))
    seps.sort(key=lambda s: -(s.window[1] if s.window is not None else -np.inf))
    tau_c = model.collapse_tau()
    return Phases(delta, g_plus * (1 - delta) / delta, g_minus * delta / (1 - delta), tau_mg, tuple(seps),
                  g_plus, g_minus, speciation_tau(model), tau_c, model.dim)


__all__ = ["Phases", "PhaseTimes", "Separation", "phases", "TRIVIAL", "COVERAGE", "CONSOLIDATION"]
