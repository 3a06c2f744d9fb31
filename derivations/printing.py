r"""LaTeX printing of the derivations: one printer, used by the document, the snippets and ``sympy.latex``,
and the layout of prose (:func:`tex_text`, :func:`tex_title`) and displayed rows (:func:`equation_rows`).

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
from sympy.core.function import AppliedUndef
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import LatexPrinter, translate

from spectral_theory.checks import SpectralTheoryError

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
            raise SpectralTheoryError(f"symbol name {name!r} contains LaTeX; name symbols like identifiers "
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
            raise SpectralTheoryError(f"Notation name {name!r} must be a plain identifier")
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


# ---- prose and layout ------------------------------------------------------------------------
_TEX_SPECIAL = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


_TEX_RELATIONS = {">=": r"$\geq$", "<=": r"$\leq$", ">": "$>$", "<": "$<$"}


def _escape(prose: str) -> str:
    out = "".join(_TEX_SPECIAL.get(c, c) for c in prose)
    return re.sub(r">=|<=|>|<", lambda m: _TEX_RELATIONS[m.group()], out)


def tex_text(text: str) -> str:
    """Escape prose for LaTeX, leaving ``$...$`` math segments untouched; relations in prose (``>=``)
    become math (``$\\geq$``): no text-font glyph is needed for them."""
    parts = re.split(r"(\$[^$]*\$)", text)
    return "".join(p if p.startswith("$") and p.endswith("$") and len(p) > 1 else _escape(p) for p in parts)


def tex_title(text: str) -> str:
    """:func:`tex_text` for a sectioning command: each math segment also gets a plain-text form for the
    PDF bookmarks (``\\texorpdfstring``)."""
    parts = re.split(r"(\$[^$]*\$)", text)
    return "".join(rf"\texorpdfstring{{{p}}}{{{_plain(p[1:-1])}}}" if p.startswith("$") and len(p) > 1
                   else _escape(p) for p in parts)


def _plain(math: str) -> str:
    r"""A bookmark-safe rendering of inline math: ``\tau = a^2`` -> ``tau = a\textasciicircum{}2``."""
    math = re.sub(r"\\(top|mathrm|mathbf|operatorname|left|right)\b", lambda m: "T" if m.group(1) == "top" else "", math)
    math = re.sub(r"\\([A-Za-z]+)", r"\1", math)
    return re.sub(r"[{}_\\$]", "", math).replace("^", r"\textasciicircum{}").strip()


#: a displayed row longer than this (estimated in characters of output) is broken at its top-level sum
MAX_ROW_WIDTH = 48             # about 460 pt of a 10 pt document's 500 pt text width


def _group(tex: str, i: int) -> tuple:
    """The brace group starting at ``tex[i] == '{'``: (content, index after it)."""
    depth = 0
    for j in range(i, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[j], 0)
        if depth == 0:
            return tex[i + 1:j], j + 1
    return tex[i + 1:], len(tex)


def tex_width(tex: str) -> float:
    r"""Rough width of displayed LaTeX in characters: a command counts 1, a fraction its wider part,
    sub/superscripts 0.7, spacing and ``\left``/``\right`` nothing (only used to decide where to break)."""
    width, i = 0.0, 0
    while i < len(tex):
        c = tex[i]
        if tex.startswith(r"\frac", i) and i + 5 < len(tex) and tex[i + 5] == "{":
            num, i = _group(tex, i + 5)
            den, i = _group(tex, i) if i < len(tex) and tex[i] == "{" else ("", i)
            width += max(tex_width(num), tex_width(den)) + 0.5
            continue
        if c in "^_":
            i += 1
            if i < len(tex) and tex[i] == "{":
                part, i = _group(tex, i)
                width += 0.7 * tex_width(part)
            else:
                width += 0.7
                i += 1
            continue
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            name = m.group(1)
            i += len(m.group(0))
            width += 0 if name in ("left", "right", ",", " ", ";", "!", "mathrm", "mathbf", "operatorname") else 1
            continue
        width += 0 if c in "{} " else (2.5 if c in "+-=<>" else 1)    # binary operators carry spaces
        i += 1
    return width


def equation_rows(lhs, rhs, printer=None, width: float = MAX_ROW_WIDTH) -> list:
    """The rows of ``lhs = rhs`` in an ``align``: one row per element when both sides are tuples of
    one length; a row wider than ``width`` (:func:`tex_width` units) broken before a top-level ``+``/``-`` (of the
    right-hand side, or of its factor in parentheses: ``c (a + b + ...)``)."""
    p = (printer or TexPrinter())._print
    if isinstance(lhs, sp.Tuple) and isinstance(rhs, sp.Tuple) and len(lhs) == len(rhs):
        return [row for l_, r_ in zip(lhs, rhs) for row in equation_rows(l_, r_, printer, width)]
    left, right = p(lhs), p(rhs)
    if tex_width(left) + tex_width(right) <= width:
        return [f"{left} &= {right}"]
    prefix, pieces, suffix = _split_sum(rhs, p)
    if len(pieces) < 2:
        return [f"{left} &= {right}"]          # nothing to break at; the compile test reports overfull rows
    rows, current = [], f"{left} &= {prefix}"
    for k, (joiner, piece) in enumerate(pieces):
        text = f"{joiner}{piece}" if k or joiner == "- " else piece
        if k and tex_width(current) + tex_width(text) > width:
            rows.append(current)
            current = r"&\quad {}" + (text if joiner.strip() else r"\times " + text)
        else:
            current += (" " if k else "") + text
    rows.append(current + suffix)
    return rows


def _split_sum(expr, p) -> tuple:
    """(prefix, [(joiner, printed piece)], suffix) of an expression to break over rows: the terms of a
    sum; of the one sum in a product (``c \\Big( a + b \\Big)``), in a long denominator
    (``c \\Big/ \\Big( a + b \\Big)``) or in a function's argument (``E\\Big( a + b \\Big)``); else the
    factors of a product (a long fraction as ``\\frac{1}{d}`` times its numerator's factors)."""
    printer = p.__self__
    if isinstance(expr, sp.Add):
        return "", _terms(expr, printer), ""
    if isinstance(expr, AppliedUndef) and len(expr.args) == 1 and isinstance(expr.args[0], sp.Add):
        return printer._deal_with_super_sub(expr.func.__name__) + r" \Big(", _terms(expr.args[0], printer), r" \Big)"
    if not isinstance(expr, sp.Mul) or any(isinstance(a, sp.MatrixExpr) for a in expr.args):
        return "", [], ""
    num, den = sp.fraction(expr)
    if den != 1 and isinstance(den, sp.Add) and not isinstance(num, sp.Add):
        return p(num) + r" \Big/ \Big(", _terms(den, printer), r" \Big)"
    factors = sp.Mul.make_args(num)
    sums = [a for a in factors if isinstance(a, sp.Add)]
    coeff = sp.Mul(*[a for a in factors if not isinstance(a, sp.Add)]) / den     # all but the sums
    if len(sums) == 1:
        return (p(coeff) if coeff != 1 else "") + r" \Big(", _terms(sums[0], printer), r" \Big)"
    if sums:
        pieces = ([p(coeff)] if coeff != 1 else []) + [r"\left(" + p(a) + r"\right)" for a in sums]
    else:                                      # a long fraction of products: 1/den times each factor
        pieces = ([p(1 / den)] if den != 1 else []) + [p(a) for a in factors]
    return "", [("", f) for f in pieces], ""


def _terms(expr, printer) -> list:
    return [("- ", printer._print(-t)) if _negative(t) else ("+ ", printer._print(t))
            for t in printer._as_ordered_terms(expr, order=None)]


__all__ = ["TexPrinter", "latex", "Notation", "tex_text", "tex_title", "tex_width", "equation_rows", "MAX_ROW_WIDTH"]
