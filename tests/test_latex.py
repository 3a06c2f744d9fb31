"""LaTeX output of the derivations: printing rules, the compiled document, snippets and the .bib file.

The compile tests need pdflatex (CI installs texlive); without it they are skipped, never passed.
"""
import re
import shutil
import subprocess

import pytest
import sympy as sp

import derivations
from derivations.bibliography import BIBLIOGRAPHY, bibtex, collect, resolve
from derivations.document import SNIPPET_PACKAGES, build_bib, build_document, build_snippet, compile_pdf
from derivations.printing import Notation, equation_rows, latex, tex_text, tex_title
from sympy.core.function import AppliedUndef

NAMES = derivations.names()
needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex not installed (apt-get install texlive-latex-base "
                                           "texlive-latex-recommended texlive-latex-extra)")

# glyphs that math typesetting legitimately puts into the PDF text: Greek, letterlike (ell, R), arrows,
# operators, brackets, combining accents of \hat/\bar, the pieces of big delimiters (private use), and
# the typographic quote, bullet and prime of text.  Anything else non-ASCII must come from the source;
# a text glyph from the wrong font encoding ("¿" for ">", "ˆ" for "^") is in none of these.
_MATH_GLYPHS = [(0x0300, 0x036F), (0x0370, 0x03FF), (0x2100, 0x214F), (0x2190, 0x21FF), (0x2200, 0x22FF),
                (0x2300, 0x23FF), (0x27C0, 0x27EF), (0x2980, 0x29FF), (0xF8E5, 0xF8FF)]
_TEXT_GLYPHS = set("±µ·×’‘•′″–—…")


def _allowed(ch, source_chars):
    o = ord(ch)
    return (o < 128 or ch in source_chars or ch in _TEXT_GLYPHS
            or any(lo <= o <= hi for lo, hi in _MATH_GLYPHS))


def _names(expr):
    if isinstance(expr, (tuple, list)):
        for e in expr:
            yield from _names(e)
        return
    if not isinstance(expr, sp.Basic):
        return
    for a in sp.preorder_traversal(expr):
        if isinstance(a, (sp.Symbol, sp.MatrixSymbol)) and not isinstance(a, Notation):
            yield a.name
        elif isinstance(a, AppliedUndef):
            yield a.func.__name__


@pytest.mark.parametrize("name", NAMES)
def test_symbols_are_named_like_identifiers_not_latex(name):
    d = derivations.derive(name)
    exprs = [list(d.symbols)] + [[s.lhs, s.rhs] for s in d.steps] + [[r.symbol, r.expr] for r in d.results]
    bad = sorted({n for n in _names(exprs) if re.search(r"[\\{} ]", n)})
    assert not bad, f"{name}: symbols whose name is LaTeX (use a Function, Notation or a plain name): {bad}"


def test_printer_rules():
    assert latex(sp.Symbol("tau_lo")) == r"\tau_{\mathrm{lo}}"
    assert latex(sp.Symbol("tau_max")) == r"\tau_{\max}"
    assert latex(sp.Symbol("alpha_m")) == r"\alpha_{m}"
    assert latex(sp.Symbol("sigma_T")) == r"\sigma_{T}"
    assert latex(Notation("ov", r"|\langle u, v\rangle|^2")) == r"|\langle u, v\rangle|^2"
    theta, zeta, y = sp.symbols("theta zeta y")
    assert latex(sp.Add(zeta, -theta * y, evaluate=False)) == r"\zeta - \theta y"   # the written order
    with pytest.raises(ValueError, match="contains LaTeX"):
        latex(sp.Symbol(r"\mu_{k}"))


def test_prose_relations_and_titles():
    assert tex_text("n >= 2 and $a > b$") == r"n $\geq$ 2 and $a > b$"
    title = tex_title(r"speciation at $\tau = a^2$")
    assert title == r"speciation at \texorpdfstring{$\tau = a^2$}{tau = a\textasciicircum{}2}"


def test_tuples_get_one_row_per_element_and_long_sums_break():
    a, b = sp.symbols("a b")
    assert equation_rows(sp.Tuple(a, b), sp.Tuple(1, 2)) == ["a &= 1", "b &= 2"]
    long_sum = sum(sp.Symbol(f"x_{i}") * sp.sqrt(sp.Symbol(f"y_{i}") + 1) for i in range(12))
    rows = equation_rows(a, long_sum)
    assert len(rows) > 1 and rows[1].startswith(r"&\quad {}")


