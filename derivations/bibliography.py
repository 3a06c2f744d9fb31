r"""The sources the derivations cite: one :class:`Reference` per source, under a stable BibTeX key.

A derivation's ``references`` are keys of :data:`BIBLIOGRAPHY` (or :class:`Reference` objects, or
free text, which becomes a ``misc`` entry keyed by a hash of the text).  Because every derivation
cites a source by its key, the document lists each source once (``\cite`` + one bibliography) and
``spectral-theory latex NAME --snippet`` writes the same entries to a ``.bib`` file.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from spectral_theory.checks import SpectralTheoryError


@dataclass(frozen=True)
class Reference:
    """One source.  ``kind`` is a BibTeX entry type; ``venue`` is the journal, proceedings or publisher;
    ``authors`` in "F. Last" form joined by ", "; text fields are LaTeX (UTF-8 allowed)."""

    key: str
    kind: str
    authors: str
    title: str
    year: str = ""
    venue: str = ""
    volume: str = ""
    eprint: str = ""
    note: str = ""

    def text(self) -> str:
        """The reference as one line of LaTeX (for ``thebibliography``)."""
        parts = [self.authors, rf"\emph{{{self.title}}}" if self.authors else self.title]
        venue = " ".join(p for p in (self.venue, self.volume) if p)
        if venue:
            parts.append(venue)
        if self.eprint:
            parts.append(f"arXiv:{self.eprint}")
        if self.note:
            parts.append(self.note)
        return ", ".join(p for p in parts if p) + (f" ({self.year})." if self.year else ".")

    def bibtex(self) -> str:
        """The BibTeX entry."""
        fields = {"author": " and ".join(self.authors.split(", ")) if self.authors else "",
                  "title": "{" + self.title + "}", "year": self.year, "volume": self.volume,
                  "note": self.note}
        venue_field = {"article": "journal", "inproceedings": "booktitle", "book": "publisher"}.get(self.kind)
        if venue_field:
            fields[venue_field] = self.venue
        elif self.venue:
            fields["howpublished"] = self.venue
        if self.eprint:
            fields.update(eprint=self.eprint, archiveprefix="arXiv")
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items() if v)
        return f"@{self.kind}{{{self.key},\n{body}\n}}\n"


def _ref(key, kind, authors, title, year="", venue="", volume="", eprint="", note=""):
    return key, Reference(key, kind, authors, title, year, venue, volume, eprint, note)


def _notes(name, what=""):
    path = name.replace("_", r"\_")
    return _ref(f"notes:{name}", "misc", "", f"Project notes \\texttt{{theory/{path}.md}}" + what,
                note="spectral-theory repository")


BIBLIOGRAPHY = dict([
    _ref("baik2005phase", "article", "J. Baik, G. Ben Arous, S. Péché",
         "Phase transition of the largest eigenvalue for nonnull complex sample covariance matrices",
         "2005", "Ann. Probab.", "33"),
    _ref("baik2006eigenvalues", "article", "J. Baik, J. W. Silverstein",
         "Eigenvalues of large sample covariance matrices of spiked population models", "2006",
         "J. Multivariate Anal.", "97"),
    _ref("paul2007asymptotics", "article", "D. Paul",
         "Asymptotics of sample eigenstructure for a large dimensional spiked covariance model", "2007",
         "Statist. Sinica", "17"),
    _ref("benaych2011eigenvalues", "article", "F. Benaych-Georges, R. R. Nadakuditi",
         "The eigenvalues and eigenvectors of finite, low rank perturbations of large random matrices", "2011",
         "Adv. Math.", "227"),
    _ref("benaych2012singular", "article", "F. Benaych-Georges, R. R. Nadakuditi",
         "The singular values and vectors of low rank perturbations of large rectangular random matrices",
         "2012", "J. Multivariate Anal.", "111"),
    _ref("biroli2024dynamical", "misc", "G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard",
         "Dynamical regimes of diffusion models", "2024", eprint="2402.18491"),
    _ref("marchenko1967distribution", "article", "V. A. Marchenko, L. A. Pastur",
         "Distribution of eigenvalues for some sets of random matrices", "1967", "Mat. Sb.", "72",
         note="English translation in Math. USSR-Sbornik 1"),
    _ref("ventura2025manifolds", "inproceedings",
         "G. Ventura, B. Achilli, G. Silvestri, C. Lucibello, L. Ambrogioni",
         "Manifolds, random matrices and spectral gaps: the geometric phases of generative diffusion", "2025",
         "ICLR", eprint="2410.05898"),
    _ref("raya2023spontaneous", "inproceedings", "G. Raya, L. Ambrogioni",
         "Spontaneous symmetry breaking in generative diffusion models", "2023", "NeurIPS",
         eprint="2305.19693"),
    _ref("wang2023hidden", "misc", "B. Wang, J. J. Vastola",
         "The hidden linear structure in score-based models and its application", "2023", eprint="2311.10892"),
    _ref("li2024understanding", "inproceedings", "X. Li, Y. Dai, Q. Qu",
         "Understanding generalizability of diffusion models requires rethinking the hidden Gaussian "
         "structure", "2024", "NeurIPS", eprint="2410.24060"),
    _ref("efron2011tweedie", "article", "B. Efron", "Tweedie's formula and selection bias", "2011",
         "J. Amer. Statist. Assoc.", "106"),
    _ref("bai2010spectral", "book", "Z. Bai, J. W. Silverstein",
         "Spectral Analysis of Large Dimensional Random Matrices", "2010", "Springer", note="2nd ed."),
    _ref("wang2024diffusion", "misc", "P. Wang, H. Zhang, Z. Zhang, S. Chen, Y. Ma, Q. Qu",
         "Diffusion models learn low-dimensional distributions via subspace clustering", "2024",
         eprint="2409.02426"),
    _ref("fan1949theorem", "article", "K. Fan",
         "On a theorem of Weyl concerning eigenvalues of linear transformations", "1949", "PNAS", "35"),
    _ref("silverstein1995empirical", "article", "J. W. Silverstein, Z. D. Bai",
         "On the empirical distribution of eigenvalues of a class of large dimensional random matrices",
         "1995", "J. Multivariate Anal.", "54"),
    _ref("silverstein1995analysis", "article", "J. W. Silverstein, S.-I. Choi",
         "Analysis of the limiting spectral distribution of large dimensional random matrices", "1995",
         "J. Multivariate Anal.", "54"),
    _ref("weitzner2024relation", "misc", "M. Weitzner, M. Delbracio, P. Milanfar, R. Giryes",
         "On the relation between linear diffusion and power iteration", "2024", eprint="2410.14730"),
    _ref("wiener1949extrapolation", "book", "N. Wiener",
         "Extrapolation, Interpolation, and Smoothing of Stationary Time Series", "1949", "MIT Press"),
    _ref("bonnaire2025why", "inproceedings", "T. Bonnaire, R. Urfin, G. Biroli, M. Mézard",
         "Why diffusion models don't memorize: the role of implicit dynamical regularization in training", "2025",
         "NeurIPS", eprint="2505.17638"),
    _ref("mei2022generalization", "article", "S. Mei, A. Montanari",
         "The generalization error of random features regression: precise asymptotics and the double descent "
         "curve", "2022", "Comm. Pure Appl. Math.", "75"),
    _ref("williams1997computing", "inproceedings", "C. K. I. Williams", "Computing with infinite networks", "1997",
         "NeurIPS"),
    _notes("spiked"), _notes("spectral_gaps"), _notes("gaussian"), _notes("molrg"),
    _notes("conventions", " (score, denoiser, Jacobian)"),
])


def resolve(reference) -> Reference:
    """A :class:`Reference` from a key of :data:`BIBLIOGRAPHY`, a Reference, or free text."""
    if isinstance(reference, Reference):
        return reference
    if not isinstance(reference, str) or not reference.strip():
        raise SpectralTheoryError(f"a reference must be a bibliography key, a Reference or text; got {reference!r}")
    if reference in BIBLIOGRAPHY:
        return BIBLIOGRAPHY[reference]
    if re.fullmatch(r"[a-z]+\d{4}[a-z]+|notes:\w+", reference):       # looks like a key: a typo, not text
        raise SpectralTheoryError(f"unknown bibliography key {reference!r}; known: {', '.join(BIBLIOGRAPHY)}")
    digest = hashlib.sha1(reference.encode()).hexdigest()[:8]       # stable across runs
    return Reference(f"text:{digest}", "misc", "", reference)


def collect(references) -> list:
    """The distinct references (by key) in order of first citation."""
    out = {}
    for r in map(resolve, references):
        out.setdefault(r.key, r)
    return list(out.values())


def bibtex(references) -> str:
    """A ``.bib`` file of the distinct references."""
    return "\n".join(r.bibtex() for r in collect(references))


def thebibliography(references) -> str:
    r"""A ``thebibliography`` environment of the distinct references (keys as in :func:`bibtex`)."""
    refs = collect(references)
    items = "\n".join(rf"\bibitem{{{r.key}}} {r.text()}" for r in refs)
    return rf"\begin{{thebibliography}}{{{len(refs)}}}" + "\n" + items + "\n\\end{thebibliography}"


__all__ = ["Reference", "BIBLIOGRAPHY", "resolve", "collect", "bibtex", "thebibliography"]
