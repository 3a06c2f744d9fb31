"""Sphinx extension of the spectral-theory docs: pages generated from the package itself.

* **API pages** (``api/<group>.rst``) are written by ``conf.py`` (before autosummary
  collects the documents) from the modules' ``__all__``
  (autosummary then writes one page per name), grouped as in :data:`GROUPS`; a public module that no
  group covers is a build warning (an error under ``-W``), so a new public name or module cannot be
  left out of the reference (a group module not, or not yet, in the package is skipped).
* ``.. derivation:: NAME`` renders a derivation of :mod:`derivations` from its own sympy objects: the
  equations are the rows of ``derivations.printing.equation_rows``, the very strings ``latex()`` and
  ``spectral-theory latex`` print, so the theory pages and the LaTeX export cannot drift.
* ``.. derivation-catalogue::`` lists every derivation with a link to the page that renders it.
* ``.. parameter-table::`` renders :func:`spectral_theory.parameters.table` (one name per quantity).
* ``.. experiments:: MODULE`` lists the registered experiments of ``validation.experiments.MODULE``.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
import types
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.ext.autodoc.mock import mock
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: (page, title, intro, modules): the API reference, grouped as the package is
GROUPS = (
    ("schedules", "Schedules", "Noise schedules: the one place alpha(t), sigma(t) and tau(t) are computed.",
     ("spectral_theory.schedules",)),
    ("models", "Models", "Data models with exact denoisers, scores and score Jacobians, the abstract "
     "protocol a trained network implements, and the torch wrapper.",
     ("spectral_theory.models", "validation.networks", "validation.networks.edm")),
    ("spectral_laws", "Spectral laws", "Random-matrix spectral densities (Marchenko-Pastur, Silverstein, "
     "free convolutions) and the spectra of the score Jacobian.",
     ("spectral_theory.rmt", "spectral_theory.spectra", "spectral_theory.rmt.free",
      "spectral_theory.rmt.free.edges", "spectral_theory.rmt.reference")),
    ("spiked", "Spiked covariance and linear diffusion", "BBP transition, overlaps, emergence and "
     "power iteration (Weitzner et al.).",
     ("spectral_theory.spiked", "spectral_theory.linear_denoisers", "spectral_theory.tracy_widom")),
    ("gaps_phases", "Gaps, collapse and phases", "Spectral gaps of tau J, collapse and speciation "
     "times, and the geometric phases of generation (Ventura et al.).",
     ("spectral_theory.gaps", "spectral_theory.collapse", "spectral_theory.phase_diagram")),
    ("hidden_gaussian", "Hidden Gaussian structure", "Metrics, linear distillation and real data sets "
     "(Li, Dai, Qu).",
     ("spectral_theory.metrics", "spectral_theory.distill", "spectral_theory.datasets")),
    ("molrg", "Mixtures of low-rank Gaussians", "Subspace fitting, recovery error and numerical rank "
     "(Wang et al.).", ("spectral_theory.molrg",)),
    ("random_features", "Training timescales", "Generalization and memorization timescales of a "
     "random-features score model (Bonnaire, Urfin, Biroli, Mezard).", ("spectral_theory.random_features",)),
    ("parameters", "Names, checks and errors", "One name per quantity, input checks and the package's "
     "exceptions.", ("spectral_theory.parameters", "spectral_theory.checks", "spectral_theory")),
    ("derivations", "Derivations", "Symbolic derivations (sympy) with steps, LaTeX and compiled numeric "
     "twins; the catalogue is on :doc:`/theory/derivations`.",
     ("derivations", "derivations.core", "derivations.registry", "derivations.codegen",
      "derivations.printing", "derivations.bibliography", "derivations.document", "derivations.symbols",
      "derivations.sampling")),
    ("validation", "Validation", "Samplers, Jacobian routes and matrix-free spectral estimates, "
     "experiments and verdicts, sweeps and reports.",
     ("validation", "validation.samplers", "validation.jacobians", "validation.operators",
      "validation.spectral_estimates", "validation.lanczos", "validation.wishart",
      "validation.experiment", "validation.mutants", "validation.suite", "validation.sweep",
      "validation.store", "validation.molrg_sweep", "validation.predict", "validation.report",
      "validation.figures", "validation.cli")),
)

#: packages whose submodules are catalogues documented elsewhere (theory pages, experiment lists)
CATALOGUES = ("derivations.library", "validation.experiments")
PACKAGES = ("spectral_theory", "derivations", "validation")


# -- public names -----------------------------------------------------------------------------------
def public_names(module) -> list:
    """The module's ``__all__``; without one, the classes and functions it defines (not ``_private``)."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [n for n, obj in vars(module).items() if not n.startswith("_")
            and (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module.__name__]


