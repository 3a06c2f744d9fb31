"""Marchenko-Pastur law in closed form.

``MarchenkoPastur(aspect=c, scale=s)``: limit spectrum of ``S = X X^T / N`` for a p x N matrix X of
iid entries of variance ``s``, ``c = p / N`` (the package's aspect ratio gamma = D/N; Marchenko & Pastur
1967). With
``a = s (1 - sqrt c)^2``, ``b = s (1 + sqrt c)^2``:

.. math::

    \\rho(x) = \\frac{\\sqrt{(b - x)(x - a)}}{2 \\pi s c x} \\;\\text{on } [a, b],
    \\qquad \\text{atom } 1 - 1/c \\text{ at } 0 \\text{ if } c > 1,

    g(z) = \\frac{z - s(1 - c) - \\sqrt{z - a}\\,\\sqrt{z - b}}{2 s c z}
    \\quad (\\text{principal square roots: the product} \\sim z \\text{ at infinity}),

    F(x) = \\max(0, 1 - 1/c) + \\frac{I(x) - I(a)}{2 \\pi s c},\\;
    I(t) = \\sqrt{R} + \\frac{a + b}{2} \\arcsin\\frac{2t - a - b}{b - a}
           - \\sqrt{ab}\\, \\arcsin\\frac{(a + b) t - 2ab}{t (b - a)},\\; R = (b - t)(t - a),

    m_k = s^k \\sum_{r=0}^{k-1} \\frac{c^r}{r + 1} \\binom{k}{r} \\binom{k-1}{r} \\quad (\\text{Narayana}).

The D x D law of ``C = F F^T v`` with m = alpha D columns (spectral_gaps.md) is
``MarchenkoPastur(1/alpha, alpha v)`` = ``Silverstein([alpha], [v])``; the p x p law is
``GeneralizedMarchenkoPastur([s], [1], c)``.
"""
from __future__ import annotations

from math import comb

import numpy as np

from ..parameters import check, renamed, renamed_attribute
from .density import SpectralDensity, StieltjesResult


class MarchenkoPastur(SpectralDensity):
    """Marchenko-Pastur law with ``aspect`` c = p/N > 0 and ``scale`` s > 0 (entry variance)."""

    ratio = renamed_attribute("aspect")

    @renamed(ratio="aspect")
    def __init__(self, aspect, scale=1.0):
        self.aspect = c = check("aspect", aspect, scalar_only=True)
        self.scale = s = check("scale", scale, scalar_only=True)
        self.lower_edge = s * (1.0 - np.sqrt(c)) ** 2
        self.upper_edge = s * (1.0 + np.sqrt(c)) ** 2
        self._bulks = ((self.lower_edge, self.upper_edge),)
        self._atoms = ((0.0, 1.0 - 1.0 / c),) if c > 1 else ()

    def _pdf_inside(self, x):
        a, b = self.lower_edge, self.upper_edge
        with np.errstate(divide="ignore", invalid="ignore"):    # x = 0 is in the support only if c = 1
            out = np.sqrt(np.maximum((b - x) * (x - a), 0.0)) / (2 * np.pi * self.scale * self.aspect * x)
        return np.where(x == 0, np.inf, out)

    def _stieltjes_result(self, z):
        a, b, s, c = self.lower_edge, self.upper_edge, self.scale, self.aspect
        g = (z - s * (1 - c) - np.sqrt(z - a) * np.sqrt(z - b)) / (2 * s * c * z)
        # residual of the quadratic s c z g^2 - (z - s(1 - c)) g + 1 = 0, scaled by its terms
        terms = np.abs(s * c * z * g * g) + np.abs((z - s * (1 - c)) * g) + 1.0
        res = np.abs(s * c * z * g * g - (z - s * (1 - c)) * g + 1.0) / terms
        return StieltjesResult(g, np.zeros(z.shape, dtype=int), res, np.ones(z.shape, dtype=bool))

    def boundary_stieltjes(self, x):
        """g(x + i0): on the cut the square-root product is -i sqrt((b-x)(x-a)) (limit from above)."""
        xa = np.asarray(x, dtype=np.float64)
        z = xa + 0j
        a, b, s, c = self.lower_edge, self.upper_edge, self.scale, self.aspect
        inside = (xa >= a) & (xa <= b)
        # for x in (a, b): sqrt(x - a) sqrt(x - b + i0) = i sqrt((x - a)(b - x))
        root = np.where(inside, 1j * np.sqrt(np.maximum((b - xa) * (xa - a), 0.0)),
                        np.sqrt(z - a) * np.sqrt(z - b))
        return (z - s * (1 - c) - root) / (2 * s * c * z)

    def _cdf_formula(self, x):
        a, b, s, c = self.lower_edge, self.upper_edge, self.scale, self.aspect
        atom = max(0.0, 1.0 - 1.0 / c)
        t = np.clip(x, a, b)

        def antiderivative(t):
            # arcsin written as atan2(numerator, sqrt(1 - u^2) * denominator): no loss near +-1
            r = np.sqrt(np.maximum((b - t) * (t - a), 0.0))
            out = r + 0.5 * (a + b) * np.arctan2(2 * t - a - b, 2 * r)
            if a > 0:
                out -= np.sqrt(a * b) * np.arctan2((a + b) * t - 2 * a * b, 2 * np.sqrt(a * b) * r)
            return out

        cont = (antiderivative(t) - antiderivative(np.array(a))) / (2 * np.pi * s * c)
        return np.where(x < 0, 0.0, np.where(x >= b, 1.0, atom + np.where(x >= a, cont, 0.0)))

    def _moment_formula(self, k):
        c = self.aspect
        if k == 0:
            return 1.0
        return self.scale ** k * sum(c ** r / (r + 1) * comb(k, r) * comb(k - 1, r) for r in range(k))

    def __repr__(self):
        return f"MarchenkoPastur(aspect={self.aspect}, scale={self.scale})"


__all__ = ["MarchenkoPastur"]
