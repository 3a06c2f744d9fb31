"""Experiments: a prediction, a simulation of the same model, and a comparison whose tolerance comes
from the simulation's own error bar.

An :class:`Experiment` is registered with the :func:`experiment` decorator on a function
``run(ctx: Context) -> Outcome``.  The function builds the model, asks ``spectral_theory`` for the
prediction, simulates, and returns :class:`Check` objects (prediction, measurement, standard error and
a stated finite-size bound) plus :class:`Figure` specifications (plain data, so the JSON report works
without matplotlib).  Experiment modules live in ``validation/experiments/`` and register on import.

Verdicts
--------
A check *agrees* when ``|measured - predicted| <= z * stderr + finite_size``, where ``z`` is the
two-sided normal critical value at family-wise level ``FAMILY_LEVEL`` with a Bonferroni correction over
all checks of the experiment (so a correct theory fails an experiment with probability at most
``FAMILY_LEVEL``); a standard error estimated from ``MIN_DOF`` to 30 replicates states its degrees of
freedom and gets the Student-t critical value at the same tail probability instead.  It *disagrees*
otherwise.  It is *inconclusive* when its measurement is not finite, its tolerance exceeds the check's
stated ``resolution`` (the error bar is too wide for the comparison to discriminate), or its standard
error has fewer than ``MIN_DOF`` degrees of freedom (under Bonferroni the Student-t quantile of a
3-dof error bar is 13-19 standard errors: such an error bar cannot make a check fail).

Power
-----
Every check states its *detectable error* (:meth:`Check.detectable_error`): the tolerance over
``|predicted|``, the relative error of the prediction that the check detects with probability 1/2
(a prediction off by ``delta |predicted|`` moves the expected deviation to ``delta |predicted|``;
the check fails when the deviation exceeds the tolerance, so at ``delta = tolerance/|predicted|`` a
measurement symmetric about the true value fails half the time).  For a zero prediction it is the
tolerance itself, an absolute change in the quantity's units.  A check that cannot detect a 50%
error (``detectable error >= QUALITATIVE``, nonzero prediction) is *qualitative*: it can disagree,
but its agreement is not counted; an experiment whose conclusive checks are all qualitative is
inconclusive.  An experiment disagrees if any check disagrees, else is inconclusive if any check is
(or if it has no quantitative check), else agrees.

Compared functions
------------------
``compares`` of :func:`experiment` names (dotted paths such as ``"spectral_theory.spiked.overlap"``)
the library functions whose output the experiment compares with a measurement; the report shows them
and :mod:`validation.mutants` patches them.  A finite-size allowance never evaluates one of them.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

from spectral_theory.checks import SpectralTheoryError

AGREE, DISAGREE, INCONCLUSIVE = "agree", "disagree", "inconclusive"
FAMILY_LEVEL = 0.01
PRESETS = ("quick", "full")
MIN_DOF = 10          # fewer degrees of freedom in a standard error: the check is inconclusive
QUALITATIVE = 0.5     # a check that cannot detect a 50% error of its prediction is qualitative


@dataclass(frozen=True)
class Check:
    """One comparison of a prediction with a measurement.

    Parameters
    ----------
    quantity : what is compared (e.g. "overlap^2 at s=0.5").
    predicted : the theory's value.
    measured : the simulation's estimate.
    stderr : one standard error of ``measured`` (analytic or bootstrap), >= 0.
    finite_size : an absolute bound on the systematic finite-size/discretisation deviation that the
        experiment states and justifies in ``note`` (0 if the prediction is exact at this size).
    resolution : largest tolerance at which the check still discriminates; above it the verdict is
        inconclusive (None: no limit).
    note : where the finite-size bound comes from.
    dof : degrees of freedom of ``stderr`` when it is estimated from a few replicates (n - 1 for the
        mean of n); the critical value is then Student-t's (None: normal, stderr known or n large);
        below ``MIN_DOF`` the check is inconclusive.
    """

    quantity: str
    predicted: float
    measured: float
    stderr: float
    finite_size: float = 0.0
    resolution: float | None = None
    note: str = ""
    dof: int | None = None

    def __post_init__(self):
        for name in ("predicted", "measured", "stderr", "finite_size"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not (self.stderr >= 0 or math.isnan(self.stderr)):
            raise SpectralTheoryError(f"`stderr` of check {self.quantity!r} must be >= 0; got {self.stderr}")
        if not self.finite_size >= 0:
            raise SpectralTheoryError(f"`finite_size` of check {self.quantity!r} must be >= 0; got {self.finite_size}")
        if self.dof is not None and not (isinstance(self.dof, (int, np.integer)) and self.dof >= 1):
            raise SpectralTheoryError(f"`dof` of check {self.quantity!r} must be an integer >= 1; got {self.dof!r}")

    def critical(self, z: float) -> float:
        """The critical value: ``z``, or with ``dof`` the Student-t quantile of the same tail probability."""
        return z if self.dof is None else float(student_t.isf(norm.sf(z), self.dof))

    def tolerance(self, z: float) -> float:
        return self.critical(z) * self.stderr + self.finite_size

    def detectable_error(self, z: float) -> float:
        """Smallest change of the prediction the check detects with probability 1/2: ``tolerance /
        |predicted|`` (relative), or for a zero prediction the tolerance (absolute, in the quantity's
        units; see :attr:`relative`)."""
        tol = self.tolerance(z)
        return tol / abs(self.predicted) if self.relative else tol

    @property
    def relative(self) -> bool:
        """Whether :meth:`detectable_error` is relative (a nonzero prediction)."""
        return self.predicted != 0 and math.isfinite(self.predicted)

    def qualitative(self, z: float) -> bool:
        """Cannot detect a ``QUALITATIVE`` (50%) error of a nonzero prediction."""
        return self.relative and not self.detectable_error(z) < QUALITATIVE

    def verdict(self, z: float) -> str:
        if not (np.isfinite(self.measured) and np.isfinite(self.stderr) and np.isfinite(self.predicted)):
            return INCONCLUSIVE
        if self.dof is not None and self.dof < MIN_DOF:
            return INCONCLUSIVE
        tol = self.tolerance(z)
        if self.resolution is not None and tol > self.resolution:
            return INCONCLUSIVE
        return AGREE if abs(self.measured - self.predicted) <= tol else DISAGREE


@dataclass(frozen=True)
class Series:
    """One plotted series: ``kind`` is "line" (theory curve), "points" (with optional ``yerr``),
    "hist" (``x`` = samples, plotted as a density histogram), "step" or "vline"/"hline" (``x``/``y``
    scalar positions), "band" (``y`` lower, ``yerr`` upper), "heatmap" (``z`` a len(y) x len(x) grid of
    values at columns ``x`` and rows ``y``).  Series with the same ``group`` (a theory curve and its
    measurement) are drawn in one colour; labels may use matplotlib mathtext (``$\\hat\\lambda$``)."""

    kind: str
    x: list
    y: list | None = None
    yerr: list | None = None
    label: str = ""
    z: list | None = None
    group: str = ""

    def __post_init__(self):
        if self.kind not in ("line", "points", "hist", "step", "vline", "hline", "band", "heatmap"):
            raise SpectralTheoryError(f"unknown series kind {self.kind!r}")
        if self.kind == "heatmap" and np.shape(self.z) != (len(self.y), len(self.x)):
            raise SpectralTheoryError(f"heatmap `z` must have shape (len(y), len(x)) = {(len(self.y), len(self.x))}; "
                                      f"got {np.shape(self.z)}")
        for name in ("x", "y", "yerr", "z"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, np.asarray(v, dtype=float).tolist())


@dataclass(frozen=True)
class Figure:
    """A figure as data: one or more panels, each a list of series; ``caption`` (markdown) is printed
    under the figure in the report, e.g. to say why theory sits outside the sampled band."""

    name: str
    title: str
    panels: list  # list of dict(title=..., xlabel=..., ylabel=..., series=[Series], logx=False, logy=False)
    caption: str = ""


@dataclass(frozen=True)
class Outcome:
    """What an experiment's run returns."""

    checks: list
    figures: list = field(default_factory=list)
    parameters: dict = field(default_factory=dict)
    notes: str = ""
    timings: dict = field(default_factory=dict)   # the experiment's own speed measurements (run.json, not results.json)


