r"""The EDM denoiser parameterisation and noise-level distributions (Karras, Aittala, Aila, Laine,
"Elucidating the design space of diffusion-based generative models", NeurIPS 2022, arXiv 2206.00364,
Table 1), in the VE convention :math:`x = x_0 + \sigma n`:

.. math::
   D(x;\sigma) = c_{\rm skip}(\sigma)\,x + c_{\rm out}(\sigma)\,F\big(c_{\rm in}(\sigma)\,x;\ c_{\rm noise}(\sigma)\big),

   c_{\rm skip} = \frac{\sigma_d^2}{\sigma^2 + \sigma_d^2},\quad
   c_{\rm out} = \frac{\sigma\sigma_d}{\sqrt{\sigma^2 + \sigma_d^2}},\quad
   c_{\rm in} = \frac{1}{\sqrt{\sigma^2 + \sigma_d^2}},\quad
   c_{\rm noise} = \tfrac14\ln\sigma,

trained on :math:`\mathbb E\,\lambda(\sigma)|D(x_0 + \sigma n;\sigma) - x_0|^2` with
:math:`\lambda(\sigma) = (\sigma^2 + \sigma_d^2)/(\sigma\sigma_d)^2` (so that the effective target of F
has unit variance at every sigma) and :math:`\ln\sigma \sim \mathcal N(P_{\rm mean}, P_{\rm std}^2)`.
The paper's :math:`P_{\rm mean} = -1.2`, :math:`P_{\rm std} = 1.2` are for images with
:math:`\sigma_d = 0.5`; :class:`LogNormalSigma` shifts :math:`P_{\rm mean}` by :math:`\ln(\sigma_d/0.5)`
so the distribution of :math:`\sigma/\sigma_d` is the paper's for data of any scale.

A schedule of :mod:`spectral_theory.schedules` trains the same VE-equivalent denoiser:
:class:`ScheduleSigma` draws :math:`t` uniformly on the schedule's time range and uses
:math:`\sigma_{\rm VE} = \sigma(t)/\alpha(t) = \sqrt{\tau(t)}` (``x_t/alpha = x_0 + sigma_VE n``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spectral_theory.checks import SpectralTheoryError, scalar
from spectral_theory.schedules import Schedule

from ._torch import torch

__all__ = ["preconditioning", "loss_weight", "EDMDenoiser", "LogNormalSigma", "ScheduleSigma", "sigma_sampler"]

EDM_P_MEAN, EDM_P_STD, EDM_SIGMA_DATA = -1.2, 1.2, 0.5


def preconditioning(sigma, sigma_data):
    """``(c_skip, c_out, c_in, c_noise)`` of Table 1 (numpy arrays or torch tensors, like ``sigma``)."""
    lib = torch if isinstance(sigma, torch.Tensor) else np
    s2, d2 = sigma**2, sigma_data**2
    root = lib.sqrt(s2 + d2)
    return d2 / (s2 + d2), sigma * sigma_data / root, 1.0 / root, lib.log(sigma) / 4


def loss_weight(sigma, sigma_data):
    r""":math:`\lambda(\sigma) = (\sigma^2 + \sigma_d^2)/(\sigma\sigma_d)^2 = 1/c_{\rm out}^2`."""
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


class EDMDenoiser(torch.nn.Module):
    """``D(x, sigma) = c_skip x + c_out F(c_in x, c_noise)`` around a raw network ``F(x, c_noise)``.

    ``x`` is (B, D) or (B, C, H, W); ``sigma`` (B,) (or a scalar, broadcast); the output has x's shape.
    """

    def __init__(self, net: torch.nn.Module, sigma_data: float):
        super().__init__()
        self.net = net
        self.sigma_data = scalar(sigma_data, "sigma_data", positive=True)

    def forward(self, x, sigma):
        """Denoised x: c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, c_noise(sigma)) (Karras et al. 2022, Table 1)."""
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1)
        sigma = sigma.expand(x.shape[0]) if sigma.numel() == 1 else sigma
        c_skip, c_out, c_in, c_noise = preconditioning(sigma, self.sigma_data)
        shape = (-1,) + (1,) * (x.dim() - 1)
        return c_skip.reshape(shape) * x + c_out.reshape(shape) * self.net(c_in.reshape(shape) * x, c_noise)


@dataclass(frozen=True)
class LogNormalSigma:
    """:math:`\\ln\\sigma \\sim \\mathcal N(P_{mean}, P_{std}^2)` (EDM's training distribution)."""

    p_mean: float
    p_std: float

    @classmethod
    def for_data(cls, sigma_data, p_mean=None, p_std=EDM_P_STD):
        """The paper's distribution of sigma / sigma_data: P_mean = -1.2 + ln(sigma_data / 0.5)."""
        mean = EDM_P_MEAN + math.log(sigma_data / EDM_SIGMA_DATA) if p_mean is None else p_mean
        return cls(scalar(mean, "p_mean"), scalar(p_std, "p_std", positive=True))

    def sample(self, n, generator, dtype, device="cpu"):
        z = torch.randn(n, generator=generator, dtype=dtype, device=device)
        return torch.exp(self.p_mean + self.p_std * z)

    def describe(self) -> dict:
        return dict(kind="lognormal", p_mean=self.p_mean, p_std=self.p_std)


@dataclass(frozen=True)
class ScheduleSigma:
    """VE-equivalent noise levels of a schedule: t ~ U[t_lo, t_hi], sigma_VE = sqrt(tau(t))."""

    schedule: Schedule
    t_lo: float
    t_hi: float

    def sample(self, n, generator, dtype, device="cpu"):
        u = torch.rand(n, generator=generator, dtype=torch.float64).numpy()
        t = self.t_lo + (self.t_hi - self.t_lo) * u
        return torch.as_tensor(np.sqrt(self.schedule.tau(t)), dtype=dtype, device=device)

    def describe(self) -> dict:
        return dict(kind="schedule", schedule=repr(self.schedule), t_lo=self.t_lo, t_hi=self.t_hi)


def sigma_sampler(schedule, sigma_data, t_range=None):
    """The training noise distribution: ``"edm"`` (log-normal, adapted to ``sigma_data``), a
    :class:`LogNormalSigma` (as given, e.g. centred where an experiment needs accuracy) or a
    :class:`~spectral_theory.schedules.Schedule` (uniform time on ``t_range`` or its whole range, with
    t = t_min excluded where tau vanishes)."""
    if isinstance(schedule, LogNormalSigma):
        return schedule
    if isinstance(schedule, str):
        if schedule != "edm":
            raise SpectralTheoryError(f"`schedule` must be 'edm' or a spectral_theory Schedule; got {schedule!r}")
        return LogNormalSigma.for_data(sigma_data)
    if not isinstance(schedule, Schedule):
        raise SpectralTheoryError(f"`schedule` must be 'edm', a LogNormalSigma or a spectral_theory Schedule; got "
                                  f"{type(schedule).__name__}")
    lo, hi = (schedule.t_min, schedule.t_max) if t_range is None else t_range
    lo, hi = scalar(lo, "t_range[0]"), scalar(hi, "t_range[1]")
    if not schedule.t_min <= lo < hi <= schedule.t_max:
        raise SpectralTheoryError(f"`t_range` must satisfy {schedule.t_min} <= lo < hi <= {schedule.t_max}; got {(lo, hi)}")
    if not schedule.tau(lo) > 0:
        lo = lo + 1e-3 * (hi - lo)                      # tau(t_min) = 0 for VP/VE-from-0: sigma must be > 0
    return ScheduleSigma(schedule, lo, hi)