#: optional extras that autodoc mocks when they are not installed (the docs build without them)
OPTIONAL = ("torch",)


def mock_imports() -> list:
    return [m for m in OPTIONAL if importlib.util.find_spec(m) is None]


@contextlib.contextmanager
def mocked():
    """Import under autodoc's mock of the missing optional extras, and forget what was imported
    then (``validation.networks`` on a mocked torch must not stay in ``sys.modules`` for the gallery)."""
    before = set(sys.modules)
    with mock(mock_imports()):
        yield
    if mock_imports():
        for name in set(sys.modules) - before:
            del sys.modules[name]


def _import(name):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name == name or name.startswith(f"{e.name}."):
            return None            # not (yet) in the package: the group skips it
        raise


def assignments() -> dict:
    """``{module name: [names it documents]}``: every public name once, at one home.

    A re-exported object (``spectral_theory.Gaussian`` is ``spectral_theory.models.Gaussian``) is
    documented under the first module of :data:`GROUPS` that exports it (so the top-level package,
    listed last in its group, keeps only what no group module exports); submodules are skipped.
    """
    listed = [m for _, _, _, mods in GROUPS for m in mods]
    exporters: dict = {}
    modules = {}
    for name in listed:
        mod = _import(name)
        if mod is None:
            continue
        modules[name] = mod
        for n in public_names(mod):
            obj = getattr(mod, n)
            if isinstance(obj, types.ModuleType):
                continue
            exporters.setdefault(_key(obj, name, n), []).append((name, n, obj))
    out = {name: [] for name in modules}
    for entries in exporters.values():      # listed in GROUPS order: the first exporter is the home
        out[entries[0][0]].append(entries[0][1])
    for name, mod in modules.items():       # keep each module's own order
        order = public_names(mod)
        out[name].sort(key=order.index)
    return out


def _key(obj, module, name):
    # classes and functions are the same object wherever re-exported; constants are per module
    return id(obj) if (inspect.isclass(obj) or callable(obj)) else (module, name)


def public_modules() -> list:
    """Every importable public module of the three packages (no ``_private`` part, not a catalogue)."""
    found = []
    for pkg in PACKAGES:
        root = importlib.import_module(pkg)
        found.append(pkg)
        for info in pkgutil.walk_packages(root.__path__, pkg + "."):
            name = info.name
            if any(p.startswith("_") for p in name.split(".")) or any(
                    name == c or name.startswith(c + ".") for c in CATALOGUES):
                continue
            found.append(name)
    return found


def undocumented() -> list:
    """Problems that leave a public name out of the reference: ``[message]`` (empty when complete).

    A public module is covered when a group lists it, or when each of its public names is exported
    (the same object) by a listed module; every name of a listed module's ``__all__`` gets a page.
    """
    listed = {m for _, _, _, mods in GROUPS for m in mods}
    documented = {id(getattr(importlib.import_module(m), n)) for m, names in assignments().items()
                  for n in names}
    problems = []
    for name in public_modules():
        if name in listed:
            continue
        try:
            mod = importlib.import_module(name)
        except ImportError as e:        # an optional extra missing: the listed parent documents it
            logger.info(f"st_docs: {name} not importable ({e})")
            continue
        missing = [n for n in public_names(mod) if not isinstance(getattr(mod, n), types.ModuleType)
                   and id(getattr(mod, n)) not in documented]
        if missing:
            problems.append(f"public module {name} is in no API group of docs/_ext/st_docs.py and "
                            f"these names are documented nowhere: {', '.join(missing)}")
    return problems