@dataclass(frozen=True)
class Context:
    """What a run gets: the preset ("quick"/"full"), its own random stream, and sweep settings."""

    preset: str
    rng: np.random.Generator
    seed: np.random.SeedSequence
    workers: int = 1
    scheduler: str | None = None
    store_dir: str | None = None
    progress: bool = False

    @property
    def quick(self) -> bool:
        return self.preset == "quick"


@dataclass(frozen=True)
class Experiment:
    name: str
    claim: str
    source: str
    run: Callable[[Context], Outcome]
    tags: tuple = ()
    compares: tuple = ()


@dataclass(frozen=True)
class ExperimentResult:
    """A finished experiment: its checks, verdicts and timing (serialisable with :meth:`to_dict`)."""

    experiment: Experiment
    outcome: Outcome
    seconds: float
    preset: str

    @property
    def critical_value(self) -> float:
        m = max(len(self.outcome.checks), 1)
        return float(norm.isf(FAMILY_LEVEL / (2 * m)))

    @property
    def verdicts(self) -> list:
        z = self.critical_value
        return [c.verdict(z) for c in self.outcome.checks]

    @property
    def verdict(self) -> str:
        v = self.verdicts
        if not v:
            return INCONCLUSIVE
        if DISAGREE in v:
            return DISAGREE
        if INCONCLUSIVE in v:
            return INCONCLUSIVE
        z = self.critical_value
        return AGREE if any(not c.qualitative(z) for c in self.outcome.checks) else INCONCLUSIVE

    @property
    def power(self) -> dict:
        """Power summary: numbers of checks (quantitative, qualitative, zero predictions) and the
        median and largest relative detectable error over the checks with a nonzero prediction."""
        z = self.critical_value
        checks = self.outcome.checks
        rel = [c.detectable_error(z) for c in checks if c.relative]
        return dict(checks=len(checks), quantitative=sum(not c.qualitative(z) for c in checks),
                    qualitative=sum(c.qualitative(z) for c in checks),
                    zero_predictions=sum(not c.relative for c in checks),
                    median_detectable_error=float(np.median(rel)) if rel else None,
                    max_detectable_error=float(np.max(rel)) if rel else None)

    def to_dict(self) -> dict:
        z = self.critical_value
        return dict(
            name=self.experiment.name, claim=self.experiment.claim, source=self.experiment.source,
            compares=list(self.experiment.compares),
            preset=self.preset, seconds=self.seconds, verdict=self.verdict, critical_value=z,
            power=self.power, parameters=_jsonable(self.outcome.parameters), notes=self.outcome.notes,
            checks=[dict(asdict(c), tolerance=c.tolerance(z), verdict=c.verdict(z),
                         detectable_error=c.detectable_error(z), relative=c.relative,
                         qualitative=c.qualitative(z)) for c in self.outcome.checks],
            figures=[asdict(f) for f in self.outcome.figures], timings=_jsonable(self.outcome.timings),
        )


