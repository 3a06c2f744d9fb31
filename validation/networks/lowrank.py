r"""The low-rank denoising autoencoder of Wang et al. for mixtures of low-rank Gaussians
(arXiv 2409.02426; their code's ``edm/trainMoLRG.py``), VE convention (alpha = 1):

.. math::
   D_\theta(x;\sigma) = \sum_k w_k(x)\,c(\sigma)\,U_k U_k^\top x, \qquad c = \frac{1}{1 + \sigma^2},\qquad
   w = \operatorname{softmax}_k\Big[\phi(\sigma)\,|U_k^\top x|^2 - \frac{d_k}{2}\log\big(1 + \sigma^{-2}\big)\Big],
   \qquad \phi = \frac{1}{2\sigma^2(1 + \sigma^2)},

the exact posterior mean of :class:`spectral_theory.MoLRG` (equal weights, unit variance inside each
subspace; :mod:`spectral_theory.molrg`, eq. lowrank) with learnable bases on the Stiefel manifold:
:math:`U_k = \mathrm{qf}(A_k)`, the Q factor of a free D x d_k parameter :math:`A_k` (differentiable,
so plain AdamW on :math:`A_k` is gradient descent on the manifold's product).  Free, non-orthonormal
:math:`U_k` would make the model larger than the MoLRG posterior family (it could fit the training
set's within-subspace covariance through a wrong span).  :attr:`bases` returns the :math:`U_k` for
:func:`spectral_theory.molrg.recovery_error`.
"""
from __future__ import annotations

import numpy as np

from spectral_theory.checks import SpectralTheoryError, integer

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
        """Denoised x (B, n) at noise level sigma (scalar or (B,)): the posterior-weighted projections."""
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1)   # (B, 1) or (1, 1)
        s2 = sigma**2
        c = 1.0 / (1.0 + s2)
        phi = 1.0 / (2 * s2 * (1.0 + s2))
        Us = [torch.linalg.qr(A.to(x.dtype))[0] for A in self.bases_raw]               # K x (D, d_k) orthonormal
        proj = [x @ U for U in Us]                                                       # K x (B, d_k)
        logits = torch.cat([phi * (p**2).sum(1, keepdim=True) - 0.5 * d * torch.log1p(1.0 / s2)
                            for p, d in zip(proj, self.dims)], dim=1)                    # (B, K)
        w = torch.softmax(logits, dim=1)
        out = sum(w[:, k:k + 1] * (p @ U.T) for k, (p, U) in enumerate(zip(proj, Us)))
        return c * out

    @property
    def bases(self) -> list:
        """The learned column spaces, orthonormalised: a list of (dim, d_k) float64 arrays."""
        return [np.linalg.qr(U.detach().cpu().double().numpy())[0] for U in self.bases_raw]
