"""The documentation: every public name has an API page, the theory pages render the derivations'
own LaTeX, and (slow) the Sphinx build produces the expected pages."""
import importlib
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import st_docs  # noqa: E402


def test_every_public_module_is_covered_by_an_api_group():
    with st_docs.mocked():
        assert st_docs.undocumented() == []


def test_api_pages_list_every_public_name(tmp_path):
    """Parse the written pages back: each public name of each documented module (and each top-level
    re-export) is an entry of an autosummary table."""
    st_docs.write_api_pages(tmp_path)
    entries, listed, module, in_table = set(), set(), None, False
    for page in (tmp_path / "api").glob("*.rst"):
        for line in page.read_text().splitlines():
            if line.startswith(".. currentmodule:: "):
                module = line.split()[-1]
                listed.add(module)
            in_table = line.startswith(".. autosummary::") or (in_table and (not line or line.startswith("   ")))
            if in_table and line.startswith("   ") and not line.strip().startswith(":"):
                entries.add(f"{module}.{line.strip()}")
    with st_docs.mocked():
        documented = {id(getattr(importlib.import_module(e.rsplit(".", 1)[0]), e.rsplit(".", 1)[1]))
                      for e in entries}
        _check_entries(listed, entries, documented)


def _check_entries(listed, entries, documented):
    for name in listed:
        mod = importlib.import_module(name)
        for n in st_docs.public_names(mod):
            obj = getattr(mod, n)
            if not isinstance(obj, types.ModuleType):
                assert f"{name}.{n}" in entries or id(obj) in documented, f"{name}.{n} has no API page"
    import spectral_theory, derivations, validation
    for pkg in (spectral_theory, derivations, validation):   # the top-level re-exports too
        for n in getattr(pkg, "__all__", []):
            obj = getattr(pkg, n)
            if not isinstance(obj, types.ModuleType) and not n.startswith("__"):
                assert id(obj) in documented or f"{pkg.__name__}.{n}" in entries, f"{pkg.__name__}.{n} undocumented"


def test_a_missing_module_is_reported(monkeypatch):
    groups = tuple((p, t, i, tuple(m for m in mods if m != "spectral_theory.molrg")) for p, t, i, mods in st_docs.GROUPS)
    monkeypatch.setattr(st_docs, "GROUPS", groups)
    with st_docs.mocked():
        problems = st_docs.undocumented()
    assert any("spectral_theory.molrg" in p and "fit_subspaces" in p for p in problems)


def test_theory_equations_are_the_latex_export():
    """The theory pages show exactly the rows `latex()` prints: they cannot drift apart."""
    import derivations
    for entry in derivations.catalogue():
        d = derivations.derive(entry.name)
        tex = d.latex()
        for _, items in st_docs.equations(d):
            for _, equation, label in items:
                for row in equation.split(" \\\\\n"):
                    assert row in tex, (entry.name, label, row)


def test_every_derivation_is_rendered_on_a_theory_page():
    import derivations
    rendered = []
    for page in (DOCS / "theory").glob("*.rst"):
        rendered += re.findall(r"^\.\. derivation:: *(\w+)", page.read_text(), flags=re.M)
    assert sorted(rendered) == sorted(set(rendered)), "a derivation is rendered twice (duplicate labels)"
    assert set(rendered) == set(derivations.names())


