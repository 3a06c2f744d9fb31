r"""Denoising score matching: :func:`train_denoiser`.

The loss (Karras et al. 2022, eq. 2 and Table 1; :mod:`validation.networks.edm`)

.. math:: \mathcal L(\theta) = \mathbb E_{\sigma, x_0, n}\ \lambda(\sigma)\,\frac1D\,|D_\theta(x_0 + \sigma n;\sigma) - x_0|^2

is minimised over all functions by the posterior mean :math:`\mathbb E[x_0 | x]` at every sigma (the
conditional-expectation property of least squares), so the trained network's distance to an exact
model's ``denoise`` is its error, measurable per sigma.  ``x_0`` is drawn uniformly from a finite training
set (then the minimiser is the empirical, memorising denoiser) or freshly from a data model each step.

Optimiser AdamW, gradient-norm clipping, exponential moving average (EMA) of the weights (the returned
model uses the EMA weights).  Randomness: one ``SeedSequence`` (from ``rng``) spawns the children
``init``, ``batches``, ``noise`` and ``data`` -> torch Generators and a numpy Generator; the global torch
RNG is never used, so a seed fixes the result (on the same machine, torch version and thread count).
Checkpoints (``checkpoint=path``, every ``checkpoint_every`` steps, atomic) hold the model, EMA,
optimiser, generator states, the loss curve and the step; rerunning the same call resumes from the
checkpoint and ends with bit-identical weights to an uninterrupted run.
"""
from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from spectral_theory.checks import SpectralTheoryError, array, integer, scalar

from ._torch import limit_threads, reset_parameters, seed_sequence, torch, torch_dtype, torch_generator
from .adapter import TorchModel
from .checkpoint import load_checkpoint, save_checkpoint
from .edm import EDMDenoiser, loss_weight, sigma_sampler
from .lowrank import LowRankDAE
from .mlp import MLP
from .unet import UNet

__all__ = ["TrainingRecord", "train_denoiser", "default_eval_sigmas"]

_FORMAT = 1


@dataclass(frozen=True)
class TrainingRecord:
    """What a training run did.

    Attributes
    ----------
    loss : (steps,) weighted training loss per step (``lambda(sigma) |D - x0|^2 / D``, batch mean).
    eval_sigmas : the stated noise grid of the held-out evaluation.
    eval_mse, eval_stderr : per sigma, mean over evaluation points of ``|D(x0 + sigma n) - x0|^2 / D``
        (fresh noise) and its standard error.
    eval_source : where the evaluation's x0 came from ("model samples", "eval_data", or
        "training points" when the data is a finite set and no ``eval_data`` was given).
    sigma_data : the EDM sigma_data used (estimated as the data's RMS per coordinate if not given).
    seconds : wall time of this call's training steps; steps_per_second over them.
    resumed_from : the checkpoint step this call started from (0: fresh).
    seed : entropy and spawn key of the run's SeedSequence.
    config : every setting of the run (JSON-serialisable).
    """

    loss: np.ndarray
    eval_sigmas: np.ndarray
    eval_mse: np.ndarray
    eval_stderr: np.ndarray
    eval_source: str
    sigma_data: float
    seconds: float
    steps_per_second: float
    resumed_from: int
    seed: dict
    config: dict = field(default_factory=dict)

    def final_loss(self, window: int = 100) -> float:
        """Mean training loss over the last ``window`` steps."""
        return float(np.mean(self.loss[-window:]))


def default_eval_sigmas(sigma_data: float) -> np.ndarray:
    """13 noise levels from sigma_data/100 to 100 sigma_data, geometric."""
    return sigma_data * np.geomspace(1e-2, 1e2, 13)


def _data_source(data, image_shape):
    """(fixed tensor-able array or None, model or None, D, image_shape)."""
    if hasattr(data, "sample") and hasattr(data, "dim"):
        return None, data, int(data.dim), image_shape
    X = array(data, "data", ndim=2)
    if X.shape[0] < 1:
        raise SpectralTheoryError("`data` must hold at least one training point")
    if image_shape is None:
        image_shape = getattr(data, "image_shape", None)
    return X, None, X.shape[1], image_shape


