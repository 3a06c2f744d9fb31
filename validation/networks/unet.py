r"""A small U-Net denoiser body for images (B, C, H, W) of any size.

Two resolutions: a conv block at H x W, a stride-2 conv down to ceil(H/2) x ceil(W/2), a conv block
there, a transposed conv back up, a skip connection and an output conv.  Odd sizes are zero-padded
to even before the downsampling and cropped after (25 x 25 faces -> 26 x 26 -> 13 x 13); 8 x 8 digits
need no padding.  Each conv block is GroupNorm -> SiLU -> conv, with the noise embedding added as a
per-channel bias (the DDPM/EDM conditioning).  Wrapped in :class:`~validation.networks.edm.EDMDenoiser`
by :func:`~validation.networks.train_denoiser`.
"""
from __future__ import annotations

from spectral_theory.checks import SpectralTheoryError, integer

from ._torch import torch
from .mlp import FourierEmbedding

__all__ = ["UNet"]


def _groups(channels):
    return next(g for g in (8, 4, 2, 1) if channels % g == 0)


class _GroupNorm(torch.nn.GroupNorm):
    """GroupNorm written with ``reshape``: torch's kernel ``view``s its input, which fails in forward-mode
    autodiff when a strided convolution hands it a non-contiguous tangent."""

    def forward(self, x):
        B, C = x.shape[:2]
        g = x.reshape(B, self.num_groups, -1)
        g = (g - g.mean(-1, keepdim=True)) / torch.sqrt(g.var(-1, unbiased=False, keepdim=True) + self.eps)
        shape = (1, C) + (1,) * (x.dim() - 2)
        return g.reshape(x.shape) * self.weight.reshape(shape) + self.bias.reshape(shape)


class _Block(torch.nn.Module):
    def __init__(self, c_in, c_out, n_features):
        super().__init__()
        self.norm1 = _GroupNorm(_groups(c_in), c_in)
        self.conv1 = torch.nn.Conv2d(c_in, c_out, 3, padding=1)
        self.cond = torch.nn.Linear(n_features, c_out)
        self.norm2 = _GroupNorm(_groups(c_out), c_out)
        self.conv2 = torch.nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = torch.nn.Conv2d(c_in, c_out, 1) if c_in != c_out else torch.nn.Identity()

    def forward(self, x, e):
        act = torch.nn.functional.silu
        h = self.conv1(act(self.norm1(x))) + self.cond(e)[:, :, None, None]
        return self.skip(x) + self.conv2(act(self.norm2(h)))


class UNet(torch.nn.Module):
    """``F(x, c_noise)`` for images of shape ``image_shape = (H, W, C)`` given as x (B, C, H, W)."""

    def __init__(self, image_shape, channels: int = 32, n_features: int = 32):
        super().__init__()
        if len(image_shape) != 3:
            raise SpectralTheoryError(f"`image_shape` must be (H, W, C); got {image_shape!r}")
        self.H, self.W, self.C = (integer(v, "image_shape", minimum=1) for v in image_shape)
        c = integer(channels, "channels", minimum=1)
        self.embed = FourierEmbedding(n_features)
        self.inp = torch.nn.Conv2d(self.C, c, 3, padding=1)
        self.enc = _Block(c, c, n_features)
        self.down = torch.nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.mid = _Block(2 * c, 2 * c, n_features)
        self.up = torch.nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1)
        self.dec = _Block(2 * c, c, n_features)
        self.out = torch.nn.Conv2d(c, self.C, 3, padding=1)

    def forward(self, x, c_noise):
        """The raw network F(x, c_noise) on images (B, C, H, W) that EDMDenoiser preconditions."""
        if x.shape[1:] != (self.C, self.H, self.W):
            raise SpectralTheoryError(f"the U-Net expects images of shape (B, {self.C}, {self.H}, {self.W}); "
                                      f"got {tuple(x.shape)}")
        e = self.embed(c_noise).to(x.dtype)
        ph, pw = self.H % 2, self.W % 2
        h0 = self.enc(self.inp(torch.nn.functional.pad(x, (0, pw, 0, ph))), e)    # (B, c, H', W') even
        h1 = self.mid(self.down(h0), e)                                            # (B, 2c, H'/2, W'/2)
        h = self.dec(torch.cat([h0, self.up(h1)], dim=1), e)                       # (B, c, H', W')
        return self.out(h)[:, :, : self.H, : self.W]
