r"""The :class:`Derivation` type: a chain of checkable sympy equalities that renders itself.

A derivation is data: symbols with assumptions, steps (each a sympy equality with a sentence saying why
it holds), results, references and a regime of validity.  It knows how to

* **check** itself: every step's claim is verified either by ``sympy.simplify`` (an exact identity) or,
  when simplify cannot decide, by substituting random rational points drawn from the derivation's
  domain and regime and evaluating the residual with 50 significant digits (mpmath, via ``evalf``);
  its *numeric twins* compare the compiled result with the matching ``spectral_theory`` function;
* **print** itself (:mod:`derivations.printing`): ``latex()`` gives ``align`` environments with
  ``\label``\ s derived from the derivation's and the step's names (stable across runs), one row per
  element of a tuple and long sums broken over rows; ``sympy.latex(d)`` calls the ``_latex`` printer
  hook, and ``_repr_latex_`` renders it in notebooks;
* **compile** itself: ``numeric(result)`` returns a numba-compiled (or numpy) function of a result
  (:mod:`derivations.codegen`).

A step may display one equation and check another (``claim``): e.g. it displays the root
``g = (...)`` of a quadratic and checks that the root satisfies the quadratic, or it displays a sum
over K blocks and checks the K = 2 specialisation.  The displayed equation is what the reader sees; the
claim is what the machine proves; the ``why`` sentence says how they relate.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import sympy as sp

from spectral_theory.checks import SpectralTheoryError, as_generator

from .bibliography import collect
from .printing import MAX_ROW_WIDTH, equation_rows, latex, tex_text, tex_title

#: significant digits of the random-point checks, and the residual they must reach
CHECK_DIGITS = 50
CHECK_RTOL = sp.Float("1e-35", CHECK_DIGITS)
DEFAULT_POINTS = 6
_MAX_REJECTIONS = 5000


@dataclass(frozen=True)
class Step:
    """One equality of a derivation.

    ``lhs = rhs`` is displayed; ``claim`` (default ``Eq(lhs, rhs)``) is checked.  ``method`` is
    "auto" (simplify, then random points if simplify cannot decide), "simplify" (must simplify to zero)
    or "numeric" (random points only; for claims simplify is too slow on).  ``where`` restricts the random
    points (a sympy boolean in addition to the derivation's regime), e.g. ``a < x < b``.
    """

    lhs: object
    rhs: object
    why: str
    label: str
    claim: object = None
    method: str = "auto"
    where: object = sp.true

    def checked_claim(self):
        return self.claim if self.claim is not None else Eq(self.lhs, self.rhs)


def Eq(lhs, rhs):
    """An unevaluated equality (sympy would otherwise collapse an identity to ``True`` on creation)."""
    return sp.Eq(lhs, rhs, evaluate=False)


@dataclass(frozen=True)
class Result:
    """A result of a derivation: ``symbol = expr``, compiled by :meth:`Derivation.numeric`.

    ``args`` orders the arguments of the numeric function; ``regime`` (sympy boolean) is where ``expr``
    holds (default: the derivation's regime); ``regime_text`` says it in words for error messages.
    """

    name: str
    symbol: object
    expr: object
    args: tuple
    description: str
    regime: object = None
    regime_text: str | None = None


@dataclass(frozen=True)
class Twin:
    """A numeric twin: ``run(derivation, rng) -> error`` compares a compiled result with the matching
    ``spectral_theory`` function at random valid points and returns the largest relative error, which
    must be at most ``tol``.  ``requires`` lists dotted names (``"spectral_theory.rmt.MarchenkoPastur"``)
    that must exist; when one is missing the twin is reported *unavailable*, never passed."""

    name: str
    description: str
    run: Callable
    tol: float
    requires: tuple = ()


@dataclass(frozen=True)
class StepCheck:
    label: str
    passed: bool
    route: str           # "simplify" or "numeric(n points, 50 digits)"
    residual: float      # largest relative residual (0 for simplify)
    seconds: float


@dataclass(frozen=True)
class TwinCheck:
    name: str
    status: str          # "passed", "failed" or "unavailable"
    error: float         # largest relative error (nan if unavailable)
    tol: float
    detail: str


@dataclass(frozen=True)
class CheckReport:
    """Outcome of :meth:`Derivation.check`; ``passed`` is True when every step checks and every
    *available* twin matches (``unavailable`` lists twins whose target does not exist yet)."""

    name: str
    steps: tuple
    twins: tuple

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.steps) and all(t.status != "failed" for t in self.twins)

    @property
    def unavailable(self) -> tuple:
        return tuple(t for t in self.twins if t.status == "unavailable")

    def __str__(self) -> str:
        lines = [f"derivation {self.name}: {'PASSED' if self.passed else 'FAILED'}"]
        for s in self.steps:
            lines.append(f"  step {s.label:<28} {'ok ' if s.passed else 'BAD'} {s.route:<28} "
                         f"residual {s.residual:.2e} ({s.seconds:.2f} s)")
        for t in self.twins:
            lines.append(f"  twin {t.name:<28} {t.status:<11} error {t.error:.2e} (tol {t.tol:.0e}) {t.detail}")
        return "\n".join(lines)


def _resolve(dotted: str):
    """Import ``a.b.C`` (module path then attributes); raise ImportError/AttributeError if absent."""
    import importlib
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"cannot import {dotted}")


def _describe_symbol(s) -> str:
    r"""LaTeX of a symbol's assumptions: ``\gamma > 0``, ``x \in \mathbb{R}``, ..."""
    t = latex(s)
    if getattr(s, "is_positive", None):
        return f"{t} > 0"
    if getattr(s, "is_nonnegative", None):
        return rf"{t} \geq 0"
    if getattr(s, "is_real", None):
        return rf"{t} \in \mathbb{{R}}"
    if isinstance(s, sp.MatrixSymbol):
        return rf"{t} \in \mathbb{{R}}^{{{latex(s.shape[0])} \times {latex(s.shape[1])}}}"
    return rf"{t} \in \mathbb{{C}}"


@dataclass(frozen=True)
class Derivation:
    """A derivation: see the module docstring.

    Parameters
    ----------
    name : registry key (a Python identifier), also the LaTeX label prefix.
    title, statement : a title and the claim in words (prose; ``$...$`` math allowed).
    symbols : mapping symbol -> its meaning in words (printed with its assumptions).
    steps, results : tuples of :class:`Step` and :class:`Result`.
    references : tuple of reference strings.
    regime : sympy Boolean of the regime of validity; ``regime_text`` says it in words.
    domain : mapping symbol -> (lo, hi) sampling box, or symbol -> callable(rng) returning a sympy value
        (e.g. an exactly orthonormal matrix), for the random-point checks of the steps.
    twins : tuple of :class:`Twin`.
    """

    name: str
    title: str
    statement: str
    symbols: Mapping
    steps: tuple
    results: tuple
    references: tuple
    regime: object = sp.true
    regime_text: str = "everywhere in the domain of the symbols"
    domain: Mapping = field(default_factory=dict)
    twins: tuple = ()

    # -- access -----------------------------------------------------------------------------
    def result(self, name: str | None = None) -> Result:
        """The result called ``name`` (default: the first)."""
        if name is None:
            return self.results[0]
        for r in self.results:
            if r.name == name:
                return r
        raise SpectralTheoryError(f"derivation `{self.name}` has no result `{name}`; "
                                  f"results are {[r.name for r in self.results]}")

    def numeric(self, result: str | None = None, *, backend: str = "auto",
                out_of_regime: str = "raise", complex: bool = False):
        """Compiled numeric function of a result (see :mod:`derivations.codegen`)."""
        from .codegen import compile_expression
        r = self.result(result)
        regime = self.regime if r.regime is None else r.regime
        text = r.regime_text or (self.regime_text if r.regime is None else None)
        return compile_expression(r.expr, r.args, name=f"{self.name}.{r.name}", regime=regime,
                                  regime_text=text, backend=backend, out_of_regime=out_of_regime,
                                  complex=complex)

    # -- checking ---------------------------------------------------------------------------
    def sample_point(self, rng, where=sp.true) -> dict:
        """A random point of the domain inside the regime and ``where``: rationals (exact) for
        intervals, whatever the callable returns otherwise."""
        rng = as_generator(rng)
        condition = sp.And(self.regime, where)
        for _ in range(_MAX_REJECTIONS):
            point = {}
            for s, box in self.domain.items():
                if callable(box):
                    point[s] = box(rng)
                else:
                    lo, hi = (float(v) for v in box)
                    point[s] = sp.Rational(int(round((lo + (hi - lo) * rng.random()) * 10**6)), 10**6)
            ok = condition.subs(point)
            if ok is sp.true:
                return point
            if ok is not sp.false:
                raise SpectralTheoryError(f"`{self.name}`: regime {condition} undecided at {point}; "
                                          "is every symbol in the domain?")
        raise SpectralTheoryError(f"`{self.name}`: no random point satisfies {condition} in "
                                  f"{_MAX_REJECTIONS} draws; widen the domain")

    def check_step(self, step: Step, rng=None, n_points: int = DEFAULT_POINTS) -> StepCheck:
        """Verify one step (see :class:`Step` for the methods)."""
        start = time.perf_counter()
        claim = step.checked_claim()
        pairs = claim if isinstance(claim, (tuple, list)) else (claim,)
        if any(c is sp.false for c in pairs):
            return StepCheck(step.label, False, "sympy: false", float("nan"), time.perf_counter() - start)
        # a claim sympy already decided while constructing Eq (structurally identical sides) is proven
        pairs = tuple(c for c in pairs if c is not sp.true)
        diffs = [sp.sympify(c.lhs) - sp.sympify(c.rhs) if not isinstance(c.lhs, sp.MatrixBase)
                 else sp.Matrix(c.lhs) - sp.Matrix(c.rhs) for c in pairs]
        if step.method in ("auto", "simplify"):
            if all(_is_zero(sp.simplify(d)) for d in diffs):
                return StepCheck(step.label, True, "simplify", 0.0, time.perf_counter() - start)
            if step.method == "simplify":
                return StepCheck(step.label, False, "simplify", float("nan"), time.perf_counter() - start)
        rng = as_generator(rng)
        worst = 0.0
        for _ in range(n_points):
            point = self.sample_point(rng, step.where)
            for c, d in zip(pairs, diffs):
                worst = max(worst, _relative_residual(c, d, point))
        passed = worst <= float(CHECK_RTOL)
        return StepCheck(step.label, passed, f"numeric({n_points} points, {CHECK_DIGITS} digits)",
                         worst, time.perf_counter() - start)

    def check_steps(self, rng=None, n_points: int = DEFAULT_POINTS) -> tuple:
        rng = as_generator(rng)
        return tuple(self.check_step(s, rng, n_points) for s in self.steps)

    def check_twin(self, twin: Twin, rng=None) -> TwinCheck:
        """Run one numeric twin; "unavailable" (not "passed") when its target does not exist."""
        for dotted in twin.requires:
            try:
                _resolve(dotted)
            except (ImportError, AttributeError) as e:
                return TwinCheck(twin.name, "unavailable", float("nan"), twin.tol, f"{dotted} missing: {e}")
        error = float(twin.run(self, as_generator(rng)))
        status = "passed" if error <= twin.tol else "failed"
        return TwinCheck(twin.name, status, error, twin.tol, twin.description)

    def check(self, rng=None, n_points: int = DEFAULT_POINTS) -> CheckReport:
        """Check every step and run every numeric twin; returns a :class:`CheckReport`."""
        rng = as_generator(rng)
        steps = self.check_steps(rng, n_points)
        twins = tuple(self.check_twin(t, rng) for t in self.twins)
        return CheckReport(self.name, steps, twins)

    # -- printing ---------------------------------------------------------------------------
    def _label(self, label: str) -> str:
        return f"{self.name}:{label}"

    def _align(self, items, labels: bool, width: float = MAX_ROW_WIDTH) -> str:
        """An ``align`` of (explanation, lhs, rhs, label) items; a multi-row item is labelled on its
        last row (the others are ``\\nonumber``)."""
        blocks = []
        for why, lhs, rhs, label in items:
            rows = equation_rows(lhs, rhs, width=width)
            tag = rf" \label{{eq:{self._label(label)}}}" if labels else ""
            body = " \\nonumber \\\\\n".join(rows) + tag
            blocks.append((rf"\intertext{{{tex_text(why)}}}" + "\n" if why else "") + body)
        return "\\begin{align}\n" + " \\\\\n".join(blocks) + "\n\\end{align}"

    def latex_steps(self, labels: bool = True, width: float = MAX_ROW_WIDTH) -> str:
        r"""The steps as one ``align`` environment with ``\intertext`` explanations; labels
        ``eq:<derivation>:<step>``."""
        return self._align([(s.why, s.lhs, s.rhs, s.label) for s in self.steps], labels, width)

    def latex_results(self, labels: bool = True, width: float = MAX_ROW_WIDTH) -> str:
        """The results as one ``align``; labels ``eq:<derivation>:result:<name>`` (steps may share a name)."""
        return self._align([(r.description, r.symbol, r.expr, "result:" + r.name) for r in self.results],
                           labels, width)

    def latex(self, level: str = "section", cite: bool = True, width: float = MAX_ROW_WIDTH) -> str:
        r"""A complete LaTeX section: statement, assumptions, regime, steps, results, references.

        With ``cite`` the references are ``\cite`` d by their BibTeX keys (:mod:`derivations.bibliography`;
        the document or the ``.bib`` file supplies the entries); without, they are listed in full.
        ``width`` is the row width at which displayed equations break (:func:`equation_rows`)."""
        symbols = "\n".join(rf"  \item ${_describe_symbol(s)}$: {tex_text(text)}"
                            for s, text in self.symbols.items())
        refs = collect(self.references)
        references = (rf"\paragraph{{References.}} \cite{{{','.join(r.key for r in refs)}}}." if cite else
                      "\n".join([r"\paragraph{References.}", r"\begin{itemize}",
                                 *(rf"  \item {r.text()}" for r in refs), r"\end{itemize}"]))
        return "\n".join([
            rf"\{level}{{{tex_title(self.title)}}}\label{{sec:{self.name}}}",
            rf"\noindent\textbf{{Derivation}} \texttt{{{tex_text(self.name)}}}. {tex_text(self.statement)}",
            "", r"\paragraph{Symbols and assumptions.}", r"\begin{itemize}", symbols, r"\end{itemize}",
            rf"\paragraph{{Regime of validity.}} {tex_text(self.regime_text)}"
            + (rf" (${latex(self.regime)}$)." if self.regime is not sp.true else "."),
            "", r"\paragraph{Steps.}", self.latex_steps(width=width),
            "", r"\paragraph{Results.}", self.latex_results(width=width),
            "", references, ""])

    def _latex(self, printer) -> str:
        """sympy printer hook: ``sympy.latex(derivation)`` gives steps and results (no labels), printed
        by :class:`~derivations.printing.TexPrinter` whatever printer asked."""
        return r"\begin{aligned}" + " \\\\ ".join(
            row for x in (*self.steps, *self.results)
            for row in equation_rows(x.lhs if isinstance(x, Step) else x.symbol,
                                     x.rhs if isinstance(x, Step) else x.expr)) + r"\end{aligned}"

    def _repr_latex_(self) -> str:
        return "$$" + latex(self) + "$$"

    def __repr__(self) -> str:
        return (f"Derivation({self.name!r}: {len(self.steps)} steps, results "
                f"{[r.name for r in self.results]})")


def _is_zero(expr) -> bool:
    if isinstance(expr, sp.MatrixBase):
        return all(_is_zero(e) for e in expr)
    return sp.sympify(expr).is_zero is True or expr == 0


def _relative_residual(claim, diff, point) -> float:
    """|lhs - rhs| / max(1, |lhs|) at ``point``, evaluated with CHECK_DIGITS digits."""
    point = {k: sp.ImmutableMatrix(v) if isinstance(v, sp.MatrixBase) else v for k, v in point.items()}

    def value(e):
        e = e.subs(point)
        if isinstance(e, sp.Basic):  # explicit identities, so that I + Matrix(...) collapses
            e = e.replace(lambda t: isinstance(t, sp.Identity),
                          lambda t: sp.ImmutableMatrix(sp.eye(t.rows)))
        if hasattr(e, "doit"):
            e = e.doit()
        if isinstance(e, (sp.MatrixBase, sp.MatrixExpr)):
            m = sp.Matrix(e).evalf(CHECK_DIGITS)
            return max((abs(complex(v)) for v in m), default=0.0), m
        v = sp.N(e, CHECK_DIGITS)
        return abs(complex(v)), v
    try:
        size, _ = value(sp.sympify(claim.lhs) if not isinstance(claim.lhs, sp.MatrixBase) else claim.lhs)
        res, _ = value(diff)
    except (TypeError, ValueError) as e:
        raise SpectralTheoryError(f"step residual is not a number at {point}: {e}") from e
    return res / max(1.0, size)
