r"""The low-rank denoising autoencoder of Wang et al. for mixtures of low-rank Gaussians
(arXiv 2409.02426; their code's ``edm/trainMoLRG.py``), VE convention (alpha = 1):

.. math::
   D_\theta(x;\sigma) = \sum_k w_k(x)\,c(\sigma)\,U_k U_k^\top x, \qquad c = \frac{1}{1 + \sigma^2},\qquad
   w = \operatorname{softmax}_k\Big[\phi(\sigma)\,|U_k^\top x|^2 - \frac{d_k}{2}\log\big(1 + \sigma^{-2}\big)\Big],
   \qquad \phi = \frac{1}{2\sigma^2(1 + \sigma^2)},

the exact posterior mean of :class:`spectral_theory.MoLRG` (equal weights, unit variance inside each
subspace; :mod:`spectral_theory.molrg`, eq. lowrank) with the bases :math:`U_k` (D x d_k) as free,
learnable parameters.  With orthonormal :math:`U_k` equal to the true bases the loss minimiser is exact;
:attr:`bases` returns the learned column spaces orthonormalised (QR) for
:func:`spectral_theory.molrg.recovery_error`.
"""
from __future__ import annotations

import numpy as np

from spectral_theory._checks import SpectralTheoryError, integer

from ._torch import torch

__all__ = ["LowRankDAE"]


class LowRankDAE(torch.nn.Module):
    """``D(x, sigma)`` for x (B, dim) with K learnable bases of dimensions ``dims``."""

    def __init__(self, dim: int, dims, generator=None):
        super().__init__()
        self.dim = integer(dim, "dim", minimum=1)
        dims = [integer(d, "dims", minimum=1, maximum=self.dim) for d in np.atleast_1d(dims)]
        if not dims:
            raise SpectralTheoryError("`dims` must list at least one subspace dimension")
        self.dims = dims
        self.bases_raw = torch.nn.ParameterList(
            torch.nn.Parameter(torch.linalg.qr(torch.randn(self.dim, d, generator=generator))[0]) for d in dims)

    def forward(self, x, sigma):
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1)   # (B, 1) or (1, 1)
        s2 = sigma**2
        c = 1.0 / (1.0 + s2)
        phi = 1.0 / (2 * s2 * (1.0 + s2))
        proj = [x @ U.to(x.dtype) for U in self.bases_raw]                              # K x (B, d_k)
        logits = torch.cat([phi * (p**2).sum(1, keepdim=True) - 0.5 * d * torch.log1p(1.0 / s2)
                            for p, d in zip(proj, self.dims)], dim=1)                    # (B, K)
        w = torch.softmax(logits, dim=1)
        out = sum(w[:, k:k + 1] * (p @ U.to(x.dtype).T) for k, (p, U) in enumerate(zip(proj, self.bases_raw)))
        return c * out

    @property
    def bases(self) -> list:
        """The learned column spaces, orthonormalised: a list of (dim, d_k) float64 arrays."""
        return [np.linalg.qr(U.detach().cpu().double().numpy())[0] for U in self.bases_raw]
