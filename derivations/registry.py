"""The catalogue of derivations: every module in :mod:`derivations.library` is one derivation.

Adding a derivation is adding one module ``derivations/library/<name>.py`` that defines

* ``NAME`` (the registry key, a Python identifier), ``TITLE`` (one line), and
* ``build() -> Derivation`` (the sympy work happens here, once per process; the result is cached).

Nothing else needs editing: :func:`catalogue` discovers the modules, :func:`derive` builds on demand,
the LaTeX document and the test suite iterate over the catalogue.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache

from spectral_theory.checks import SpectralTheoryError


@dataclass(frozen=True)
class Entry:
    """A catalogue entry: ``name``, ``title`` and the module that builds it (not built yet)."""

    name: str
    title: str
    module: str


@lru_cache(maxsize=1)
def _entries() -> tuple:
    from . import library
    entries = []
    for info in sorted(pkgutil.iter_modules(library.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{library.__name__}.{info.name}")
        if not hasattr(module, "build") or not hasattr(module, "NAME"):
            raise SpectralTheoryError(f"derivations.library.{info.name} must define NAME, TITLE and build()")
        entries.append(Entry(module.NAME, getattr(module, "TITLE", module.NAME), module.__name__))
    names = [e.name for e in entries]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SpectralTheoryError(f"duplicate derivation names {sorted(duplicates)}")
    return tuple(entries)


def catalogue() -> tuple:
    """All registered derivations as :class:`Entry` tuples (name, title, module), sorted by module."""
    return _entries()


def names() -> list:
    """The names of the registered derivations, in catalogue order (arguments of :func:`derive`)."""
    return [e.name for e in _entries()]


def derive(name: str):
    """Build (once per process) and return the :class:`~derivations.core.Derivation` called ``name``."""
    if not isinstance(name, str):                          # (an unhashable name would fail in the cache)
        raise SpectralTheoryError(f"`name` must be a derivation name (str); got {name!r:.60}; known: {', '.join(names())}")
    return _derive(name)


@lru_cache(maxsize=None)
def _derive(name: str):
    for e in _entries():
        if e.name == name:
            d = importlib.import_module(e.module).build()
            if d.name != name:
                raise SpectralTheoryError(f"{e.module}.build() returned derivation {d.name!r}, expected {name!r}")
            return d
    raise SpectralTheoryError(f"`name`: unknown derivation {name!r}; known: {', '.join(names())}")