@dataclass(frozen=True)
class FiniteSizeFit:
    """Infinite-size limit of a measured quantity (:func:`extrapolate`): ``value`` +- ``stderr`` (the
    fit's own error), the fitted ``slope`` of the size**(-exponent) term, ``chi2`` of the residuals
    (``dof`` = number of sizes - 2)."""

    value: float
    stderr: float
    slope: float
    chi2: float
    dof: int
    sizes: tuple
    exponent: float


def standard_error(values, axis=0):
    r"""Standard error of the mean along ``axis``, :math:`s/\sqrt{n}` with the ``ddof=1`` sample standard
    deviation s of the n values; +inf for a single value (no spread information: a check built on it can
    only be inconclusive), never NaN."""
    a = np.asarray(values, dtype=float)
    n = a.shape[axis]
    if n < 2:
        return np.full(np.delete(a.shape, axis if axis >= 0 else a.ndim + axis), np.inf)[()]
    return a.std(axis=axis, ddof=1) / np.sqrt(n)


def extrapolate(sizes, values, stderrs, exponent) -> FiniteSizeFit:
    r"""Finite-size scaling: fit :math:`y_N = y_\infty + b N^{-e}` to measurements at three or more
    sizes by weighted least squares (weights :math:`1/\mathrm{se}_N^2`) and return :math:`y_\infty`
    with its standard error :math:`\sqrt{[(X^	op W X)^{-1}]_{00}}` (the measurement errors propagated
    through the fit).  ``exponent`` e is the literature's correction exponent for the quantity: 1 for a
    smooth mean away from a transition (the :math:`O(1/N)` bias), 2/3 at a square-root edge (the
    Tracy-Widom scale), 1/3 in the BBP window.  It is chosen by the experiment, never fitted, and never
    from the prediction under test.
    """
    n = np.asarray(sizes, float)
    y = np.asarray(values, float)
    se = np.asarray(stderrs, float)
    if n.ndim != 1 or n.size < 3 or y.shape != n.shape or se.shape != n.shape:
        raise SpectralTheoryError(f"`sizes`, `values`, `stderrs` must be three or more matching values; got "
                                  f"{n.shape}, {y.shape}, {se.shape}")
    if not exponent > 0:
        raise SpectralTheoryError(f"`exponent` must be > 0; got {exponent}")
    floor = 1e-12 * max(float(np.max(np.abs(y))), 1e-300)
    w = 1.0 / np.maximum(se, floor) ** 2
    X = np.stack([np.ones_like(n), n ** -float(exponent)], axis=1)
    cov = np.linalg.inv(X.T @ (X * w[:, None]))
    a, b = cov @ (X.T @ (w * y))
    chi2 = float(np.sum(w * (y - a - b * X[:, 1]) ** 2))
    return FiniteSizeFit(float(a), float(np.sqrt(cov[0, 0])), float(b), chi2, n.size - 2,
                         tuple(int(v) for v in n), float(exponent))


