"""Symbolic derivations (sympy) with LaTeX export and compiled numeric twins.

>>> import derivations
>>> [e.name for e in derivations.catalogue()]          # doctest: +SKIP
>>> d = derivations.derive("bbp")
>>> d.check().passed                                    # steps and numeric twins
>>> print(d.latex())                                    # a LaTeX section with labelled align blocks
>>> overlap = d.numeric("overlap"); overlap(ell=2.0, gamma=0.5)

This package imports sympy; ``spectral_theory`` never imports it (keep it that way).
"""
from .core import CheckReport, Derivation, Result, Step, Twin
from .registry import catalogue, derive, names

__all__ = ["Derivation", "Step", "Result", "Twin", "CheckReport", "catalogue", "derive", "names"]