def _conf_value(name):
    """A literal assignment of docs/conf.py, read without running the configuration (which writes pages)."""
    import ast
    for node in ast.parse((DOCS / "conf.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise KeyError(name)


def _inventory(project):
    from sphinx.util.inventory import InventoryFile
    with open(DOCS / "_inventories" / f"{project}.inv", "rb") as f:
        inv = InventoryFile.load(f, "", lambda base, uri: uri)
    return {(kind, name) for kind, entries in inv.items() for name in entries}


def test_intersphinx_inventories_are_offline_and_cover_every_alias():
    """Each site has its local inventory (header version = the version its URL names) and every
    parameter-type alias resolves in one of them, so no link is left dangling or sent to the wrong page."""
    sites = _conf_value("_SITES")
    assert set(sites) == {"python", "numpy", "scipy", "sympy"}
    objects = {}
    for project, url in sites.items():
        header = (DOCS / "_inventories" / f"{project}.inv").read_bytes().split(b"\n")[:3]
        version = header[2].decode().split(":", 1)[1].strip()
        assert version in url or project == "sympy", (project, version, url)   # sympy: see _inventories/README
        objects[project] = _inventory(project)
    everything = set().union(*objects.values())
    for alias, target in _conf_value("numpydoc_xref_aliases").items():
        m = re.fullmatch(r":term:`(\w+):(\w+)`", target)
        if m:
            assert ("std:term", m.group(2)) in objects[m.group(1)], alias
        else:
            assert any(name == target for _, name in everything), (alias, target)


@pytest.mark.slow
def test_docs_build(tmp_path):
    """Build the site (gallery not executed: CI's full build does that) and read the pages back."""
    out = tmp_path / "html"
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-b", "html", "-D", "plot_gallery=0",
                          "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    index = (out / "index.html").read_text()
    assert "<h1>spectral-theory" in index
    for page in ("Installation", "Quickstart", "Conventions", "Theory", "Gallery", "API reference"):
        assert page in index, page
    schedules = (out / "api" / "schedules.html").read_text()
    assert "<h1>Schedules" in schedules and "edm_sigmas" in schedules
    assert (out / "api" / "generated" / "spectral_theory.schedules.VP.html").is_file()
    conventions = (out / "conventions.html").read_text()
    assert "Names and symbols" in conventions and "The verdict rule" in conventions
    from spectral_theory import parameters
    assert all(f"<code class=\"docutils literal notranslate\"><span class=\"pre\">{p.name}</span></code>" in conventions
               for p in parameters.table())
    # parameter types link to NumPy's and SymPy's own pages through the offline inventories
    sampler = (out / "api" / "generated" / "spectral_theory.models.SpikedCovariance.html").read_text()
    assert 'href="https://numpy.org/doc/1.26/reference/random/generator.html#numpy.random.Generator"' in sampler
    assert "docs.python.org/3.12/library/random.html" not in sampler    # the word "random" is not a link
    spiked = (out / "theory" / "spiked.html").read_text()
    assert "BBP transition" in spiked and "What the validation measured" in spiked
    # every public name is in the inventory Sphinx wrote
    from sphinx.util.inventory import InventoryFile
    with open(out / "objects.inv", "rb") as f:
        inv = InventoryFile.load(f, "", lambda base, uri: uri)
    objects = {name for kind, entries in inv.items() if kind.startswith("py:") for name in entries} \
        if hasattr(inv, "items") else {o.name for o in inv.data.values()}
    for module, names in st_docs.assignments().items():
        for n in names:
            assert f"{module}.{n}" in objects, f"{module}.{n} missing from the built docs"


def test_docstrings_pass_the_numpydoc_checks_the_build_enforces():
    """The checks of ``numpydoc_validation_checks`` (docs/conf.py) on every public name, as the -W build
    applies them: a docstring that numpydoc misreads (prose as parameters) fails here first."""
    validate = pytest.importorskip("numpydoc.validate", reason="the docs extra").validate
    checks = _conf_value("numpydoc_validation_checks")
    exclude = [re.compile(p) for p in _conf_value("numpydoc_validation_exclude")]
    problems = []
    with st_docs.mocked():
        for module, names in st_docs.assignments().items():
            for n in names:
                name = f"{module}.{n}"
                if any(p.search(name) for p in exclude):
                    continue
                problems += [f"{name}: {code} {msg}" for code, msg in validate(name)["errors"] if code in checks]
    assert problems == []