def test_labels_are_stable_and_derived_from_names():
    doc = build_document()
    assert doc == build_document()                       # same text, same labels in every run
    for name in NAMES:
        d = derivations.derive(name)
        for r in d.results:
            assert rf"\label{{eq:{name}:result:{r.name}}}" in doc


def test_each_source_is_listed_once():
    doc = build_document()
    items = re.findall(r"\\bibitem\{([^}]*)\}", doc)
    assert len(items) == len(set(items))
    cited = {k for group in re.findall(r"\\cite\{([^}]*)\}", doc) for k in group.split(",")}
    assert cited == set(items)
    assert resolve("free text reference").key == resolve("free text reference").key      # stable hash key
    with pytest.raises(ValueError, match="unknown bibliography key"):
        resolve("nosuch2020key")
    assert len(collect(["paul2007asymptotics", "paul2007asymptotics"])) == 1


def _check_log(log: str):
    undefined = re.findall(r"Undefined control sequence.*\n.*", log)
    assert not undefined, undefined
    # LaTeX's warnings for a reference or citation it could not resolve, and its end-of-run summary
    assert not re.search(r"(Reference|Citation) `[^']*' on page \d+ undefined|There were undefined", log), \
        re.findall(r".*undefined.*", log)[:5]
    wide = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= 10 for w in wide), f"overfull boxes wider than 10 pt: {sorted(wide)[-5:]}"


@needs_pdflatex
def test_document_compiles_cleanly(tmp_path):
    tex = tmp_path / "derivations.tex"
    tex.write_text(build_document())
    pdf = compile_pdf(tex)
    _check_log(tex.with_suffix(".log").read_text(errors="replace"))
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        source = set(tex.read_text())
        strange = sorted({ch for ch in text if not _allowed(ch, source)})
        assert not strange, f"glyphs in the PDF the source did not contain: {strange}"


@needs_pdflatex
def test_snippet_and_bib_compile_in_a_minimal_document(tmp_path):
    from validation.cli import main
    out = tmp_path / "bbp_gaps.tex"
    assert main(["latex", "bbp", "marchenko_pastur", "--snippet", "--out", str(out)]) == 0
    snippet = out.read_text()
    assert r"\documentclass" not in snippet and r"\begin{document}" not in snippet
    assert all(p in snippet for p in SNIPPET_PACKAGES)                 # the comment lists the packages
    assert snippet == build_snippet(["bbp", "marchenko_pastur"], "bbp_gaps")
    bib = out.with_suffix(".bib").read_text()
    assert bib == build_bib(["bbp", "marchenko_pastur"]) == bibtex(
        derivations.derive("bbp").references + derivations.derive("marchenko_pastur").references)
    assert bib.count("@") == len(collect(derivations.derive("bbp").references
                                         + derivations.derive("marchenko_pastur").references))
    paper = tmp_path / "paper.tex"
    paper.write_text("\n".join([r"\documentclass{article}", r"\usepackage[utf8]{inputenc}",
                                r"\usepackage[T1]{fontenc}", *SNIPPET_PACKAGES, r"\allowdisplaybreaks",
                                r"\begin{document}", r"See \eqref{eq:bbp:result:overlap}.",
                                rf"\input{{{out.stem}}}", r"\bibliographystyle{plain}",
                                rf"\bibliography{{{out.stem}}}", r"\end{document}"]))
    if shutil.which("bibtex") is None:
        pytest.skip("bibtex not installed")
    compile_pdf(paper, bibtex=True)
    log = paper.with_suffix(".log").read_text(errors="replace")
    _check_log(log)
    blg = paper.with_suffix(".blg").read_text(errors="replace")
    assert "error message" not in blg, blg


def test_bibliography_keys_are_bibtex_safe():
    for key, ref in BIBLIOGRAPHY.items():
        assert key == ref.key and re.fullmatch(r"[A-Za-z0-9:_-]+", key)
        assert ref.bibtex().startswith(f"@{ref.kind}{{{key},")