def _build_network(network, dim, image_shape, sigma_data, options, generator):
    """(module D(x, sigma), uses_images) for a name or a user module."""
    if isinstance(network, torch.nn.Module):
        return network, image_shape is not None
    if network == "mlp":
        net = EDMDenoiser(MLP(dim, **options), sigma_data)
    elif network == "unet":
        if image_shape is None:
            raise SpectralTheoryError("network='unet' needs image data: pass `image_shape=(H, W, C)` or a data set "
                                      "with image metadata")
        H, W, C = image_shape
        if H * W * C != dim:
            raise SpectralTheoryError(f"`data` has {dim} columns but `image_shape` {tuple(image_shape)} has {H * W * C} pixels")
        net = EDMDenoiser(UNet(image_shape, **options), sigma_data)
    elif network == "lowrank_dae":
        if "dims" not in options:
            raise SpectralTheoryError("network='lowrank_dae' needs `network_options={'dims': [d_1, ..., d_K]}`")
        return LowRankDAE(dim, options["dims"], generator=generator), False
    else:
        raise SpectralTheoryError(f"`network` must be 'mlp', 'unet', 'lowrank_dae' or a torch.nn.Module; got {network!r}")
    reset_parameters(net, generator)
    return net, network == "unet"


class _Progress:
    """tqdm on a terminal (if installed), plain lines to stderr otherwise."""

    def __init__(self, enabled, total, initial):
        self.bar, self.enabled, self.total, self.next = None, enabled, total, initial
        if enabled and sys.stderr.isatty():
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, initial=initial, desc="train_denoiser", unit="step", file=sys.stderr)
            except ImportError:
                pass

    def update(self, step, loss):
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            if step % 20 == 0:
                self.bar.set_postfix(loss=f"{loss():.4g}")
        elif step + 1 >= self.next:
            print(f"train_denoiser: step {step + 1}/{self.total} loss {loss():.4g}", file=sys.stderr, flush=True)
            self.next += max(1, self.total // 10)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def train_denoiser(data, network="mlp", *, schedule="edm", steps=2000, batch_size=256, lr=2e-3, weight_decay=0.0,
                   ema=0.999, clip=1.0, sigma_data=None, image_shape=None, network_options=None, t_range=None,
                   dtype="float32", device="cpu", rng=None, checkpoint=None, checkpoint_every=500, progress=False,
                   eval_sigmas=None, eval_data=None, eval_points=1000, threads=None, lr_schedule="constant", warmup=0):
    """Train a denoiser by denoising score matching (EDM parameterisation); return ``(TorchModel, TrainingRecord)``.

    Parameters
    ----------
    data : (N, D) training set (rows drawn uniformly with replacement; images flattened (H, W, C)) or a
        data model with ``sample(n, rng)`` and ``dim`` (fresh samples every step).
    network : "mlp" (:class:`~validation.networks.mlp.MLP` in :class:`EDMDenoiser`), "unet" (images;
        :class:`~validation.networks.unet.UNet`), "lowrank_dae" (:class:`LowRankDAE`, needs
        ``network_options={"dims": [...]}``), or a torch module ``module(x, sigma) -> D`` (trained as is:
        its initialisation is the caller's).
    schedule : "edm" (log-normal sigma, P_mean adapted to sigma_data), a
        :class:`~validation.networks.edm.LogNormalSigma` (ln sigma ~ N(p_mean, p_std^2) as given) or a
        spectral_theory Schedule (t uniform on ``t_range``, VE-equivalent sigma = sqrt(tau(t))).
    steps, batch_size, lr, weight_decay : optimisation (AdamW).
    lr_schedule : "constant" or "cosine" (lr * (1 + cos(pi s/S))/2 over the S = steps - warmup steps s after
        the warm-up: a function of the step, so resuming reproduces it).
    warmup : steps of linear warm-up from lr/warmup to lr (0: none), before either schedule.
    ema : EMA decay per step (0: no EMA); the returned model carries the EMA weights.
    clip : gradient-norm clipping threshold (None or 0: off).
    sigma_data : EDM's data scale; default the RMS per coordinate of the data (of 10,000 model samples).
    image_shape : (H, W, C) of image data (default: ``data.image_shape`` if present).
    network_options : keyword arguments of the network class (width, depth, channels, dims, ...).
    dtype : "float32" (default) or "float64" for the parameters and the training arithmetic; the returned
        model still reads and writes float64 numpy arrays.
    device : torch device ("cpu", "cuda", ...).
    rng : Generator, SeedSequence, seed or None; fixes initialisation, batches, noise and model samples.
    checkpoint : path; if it exists the run resumes from it (same settings required), and it is
        rewritten atomically every ``checkpoint_every`` steps and at the end.
    progress : show a progress bar with the loss (tqdm on a terminal, plain lines otherwise).
    eval_sigmas, eval_data, eval_points : the held-out evaluation (default grid
        :func:`default_eval_sigmas`; x0 from ``eval_data``, else fresh model samples, else the training points).
    threads : torch intra-op threads during the call (None: torch's setting; 1 is fastest for small
        networks and on a shared machine).

    Returns
    -------
    (TorchModel, TrainingRecord)
    """
    with limit_threads(threads):
        return _train(data, network, schedule, steps, batch_size, lr, weight_decay, ema, clip, sigma_data, image_shape,
                      network_options, t_range, dtype, device, rng, checkpoint, checkpoint_every, progress,
                      eval_sigmas, eval_data, eval_points, lr_schedule, warmup)


