"""Trained score networks: training throughput, JVP cost, the U-Net's Jacobian spectrum.

Issue 18's benchmark; baselines timed in the same run, one torch thread throughout (the machine's
cores are shared; ratios are what is reported).
  1. ``train_denoiser`` (EDM loss, AdamW, EMA, gradient clipping, loss record, checkpoint every 500
     steps) against a plain hand-written torch loop with the same network, batch and loss (AdamW only):
     steps per second, ratio (target >= 0.67).  MLP on D = 64 and the U-Net on 8 x 8 digits.
  2. One batched JVP (``TorchModel.score_jvp``, B tangents at B points) against one forward pass
     (``TorchModel.denoise`` on the same batch), by each route of ``TorchModel.JVP_ROUTES``: time ratio
     (target <= 3).
  3. The Jacobian spectrum of the U-Net at the largest image size (25 x 25 faces; synthetic smooth
     images of that size when the faces data set is unavailable) by the matrix-free route (stochastic
     Lanczos quadrature, ``validation.spectral_estimates.slq_density``, on the symmetrised JVP/VJP
     products) against dense autograd (``score_jacobian`` + ``eigvalsh``): time and agreement (KS
     distance within 3 standard errors + the quadrature's CMS resolution).

Run: python benchmarks/bench_networks.py [--quick]
"""
from __future__ import annotations

import argparse
import copy
import tempfile
import time

import numpy as np

import spectral_theory as st
from _timing import best_of




