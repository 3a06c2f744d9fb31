"""The Wigner semicircle law (a closed-form law the free convolutions are tested against)."""
from __future__ import annotations

from math import comb

import numpy as np

from ..checks import scalar
from .density import SpectralDensity, StieltjesResult, _as_real_array


class Semicircle(SpectralDensity):
    """Wigner semicircle with ``center`` m and ``variance`` s2 (radius R = 2 sqrt(s2)).

    .. math::  \\rho(x) = \\frac{2}{\\pi R^2}\\sqrt{R^2 - (x - m)^2},\\qquad
               g(z) = \\frac{(z - m) - \\sqrt{z - m - R}\\,\\sqrt{z - m + R}}{2 s_2}.

    Free cumulants: kappa_1 = m, kappa_2 = s2, the rest 0; central moments s2^k Catalan(k).
    """

    def __init__(self, variance=1.0, center=0.0):
        self.variance = s2 = scalar(variance, "variance", positive=True)
        self.center = m = scalar(center, "center")
        self.radius = 2.0 * np.sqrt(s2)
        self._bulks = ((m - self.radius, m + self.radius),)

    def _pdf_inside(self, x):
        u = x - self.center
        return 2.0 / (np.pi * self.radius ** 2) * np.sqrt(np.maximum(self.radius ** 2 - u * u, 0.0))

    def _stieltjes_result(self, z):
        u, r = z - self.center, self.radius
        # (u - S)/(2 s2) with S = sqrt(u - r) sqrt(u + r), rationalised ((u - S)(u + S) = r^2 = 4 s2) so
        # that nothing cancels at large |z|, where g ~ 1/z
        g = 2.0 / (u + np.sqrt(u - r) * np.sqrt(u + r))
        res = np.abs(self.variance * g * g - u * g + 1.0) / (np.abs(self.variance * g * g) + np.abs(u * g) + 1.0)
        return StieltjesResult(g, np.zeros(z.shape, dtype=int), res, np.ones(z.shape, dtype=bool))

    def boundary_stieltjes(self, x):
        """Boundary values g(x - i0) on the real axis in closed form (the conjugate branch inside the support)."""
        xa = _as_real_array(x, "x")
        u, r = xa - self.center, self.radius
        inside = np.abs(u) <= r
        root = np.where(inside, 1j * np.sqrt(np.maximum(r * r - u * u, 0.0)),
                        np.sqrt(u + 0j - r) * np.sqrt(u + 0j + r))
        return (u - root) / (2.0 * self.variance)

    def _cdf_formula(self, x):
        u = np.clip((x - self.center) / self.radius, -1.0, 1.0)
        return 0.5 + (u * np.sqrt(1.0 - u * u) + np.arcsin(u)) / np.pi

    def _moment_formula(self, k):
        m, s2 = self.center, self.variance
        central = [s2 ** (j // 2) * comb(j, j // 2) / (j // 2 + 1) if j % 2 == 0 else 0.0 for j in range(k + 1)]
        return float(sum(comb(k, j) * m ** (k - j) * central[j] for j in range(k + 1)))

    def __repr__(self):
        return f"Semicircle(variance={self.variance}, center={self.center})"


__all__ = ["Semicircle"]