def write_api_pages(srcdir) -> None:
    """Write ``api/index.rst`` and one page per group; called by ``conf.py`` (autosummary reads the
    pages when it collects the documents, before any Sphinx event an extension could hook)."""
    out = Path(srcdir) / "api"
    out.mkdir(exist_ok=True)
    with mocked():
        homes = assignments()
    toc = []
    for page, title, intro, mods in GROUPS:
        lines = [title, "=" * len(title), "", intro, ""]
        for m in mods:
            if m not in homes:
                continue
            lines += [f".. automodule:: {m}", "   :no-members:", "", f".. currentmodule:: {m}", ""]
            if homes[m]:
                lines += [".. autosummary::", "   :toctree: generated", ""]
                lines += [f"   {n}" for n in homes[m]] + [""]
        _write(out / f"{page}.rst", "\n".join(lines))
        toc.append(f"   {page}")
    _write(out / "index.rst", "\n".join(
        ["API reference", "=============", "",
         "Generated from the docstrings; every name in a module's ``__all__`` has a page.", "",
         ".. toctree::", "   :maxdepth: 2", "", *toc, ""]))


def report_undocumented(app) -> None:
    with mocked():
        problems = undocumented()
    for problem in problems:
        logger.warning(problem)


def _write(path: Path, text: str) -> None:
    # rewrite only on change: Sphinx then rereads only what changed
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


# -- prose with $math$ --------------------------------------------------------------------------
def _inline(text: str) -> list:
    """Docutils nodes of prose whose ``$...$`` segments are math."""
    out = []
    for part in re.split(r"(\$[^$]+\$)", text):
        if len(part) > 1 and part.startswith("$") and part.endswith("$"):
            out.append(nodes.math(part[1:-1], part[1:-1]))
        elif part:
            out.append(nodes.Text(part))
    return out


def _para(text: str) -> nodes.paragraph:
    p = nodes.paragraph()
    p.extend(_inline(text))
    return p


# -- directives ---------------------------------------------------------------------------------
def equations(d, steps: bool = True) -> list:
    """``[(title, [(why, tex, label)])]``: the steps and results of derivation ``d`` as the LaTeX export
    prints them: the rows of :func:`derivations.printing.equation_rows` that ``latex_steps`` and
    ``latex_results`` put in their ``align``, joined by ``\\\\``."""
    from derivations.printing import equation_rows
    items = [(s.why, s.lhs, s.rhs, s.label) for s in d.steps] if steps else []
    blocks = [("Steps", items)] if steps else []
    blocks.append(("Results", [(r.description, r.symbol, r.expr, "result-" + r.name) for r in d.results]))
    return [(title, [(why, " \\\\\n".join(equation_rows(lhs, rhs)), f"{d.name}-{label}")
                     for why, lhs, rhs, label in items]) for title, items in blocks]


class DerivationDirective(SphinxDirective):
    """``.. derivation:: NAME`` (options ``:steps: no`` to show results only)."""

    required_arguments = 1
    option_spec = {"steps": directives.unchanged}

    def run(self):
        import derivations
        import sympy as sp
        from derivations.bibliography import collect
        from derivations.printing import latex
        d = derivations.derive(self.arguments[0])
        self.env.note_dependency(inspect.getsourcefile(type(d)))
        self.env.note_dependency(importlib.import_module(
            next(e.module for e in derivations.catalogue() if e.name == d.name)).__file__)
        section_id = f"derivation-{d.name}"
        box = nodes.container(classes=["derivation"], ids=[section_id])
        head = nodes.paragraph()
        head += nodes.strong(text=d.title)
        head += nodes.Text(" — ")
        head += nodes.literal(text=f"derivations.derive({d.name!r})")
        box += head
        box += _para(d.statement)
        symbols = nodes.bullet_list()
        for s, text in d.symbols.items():
            item = nodes.list_item()
            p = nodes.paragraph()
            tex = derivations.core._describe_symbol(s)
            p += nodes.math(tex, tex)
            p += nodes.Text(": ")
            p.extend(_inline(text))
            item += p
            symbols += item
        box += nodes.rubric(text="Symbols and assumptions")
        box += symbols
        regime = d.regime_text + (f" (${latex(d.regime)}$)." if d.regime is not sp.true else ".")
        box += nodes.rubric(text="Regime of validity")
        box += _para(regime)
        for title, items in equations(d, steps=self.options.get("steps", "yes") != "no"):
            box += nodes.rubric(text=title)
            for why, tex, label in items:
                if why:
                    box += _para(why)
                box += self._math(tex, label)
        box += nodes.rubric(text="References")
        refs = nodes.enumerated_list()
        for r in collect(d.references):
            item = nodes.list_item()
            item += _para(r.text())
            refs += item
        box += refs
        return [box]

    def _math(self, tex: str, label: str):
        # the equation string is the LaTeX export's own ("lhs &= rhs"): aligned makes the & valid
        label = re.sub(r"[^A-Za-z0-9-]+", "-", label).strip("-").lower()
        content = StringList([".. math::", f"   :label: {label}", "",
                              "   \\begin{aligned}" + tex.replace("\n", " ") + "\\end{aligned}"],
                             source=self.get_source_info()[0])
        holder = nodes.container()
        self.state.nested_parse(content, self.content_offset, holder)
        return holder.children