def plain_loop(torch, net, X, steps, batch, sigma_data, seed):
    """The baseline: a hand-written EDM training loop with AdamW, nothing else."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    shape = (-1,) + (1,) * (X.dim() - 1)
    t0 = time.perf_counter()
    for _ in range(steps):
        x0 = X[torch.randint(X.shape[0], (batch,), generator=g)]
        sigma = torch.exp(-1.2 + np.log(sigma_data / 0.5) + 1.2 * torch.randn(batch, generator=g))
        x = x0 + sigma.reshape(shape) * torch.randn(x0.shape, generator=g)
        w = (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2
        loss = (w * ((net(x, sigma) - x0) ** 2).reshape(batch, -1).mean(1)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


def throughput(nets, torch, X, network, image_shape, options, steps, batch):
    sigma_data = float(np.sqrt(np.mean(X**2)))
    with tempfile.TemporaryDirectory() as tmp:
        _, rec = nets.train_denoiser(X, network, image_shape=image_shape, network_options=options, steps=steps,
                                     batch_size=batch, rng=0, threads=1, checkpoint=f"{tmp}/c.pt", checkpoint_every=500)
    ours = rec.steps_per_second
    body = nets.MLP(X.shape[1], **options) if network == "mlp" else nets.UNet(image_shape, **options)
    net = nets.EDMDenoiser(body, sigma_data)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    if image_shape is not None:
        H, W, C = image_shape
        Xt = Xt.reshape(-1, H, W, C).permute(0, 3, 1, 2).contiguous()
    with nets.limit_threads(1):
        plain = plain_loop(torch, net, Xt, steps, batch, sigma_data, 0)
    return ours, plain


def smooth_images(rng, n, H, W):
    """Random smooth fields in [-1, 1] (a stand-in for face images of the same size)."""
    from scipy.ndimage import gaussian_filter
    z = gaussian_filter(rng.standard_normal((n, H, W)), sigma=(0, 2.0, 2.0))
    z /= np.abs(z).max(axis=(1, 2), keepdims=True)
    return z.reshape(n, H * W)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    a = p.parse_args(argv)
    from validation import networks as nets
    from validation.spectral_estimates import slq_density
    torch = nets.torch
    rng = np.random.default_rng(0)
    steps = 300 if a.quick else 1500

    # 1. training throughput
    X = rng.standard_normal((4096, 64)) @ np.diag(np.geomspace(1, 0.1, 64))
    mlp = dict(width=256, depth=3)
    ours, plain = throughput(nets, torch, X, "mlp", None, mlp, steps, 256)
    print(f"training MLP D=64 batch 256: train_denoiser {ours:.0f} steps/s, plain loop {plain:.0f} steps/s, "
          f"ratio {ours / plain:.2f} (target >= 0.67)")
    digits = st.datasets.dataset("digits")
    unet = dict(channels=16)
    ours_u, plain_u = throughput(nets, torch, np.asarray(digits), "unet", digits.image_shape, unet, steps // 3, 64)
    print(f"training U-Net 8x8 batch 64: train_denoiser {ours_u:.1f} steps/s, plain loop {plain_u:.1f} steps/s, "
          f"ratio {ours_u / plain_u:.2f} (target >= 0.67)")

    # 2. batched JVP vs forward pass: every forward-mode and reverse-mode route on the same batch
    with nets.limit_threads(1):
        model, _ = nets.train_denoiser(X, "mlp", network_options=mlp, steps=10, batch_size=64, rng=1, threads=1)
        routes = {r: nets.TorchModel(model.module, dim=64, jvp=r) for r in nets.TorchModel.JVP_ROUTES}
        for B in (64, 512, 2048):
            x, V = X[np.arange(B) % X.shape[0]], rng.standard_normal((B, 64))
            t_fwd = best_of(lambda: model.denoise(x, 0.5), 7)
            ratios = {r: best_of(lambda m=m: m.score_jvp(x, V, 0.5), 7) / t_fwd for r, m in routes.items()}
            best = min(ratios, key=ratios.get)
            print(f"MLP D=64, B={B}: forward {t_fwd * 1e3:.2f} ms; one batched JVP / forward: "
                  + ", ".join(f"{r} {v:.2f}x" for r, v in ratios.items()) + f" (best {best}; target <= 3)")

    # 3. U-Net Jacobian spectrum at the largest image size: SLQ on JVP/VJP products vs dense autograd
    try:
        data = st.datasets.dataset("faces")
        faces, (H, W, C), source = np.asarray(data), data.image_shape, "LFW faces"
    except ImportError:
        H, W, C = 25, 25, 1
        faces = smooth_images(rng, 512, H, W)
        source = "synthetic smooth 25x25 images (scikit-image missing)"
    unet_model, _ = nets.train_denoiser(faces, "unet", image_shape=(H, W, C), network_options=dict(channels=16),
                                        steps=100 if a.quick else 400, batch_size=32, rng=2, threads=1)
    # float32 training, float64 evaluation: the symmetrised operator is then symmetric to rounding, as SLQ checks
    unet64 = nets.TorchModel(copy.deepcopy(unet_model.module).double(), image_shape=(H, W, C))
    D = H * W * C
    sigma = 0.3
    x = faces[0] + sigma * rng.standard_normal(D)
    with nets.limit_threads(1):
        t0 = time.perf_counter()
        Jd = unet64.score_jacobian(x, sigma)
        dense = np.linalg.eigvalsh(0.5 * (Jd + Jd.T))
        t_dense = time.perf_counter() - t0

        def matvec(vs):
            return 0.5 * (unet64.score_jvp(x, vs, sigma) + unet64.score_vjp(x, vs, sigma))
        for probes, steps in ((4, 40), (8, 80)):
            t0 = time.perf_counter()
            dens = slq_density(matvec, D, n_probes=probes, n_steps=steps, rng=3)
            t_free = time.perf_counter() - t0
            ks = dens.ks_distance(dense)
            bar = 3 * ks.stderr + ks.resolution
            print(f"U-Net {H}x{W} ({source}), D={D}: dense autograd Jacobian + eigvalsh {t_dense:.2f} s; SLQ "
                  f"{probes} probes x {steps} steps {t_free:.2f} s ({t_dense / t_free:.1f}x faster, {dens.matvecs} "
                  f"products); KS distance to the dense spectrum {ks.value:.4f} (bar 3 se + CMS resolution "
                  f"{bar:.4f}: {'within' if ks.value <= bar else 'OUTSIDE'})")


if __name__ == "__main__":
    main()
