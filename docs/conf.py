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
# Neither this machine nor CI has network access, so intersphinx uses local inventories only:
# docs/_inventories/<project>.inv (e.g. downloaded once from https://numpy.org/doc/stable/objects.inv).
# Without them intersphinx is not loaded at all (no unreachable-inventory warning under -W).
# ST_DOCS_INTERSPHINX=online fetches the inventories from the projects' sites instead.
_SITES = {"python": "https://docs.python.org/3/", "numpy": "https://numpy.org/doc/stable/",
          "scipy": "https://docs.scipy.org/doc/scipy/", "sympy": "https://docs.sympy.org/latest/"}
if os.environ.get("ST_DOCS_INTERSPHINX") == "online":
    intersphinx_mapping = {k: (url, None) for k, url in _SITES.items()}
else:
    intersphinx_mapping = {k: (url, str(DOCS / "_inventories" / f"{k}.inv"))
                           for k, url in _SITES.items() if (DOCS / "_inventories" / f"{k}.inv").is_file()}
if intersphinx_mapping:
    extensions.append("sphinx.ext.intersphinx")

# -- autodoc / autosummary / numpydoc --------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"                      # numpydoc's Parameters sections carry the types
# torch (extra `nn`) is optional: mock it so the docs build without it (only when it is absent,
# so that the gallery uses the real thing when it is installed)
autodoc_mock_imports = st_docs.mock_imports()
numpydoc_show_class_members = False             # members are documented by the class template
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

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
