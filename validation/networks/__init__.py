"""Trained score networks (optional extra ``nn``: PyTorch).

* :func:`train_denoiser` - denoising score matching with the EDM parameterisation (or the package's
  schedules), networks "mlp" / "unet" / "lowrank_dae" or your own module; returns
  ``(TorchModel, TrainingRecord)``.
* :class:`TorchModel` - any torch denoiser ``module(x, sigma) -> D(x; sigma)`` as a model of the package
  (denoise / score / score_jvp / score_jacobian, numpy float64), so samplers, Jacobian routes, metrics
  and phases take it unchanged.

Importing this subpackage imports torch; without it, an ImportError names the extra.
"""
from ._torch import limit_threads, torch  # noqa: F401  (torch: raises the ImportError naming the extra)
from .adapter import TorchModel
from .checkpoint import load_checkpoint, save_checkpoint
from .edm import EDMDenoiser, LogNormalSigma, ScheduleSigma, loss_weight, preconditioning
from .lowrank import LowRankDAE
from .mlp import MLP, FourierEmbedding
from .training import TrainingRecord, default_eval_sigmas, train_denoiser
from .unet import UNet

__all__ = ["TorchModel", "train_denoiser", "TrainingRecord", "default_eval_sigmas", "EDMDenoiser", "LogNormalSigma",
           "ScheduleSigma", "preconditioning", "loss_weight", "MLP", "FourierEmbedding", "UNet", "LowRankDAE",
           "save_checkpoint", "load_checkpoint", "limit_threads"]