def scaling_check(quantity, predicted, means, stderrs, sizes, exponent, note="") -> Check:
    """A :class:`Check` of the infinite-size extrapolation (:func:`extrapolate`) of ``means`` +-
    ``stderrs`` measured at ``sizes``, with the fit stated in the note."""
    fit = extrapolate(sizes, means, stderrs, exponent)
    law = {1.0: "1/N", 2 / 3: "N^(-2/3)", 1 / 3: "N^(-1/3)"}.get(float(exponent), f"N^(-{exponent:.3g})")
    return Check(quantity, predicted, fit.value, fit.stderr,
                 note=f"extrapolated to N = infinity from N = {list(fit.sizes)} with {law} (chi2 {fit.chi2:.2g}, "
                      f"{fit.dof} dof)" + (f"; {note}" if note else ""))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


_REGISTRY: dict[str, Experiment] = {}


def experiment(name: str, claim: str, source: str, tags=(), compares=()):
    """Decorator registering ``run(ctx) -> Outcome`` as an experiment.

    ``compares``: dotted paths of the library functions (or methods, ``module.Class.method``) whose
    output the experiment compares with a measurement.
    """
    def wrap(fn):
        if name in _REGISTRY and _REGISTRY[name].run is not fn:
            raise SpectralTheoryError(f"experiment {name!r} is registered twice")
        _REGISTRY[name] = Experiment(name, claim, source, fn, tuple(tags), tuple(compares))
        return fn
    return wrap


_BROKEN: dict[str, str] = {}


def registry() -> dict[str, Experiment]:
    """All registered experiments (importing every module of ``validation.experiments``).

    A module that fails to import does not hide the others: its traceback is kept in
    :func:`broken_modules` (the suite reports it as a failed entry).
    """
    import importlib
    import pkgutil
    import traceback

    from . import experiments
    for mod in pkgutil.iter_modules(experiments.__path__):
        name = f"{experiments.__name__}.{mod.name}"
        try:
            importlib.import_module(name)
            _BROKEN.pop(mod.name, None)
        except Exception:
            _BROKEN[mod.name] = traceback.format_exc()
    return dict(sorted(_REGISTRY.items()))


def broken_modules() -> dict[str, str]:
    """Experiment modules that failed to import: ``{module name: traceback}``."""
    registry()
    return dict(_BROKEN)
