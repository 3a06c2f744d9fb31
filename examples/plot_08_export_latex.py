"""
Export a derivation to your paper
=================================

Every derivation of :mod:`derivations` is a chain of sympy equalities that the package checks (exact
simplification or 50-digit random points) and prints. The same objects give the equations on the theory
pages of this documentation, the LaTeX you paste into a paper, and a compiled numeric function, so the
three cannot disagree.

From the command line: ``spectral-theory latex --out derivations.tex`` writes a standalone document of
every derivation that compiles with pdflatex; ``spectral-theory latex intermediate_gap --snippet`` writes
``intermediate_gap.tex``, a fragment to ``\\input`` in your paper, and a ``.bib`` of its references.
"""
import derivations
from derivations.document import build_bib, build_snippet

d = derivations.derive("intermediate_gap")
print(d)

# %%
# The checks: each step's claim and the numeric twin against :mod:`spectral_theory`.
print(d.check(rng=0))

# %%
# The results as a LaTeX ``align`` environment with labels ``eq:intermediate_gap:...``:
print(d.latex_results())

# %%
# A compiled numeric function of a result (numba when available), with its regime checked:
gap_max = d.numeric("gap_max")
print(gap_max.name, gap_max.arg_names, gap_max.backend, "->", gap_max(a=0.5, b=2.0))

# %%
# The snippet ``spectral-theory latex intermediate_gap --snippet`` writes: the derivation as a subsection
# (statement, symbols and assumptions, regime, steps, results, references cited by BibTeX key), its preamble
# needs in the header, and the ``.bib`` entries of its sources:
snippet = build_snippet(["intermediate_gap"], bib_name="intermediate_gap")
print(snippet[:1800], "...")
print(build_bib(["intermediate_gap"]))
