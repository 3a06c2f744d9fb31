"""Sphinx configuration of the spectral-theory documentation.

Build (from the repository root): ``python -m sphinx -W -b html docs docs/_build/html``.
The API pages are generated at build time from the modules' ``__all__`` (``_ext/st_docs.py``), the
theory pages render the derivations' own sympy objects, and the gallery (``examples/``) is executed.
"""
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("MPLBACKEND", "agg")

import spectral_theory  # noqa: E402
import st_docs  # noqa: E402

project = "spectral-theory"
author = "the spectral-theory developers"
copyright = "2026, " + author
release = version = spectral_theory.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "st_docs",
]

# -- intersphinx: offline by default ---------------------------------------------------------------
# Neither this machine nor CI reaches the projects' sites, so intersphinx reads the inventories kept in
# docs/_inventories (copies of the official objects.inv files; versions and provenance in its README).
# Each maps to the documentation of the version it was built from, so every link lands on a real page.
# ST_DOCS_INTERSPHINX=online fetches the current inventories from the sites instead.
_INVENTORIES = DOCS / "_inventories"
_SITES = {"python": "https://docs.python.org/3.12/", "numpy": "https://numpy.org/doc/1.26/",
          "scipy": "https://docs.scipy.org/doc/scipy-1.11.3/", "sympy": "https://docs.sympy.org/latest/"}
extensions.append("sphinx.ext.intersphinx")
if os.environ.get("ST_DOCS_INTERSPHINX") == "online":
    intersphinx_mapping = {k: (url, None) for k, url in _SITES.items()}
else:
    intersphinx_mapping = {k: (url, str(_INVENTORIES / f"{k}.inv")) for k, url in _SITES.items()}

# -- autodoc / autosummary / numpydoc --------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"                      # numpydoc's Parameters sections carry the types
# torch (extra `nn`) is optional: mock it so the docs build without it (only when it is absent,
# so that the gallery uses the real thing when it is installed)
autodoc_mock_imports = st_docs.mock_imports()
numpydoc_show_class_members = False             # members are documented by the class template
# parameter types link to their documentation (numpy.ndarray, numpy.random.Generator, sympy.Expr, ...):
# the aliases below and numpydoc's own (int, float, bool, callable, iterable, array_like, ...)
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "ndarray": "numpy.ndarray", "array_like": ":term:`numpy:array_like`", "array-like": ":term:`numpy:array_like`",
    "Generator": "numpy.random.Generator", "SeedSequence": "numpy.random.SeedSequence",
    "LinearOperator": "scipy.sparse.linalg.LinearOperator",
    "Expr": "sympy.core.expr.Expr", "sympy.Expr": "sympy.core.expr.Expr", "Symbol": "sympy.core.symbol.Symbol",
    "sympy.Symbol": "sympy.core.symbol.Symbol", "sympy.Matrix": "sympy.matrices.dense.MutableDenseMatrix",
    "Path": "pathlib.Path", "callable": ":term:`python:callable`",
}
numpydoc_xref_ignore = "all"              # many one-line parameter entries are prose: link only the aliases
# docstring structure checked at build time (warnings are errors under -W): every documented object has a
# docstring (GL08), every Parameters entry is a real parameter with a type (PR02, PR04, PR06, PR10: prose
# that numpydoc would read as parameters fails the build), Returns/Yields well formed (RT02, YD01)
numpydoc_validation_checks = {"GL08", "PR02", "PR04", "PR06", "PR10", "RT02", "YD01"}
# a module constant's own docstring is its type's (an ndarray's); its ``#:`` comment is what is shown
numpydoc_validation_exclude = {r"^spectral_theory\.datasets\.LUMA$"}

# -- gallery ---------------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",              # every plot_*.py is executed
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "capture_repr": ("_repr_html_", "__repr__"),
    "min_reported_time": 1,
}

# -- HTML ------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "spectral-theory"
html_theme_options = {
    "navigation_depth": 3,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
templates_path = ["_templates"]
exclude_patterns = ["_build", "_inventories", "Thumbs.db", ".DS_Store"]
default_role = "code"
nitpicky = False

st_docs.write_api_pages(DOCS)       # api/*.rst from the modules' __all__, before autosummary reads them
