r"""An MLP denoiser body for vector data with a Fourier embedding of the noise level.

``F(x, c_noise)``: :math:`h_0 = W_x x + W_e\,e(c_{\rm noise})`, ``depth`` residual blocks
:math:`h \leftarrow h + W_2\,\mathrm{SiLU}(W_1\,\mathrm{SiLU}(h) + W_c\,e)`, output :math:`W_o\,\mathrm{SiLU}(h)`;
:math:`e(c) = [\cos(2\pi f_j c), \sin(2\pi f_j c)]_j` with fixed frequencies :math:`f_j` (Tancik et al.
2020; the EDM code's Fourier embedding).  Wrapped in :class:`~validation.networks.edm.EDMDenoiser`
by :func:`~validation.networks.train_denoiser`.
"""
from __future__ import annotations

import math

from spectral_theory.checks import integer

from ._torch import torch

__all__ = ["FourierEmbedding", "MLP"]


class FourierEmbedding(torch.nn.Module):
    """:math:`c \\mapsto [\\cos(2\\pi f c), \\sin(2\\pi f c)]`, frequencies geometric from 1/2 to 2^(n/2-2)."""

    def __init__(self, n_features: int = 32):
        super().__init__()
        half = integer(n_features, "n_features", minimum=2) // 2
        self.register_buffer("freqs", 2 * math.pi * torch.logspace(-1, half / 2 - 2, half, base=2.0))

    def forward(self, c):
        arg = c.reshape(-1, 1).to(self.freqs.dtype) * self.freqs          # (B, half)
        return torch.cat([torch.cos(arg), torch.sin(arg)], dim=1)         # (B, n_features)


class MLP(torch.nn.Module):
    """``F(x, c_noise)`` for x (B, dim): width ``width``, ``depth`` residual blocks."""

    def __init__(self, dim: int, width: int = 128, depth: int = 3, n_features: int = 32):
        super().__init__()
        self.dim = integer(dim, "dim", minimum=1)
        width, depth = integer(width, "width", minimum=1), integer(depth, "depth", minimum=0)
        self.embed = FourierEmbedding(n_features)
        self.inp = torch.nn.Linear(self.dim, width)
        self.emb = torch.nn.Linear(n_features, width)
        self.blocks = torch.nn.ModuleList(torch.nn.ModuleList([torch.nn.Linear(width, width), torch.nn.Linear(n_features, width),
                                                               torch.nn.Linear(width, width)]) for _ in range(depth))
        self.out = torch.nn.Linear(width, self.dim)

    def forward(self, x, c_noise):
        e = self.embed(c_noise).to(x.dtype)
        h = self.inp(x) + self.emb(e)
        act = torch.nn.functional.silu
        for lin1, cond, lin2 in self.blocks:
            h = h + lin2(act(lin1(act(h)) + cond(e)))
        return self.out(act(h))
