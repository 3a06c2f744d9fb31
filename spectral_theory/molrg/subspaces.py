"""The result of fitting a union of subspaces (:func:`.fit.fit_subspaces`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models import MoLRG


@dataclass(frozen=True)
class SubspaceFit:
    """A fitted union of subspaces.

    Attributes
    ----------
    bases : tuple of (n, d_k) orthonormal bases.
    objective : captured energy :math:`\\frac1N\\sum_i \\max_k |U_k^\\top x_i|^2` (the clustering
        objective, comparable between methods; larger is better).
    energy : :math:`\\frac1N\\sum_i |x_i|^2` (the objective's upper bound, reached iff every point lies
        in one of the subspaces).
    labels : (N,) hard assignment :math:`\\arg\\max_k |U_k^\\top x_i|^2`.
    iterations : iterations of the best restart (summed over noise levels for ``"gradient"``).
    converged : whether the best restart met its stopping rule (labels fixed / gradient tolerance).
    restarts : restarts actually run.
    method : "ksubspaces" or "gradient".
    loss : final training loss (``"gradient"``: the sample-average denoising loss at the last noise
        level; ``"ksubspaces"``: NaN).
    gradient_norm : Riemannian gradient norm at the end (``"gradient"``; NaN otherwise).
    noise_level : (sigma, alpha) of the last training noise level (``"gradient"``; NaNs otherwise).
    """

    bases: tuple
    objective: float
    energy: float
    labels: np.ndarray
    iterations: int
    converged: bool
    restarts: int
    method: str
    loss: float = float("nan")
    gradient_norm: float = float("nan")
    noise_level: tuple = (float("nan"), float("nan"))

    @property
    def unexplained(self) -> float:
        """Relative residual energy :math:`1 - \\text{objective}/\\text{energy}` (0 = perfect fit)."""
        return float(max(1.0 - self.objective / self.energy, 0.0)) if self.energy > 0 else 0.0

    def denoiser(self, weights=None) -> MoLRG:
        """The trained low-rank denoiser (the MoLRG posterior mean with these bases)."""
        return MoLRG.from_bases(self.bases, weights=weights)


__all__ = ["SubspaceFit"]