class DerivationCatalogue(SphinxDirective):
    """A table of every derivation: name, title and the theory page that renders it."""

    def run(self):
        import derivations
        rendered = {}
        for page in sorted((Path(self.env.srcdir) / "theory").glob("*.rst")):
            for name in re.findall(r"^\.\. derivation:: *(\w+)", page.read_text(), flags=re.M):
                rendered[name] = f"theory/{page.stem}"
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 25 55 20", "",
                 "   * - name", "     - title", "     - rendered on"]
        missing = []
        for e in derivations.catalogue():
            where = f":doc:`/{rendered[e.name]}`" if e.name in rendered else "not rendered"
            if e.name not in rendered:
                missing.append(e.name)
            lines += [f"   * - ``{e.name}``", f"     - {e.title}", f"     - {where}"]
        if missing:
            logger.warning(f"derivations rendered on no theory page: {', '.join(missing)} "
                           "(add `.. derivation:: NAME` to docs/theory/<paper>.rst)",
                           location=self.get_location())
        holder = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, holder)
        return holder.children


class ParameterTable(SphinxDirective):
    """The declared parameters (:func:`spectral_theory.parameters.table`) as a table."""

    def run(self):
        from spectral_theory import parameters
        self.env.note_dependency(parameters.__file__)
        table = nodes.table()
        group = nodes.tgroup(cols=4)
        table += group
        for w in (12, 20, 20, 48):
            group += nodes.colspec(colwidth=w)
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body
        head += self._row([nodes.Text(h) for h in ("name", "symbol", "domain", "meaning")])
        for p in parameters.table():
            meaning = [nodes.literal(text=t[1:-1]) if t.startswith("`") and t.endswith("`") and len(t) > 1
                       else nodes.Text(t) for t in re.split(r"(`[^`]+`)", p.description) if t]
            body += self._row([nodes.literal(text=p.name), nodes.math(p.symbol, p.symbol),
                               nodes.Text(p.domain), meaning])
        return [table]

    @staticmethod
    def _row(cells):
        row = nodes.row()
        for c in cells:
            entry = nodes.entry()
            p = nodes.paragraph()
            p.extend(c if isinstance(c, list) else [c])
            entry += p
            row += entry
        return row


class Experiments(SphinxDirective):
    """``.. experiments:: spiked`` lists the experiments registered by validation.experiments.spiked."""

    required_arguments = 1

    def run(self):
        from validation.experiment import registry
        module = f"validation.experiments.{self.arguments[0]}"
        found = [e for e in registry().values() if e.run.__module__ == module]
        if not found:
            logger.warning(f"no experiment registered by {module}", location=self.get_location())
        items = nodes.bullet_list()
        for e in found:
            item = nodes.list_item()
            p = nodes.paragraph()
            p += nodes.literal(text=e.name)
            p += nodes.Text(": ")
            p.extend(_inline(e.claim))
            p += nodes.Text(f" Source: {e.source}")
            item += p
            items += item
        return [items]


def drop_type_docstring(app, what, name, obj, options, lines):
    """A module constant (``LUMA = np.array(...)``) has no docstring of its own (only a ``#:`` comment
    would give it one): autodoc would show its type's (ndarray's), so drop that."""
    if what not in ("data", "attribute") or isinstance(obj, type) or callable(obj):
        return
    words = " ".join(lines).split()
    for doc in (getattr(obj, "__doc__", None), type(obj).__doc__):
        if isinstance(doc, str) and words and words[3:30] == doc.split()[3:30]:
            lines.clear()
            return


def setup(app):
    app.connect("builder-inited", report_undocumented)
    app.connect("autodoc-process-docstring", drop_type_docstring, priority=400)   # before numpydoc
    app.add_directive("derivation", DerivationDirective)
    app.add_directive("derivation-catalogue", DerivationCatalogue)
    app.add_directive("parameter-table", ParameterTable)
    app.add_directive("experiments", Experiments)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
