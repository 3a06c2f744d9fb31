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