def _learning_rate(lr, step, steps, schedule, warmup):
    """The learning rate at ``step``: linear warm-up, then constant or cosine decay to 0."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(steps - warmup, 1)))
    return lr


def _train(data, network, schedule, steps, batch_size, lr, weight_decay, ema, clip, sigma_data, image_shape,
           network_options, t_range, dtype, device, rng, checkpoint, checkpoint_every, progress,
           eval_sigmas, eval_data, eval_points, lr_schedule, warmup):
    if lr_schedule not in ("constant", "cosine"):
        raise SpectralTheoryError(f"`lr_schedule` must be 'constant' or 'cosine'; got {lr_schedule!r}")
    steps = integer(steps, "steps", minimum=1)
    warmup = integer(warmup, "warmup", minimum=0, maximum=steps - 1)
    batch_size = integer(batch_size, "batch_size", minimum=1)
    lr = scalar(lr, "lr", positive=True)
    weight_decay = scalar(weight_decay, "weight_decay", nonnegative=True)
    ema = scalar(ema, "ema", lo=0.0, hi=1.0, hi_open=True)
    clip = 0.0 if clip is None else scalar(clip, "clip", nonnegative=True)
    checkpoint_every = integer(checkpoint_every, "checkpoint_every", minimum=1)
    eval_points = integer(eval_points, "eval_points", minimum=2)
    tdtype = torch_dtype(dtype)
    dev = torch.device(device)
    ss = seed_sequence(rng)
    ss_init, ss_batch, ss_noise, ss_data = ss.spawn(4)
    X, model, dim, image_shape = _data_source(data, image_shape)
    data_rng = np.random.default_rng(ss_data)
    if sigma_data is None:
        ref = X if X is not None else np.asarray(model.sample(10_000, rng=np.random.default_rng(ss_data.spawn(1)[0])))
        sigma_data = float(np.sqrt(np.mean(ref**2)))
    sigma_data = scalar(sigma_data, "sigma_data", positive=True)
    sampler = sigma_sampler(schedule, sigma_data, t_range)
    options = dict(network_options or {})
    net, images = _build_network(network, dim, None if image_shape is None else tuple(image_shape), sigma_data,
                                 options, torch_generator(ss_init))
    net = net.to(device=dev, dtype=tdtype)
    adapter_kw = dict(image_shape=tuple(image_shape)) if images else dict(dim=dim)
    TorchModel(net, dtype=tdtype, device=dev, **adapter_kw)                 # validates signature and shape now
    net.train()

    config = dict(format=_FORMAT, network=network if isinstance(network, str) else type(network).__name__,
                  network_options=options, schedule=sampler.describe(), steps=steps, batch_size=batch_size, lr=lr,
                  weight_decay=weight_decay, lr_schedule=lr_schedule, warmup=warmup, ema=ema, clip=clip, sigma_data=sigma_data, dtype=str(tdtype),
                  dim=dim, image_shape=None if image_shape is None else list(image_shape),
                  n_train=None if X is None else int(X.shape[0]), seed=dict(entropy=str(ss.entropy), spawn_key=list(ss.spawn_key)))
    config_json = json.dumps(config, sort_keys=True, default=str)

    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    ema_params = [p.detach().clone() for p in params]
    g_batch, g_noise = torch_generator(ss_batch, dev), torch_generator(ss_noise, dev)
    losses = torch.zeros(steps, dtype=torch.float64)
    start = 0
    if checkpoint is not None and os.path.exists(checkpoint):
        state = load_checkpoint(checkpoint)
        if state.get("config") != config_json:
            raise SpectralTheoryError(f"`checkpoint` {os.fspath(checkpoint)!r} was written by a run with other settings; "
                                      "remove it or use another path")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        for e, v in zip(ema_params, state["ema"]):
            e.copy_(v)
        g_batch.set_state(state["generators"]["batches"])
        g_noise.set_state(state["generators"]["noise"])
        data_rng.bit_generator.state = json.loads(state["numpy_rng"])
        losses[: state["step"]] = state["loss"][: state["step"]]
        start = int(state["step"])

    def save(step):
        save_checkpoint(checkpoint, dict(
            format=_FORMAT, step=step, config=config_json, model=net.state_dict(), optimizer=opt.state_dict(),
            ema=ema_params, generators=dict(batches=g_batch.get_state(), noise=g_noise.get_state()),
            numpy_rng=json.dumps(data_rng.bit_generator.state), loss=losses))

    Xt = None
    if X is not None:
        Xt = torch.as_tensor(X, dtype=tdtype, device=dev)
        if images:
            H, W, C = image_shape
            Xt = Xt.reshape(-1, H, W, C).permute(0, 3, 1, 2).contiguous()   # (N, C, H, W)
    bar = _Progress(progress, steps, start)
    began = time.perf_counter()
    for step in range(start, steps):
        if lr_schedule == "cosine" or warmup:
            for group in opt.param_groups:
                group["lr"] = _learning_rate(lr, step, steps, lr_schedule, warmup)
        if Xt is not None:
            x0 = Xt[torch.randint(Xt.shape[0], (batch_size,), generator=g_batch, device=dev)]
        else:
            x0 = torch.as_tensor(model.sample(batch_size, rng=data_rng), dtype=tdtype, device=dev)
        sigma = sampler.sample(batch_size, g_noise, tdtype, dev)                           # (B,)
        n = torch.randn(x0.shape, generator=g_noise, dtype=tdtype, device=dev)
        shape = (-1,) + (1,) * (x0.dim() - 1)
        x = x0 + sigma.reshape(shape) * n
        err = (net(x, sigma) - x0) ** 2
        loss = (loss_weight(sigma, sigma_data) * err.reshape(batch_size, -1).mean(1)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        with torch.no_grad():
            if ema > 0:
                torch._foreach_lerp_(ema_params, [p.detach() for p in params], 1.0 - ema)
            else:
                torch._foreach_copy_(ema_params, [p.detach() for p in params])
            losses[step] = loss.detach()
        if checkpoint is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
            save(step + 1)
        bar.update(step, lambda: float(losses[max(start, step - 19): step + 1].mean()))
    bar.close()
    seconds = time.perf_counter() - began

    final = copy.deepcopy(net)
    with torch.no_grad():
        for p, e in zip([p for p in final.parameters() if p.requires_grad], ema_params):
            p.copy_(e)
    final.eval()
    trained = TorchModel(final, dtype=tdtype, device=dev, **adapter_kw)
    sig, mse, se, source = _evaluate(trained, X, model, eval_data, eval_points, eval_sigmas, sigma_data, data_rng)
    record = TrainingRecord(loss=losses.numpy().copy(), eval_sigmas=sig, eval_mse=mse, eval_stderr=se,
                            eval_source=source, sigma_data=sigma_data, seconds=seconds,
                            steps_per_second=(steps - start) / seconds if seconds > 0 else math.inf,
                            resumed_from=start, seed=config["seed"], config=config)
    return trained, record


def _evaluate(trained, X, model, eval_data, n, sigmas, sigma_data, rng):
    """Held-out denoising error per sigma: mean |D(x0 + sigma n) - x0|^2 / D and its standard error."""
    if eval_data is not None:
        x0, source = array(eval_data, "eval_data", shape=(None, trained.dim)), "eval_data"
    elif model is not None:
        x0, source = np.asarray(model.sample(n, rng=rng), dtype=np.float64), "model samples"
    else:
        x0, source = X[rng.integers(0, X.shape[0], n)], "training points"
    sigmas = default_eval_sigmas(sigma_data) if sigmas is None else array(sigmas, "eval_sigmas", ndim=1, positive=True)
    mse, se = np.empty(sigmas.size), np.empty(sigmas.size)
    for i, s in enumerate(sigmas):
        e = np.mean((trained.denoise(x0 + s * rng.standard_normal(x0.shape), s) - x0) ** 2, axis=1)
        mse[i], se[i] = e.mean(), e.std(ddof=1) / np.sqrt(e.size)
    return sigmas, mse, se, source
