r"""LaTeX printing of the derivations: one printer, used by the document, the snippets and ``sympy.latex``.

Symbols are named like Python identifiers (``tau_lo``, ``rho_C``) and printed by sympy's printer,
never by putting LaTeX into a symbol's name (sympy splits such a name at ``_`` and ``^`` and garbles
it).  :class:`TexPrinter` adds to sympy's printer:

* word subscripts and superscripts in roman: ``tau_lo`` -> ``\tau_{\mathrm{lo}}`` (``max``/``min``
  as operators, Greek names and single letters as usual);
* ``order="none"`` by default, so an expression built unevaluated (``sympy.Add(..., evaluate=False)``)
  prints in the order it was written, except that positive terms come first (``\\zeta I - A``, not
  ``-A + \\zeta I``), in sums and in matrix sums alike.

:class:`Notation` is a symbol for a *displayed* quantity that is not an expression sympy could build
(``|\langle\hat u, u\rangle|^2``, ``\mathbb{E}_y[k]``): it has a plain name (for ``str``, code
generation and error messages) and its LaTeX given explicitly, printed through the ``_latex`` hook.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import LatexPrinter, translate

_OPERATORS = {"max": r"\max", "min": r"\min"}


def _script(part: str) -> str:
    """One subscript/superscript: Greek and modifiers through sympy, words in roman."""
    if part in _OPERATORS:
        return _OPERATORS[part]
    tex = translate(part)
    if tex == part and re.fullmatch(r"[A-Za-z]{2,}", part):
        return rf"\mathrm{{{part}}}"
    return tex


def _negative(term) -> bool:
    """Whether a term prints with a leading minus (a negative coefficient, scalar or matrix term)."""
    if isinstance(term, sp.MatMul):
        head = term.args[0] if term.args else sp.S.One
        return not isinstance(head, sp.MatrixExpr) and sp.sympify(head).could_extract_minus_sign()
    return term.could_extract_minus_sign()


class TexPrinter(LatexPrinter):
    """sympy's LaTeX printer with roman word subscripts and the written term order (see module doc)."""

    printmethod = "_latex"

    def __init__(self, settings=None):
        super().__init__(dict({"order": "none"}, **(settings or {})))

    def _as_ordered_terms(self, expr, order=None):
        """Terms in written order (``order="none"``), positive terms first: ``\\zeta I - A - \\theta y y^T``
        rather than sympy's ``-\\theta y y^T + \\zeta I - A``."""
        terms = list(super()._as_ordered_terms(expr, order=order))
        return [t for t in terms if not _negative(t)] + [t for t in terms if _negative(t)]

    def _print_MatAdd(self, expr):
        out = []
        for i, t in enumerate(self._as_ordered_terms(expr)):
            negative = _negative(t)
            text = self._print(-t if negative else t)
            out.append(("- " if negative else "+ " if i else "") + text)
        return " ".join(out)

    def _split_super_sub(self, name: str):
        if name is None or "{" in name or "\\" in name:
            raise ValueError(f"symbol name {name!r} contains LaTeX; name symbols like identifiers "
                             "(tau_lo) or use derivations.printing.Notation for displayed notation")
        base, supers, subs = split_super_sub(name)
        return translate(base), [_script(s) for s in supers], [_script(s) for s in subs]


def latex(expr, **settings) -> str:
    """LaTeX of ``expr`` with :class:`TexPrinter`."""
    return TexPrinter(settings).doprint(expr)


class Notation(sp.Symbol):
    r"""A displayed symbol with a plain ``name`` and explicit LaTeX ``tex``.

    >>> Notation("overlap", r"|\langle\hat{u},u\rangle|^{2}")
    """

    def __new__(cls, name: str, tex: str, **assumptions):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_']*", name):
            raise ValueError(f"Notation name {name!r} must be a plain identifier")
        cls._sanitize(assumptions, cls)
        obj = sp.Symbol.__xnew__(cls, name, **assumptions)    # uncached: the name alone does not identify it
        obj._tex = tex
        return obj

    def __getnewargs_ex__(self):
        return (self.name, self._tex), self.assumptions0

    def _hashable_content(self):
        return super()._hashable_content() + (self._tex,)

    def _latex(self, printer) -> str:
        return self._tex


__all__ = ["TexPrinter", "latex", "Notation"]
