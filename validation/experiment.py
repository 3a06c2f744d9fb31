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
``FAMILY_LEVEL``); a standard error estimated from few replicates states its degrees of freedom and gets
the Student-t critical value at the same tail probability instead.  It *disagrees* otherwise.  It is
*inconclusive* when its measurement is not finite or its tolerance exceeds the check's stated
``resolution`` (the error bar is too wide for the comparison to discriminate).  An experiment disagrees if any check disagrees, else is inconclusive if any check
is, else agrees.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

from spectral_theory._checks import SpectralTheoryError

AGREE, DISAGREE, INCONCLUSIVE = "agree", "disagree", "inconclusive"
FAMILY_LEVEL = 0.01
PRESETS = ("quick", "full")


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
        mean of n); the critical value is then Student-t's (None: normal, stderr known or n large).
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

    def verdict(self, z: float) -> str:
        if not (np.isfinite(self.measured) and np.isfinite(self.stderr) and np.isfinite(self.predicted)):
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
        return INCONCLUSIVE if INCONCLUSIVE in v else AGREE

    def to_dict(self) -> dict:
        z = self.critical_value
        return dict(
            name=self.experiment.name, claim=self.experiment.claim, source=self.experiment.source,
            preset=self.preset, seconds=self.seconds, verdict=self.verdict, critical_value=z,
            parameters=_jsonable(self.outcome.parameters), notes=self.outcome.notes,
            checks=[dict(asdict(c), tolerance=c.tolerance(z), verdict=c.verdict(z)) for c in self.outcome.checks],
            figures=[asdict(f) for f in self.outcome.figures],
        )


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


def experiment(name: str, claim: str, source: str, tags=()):
    """Decorator registering ``run(ctx) -> Outcome`` as an experiment."""
    def wrap(fn):
        if name in _REGISTRY and _REGISTRY[name].run is not fn:
            raise SpectralTheoryError(f"experiment {name!r} is registered twice")
        _REGISTRY[name] = Experiment(name, claim, source, fn, tuple(tags))
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
