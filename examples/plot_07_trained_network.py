"""
Compare your own trained network with the theory
================================================

A trained denoiser enters the package through :class:`validation.networks.TorchModel` (any torch module
``module(x, sigma) -> D(x; sigma)``), which supplies ``denoise``, ``score`` and ``score_jvp`` like the
exact models, so the samplers, Jacobian routes, metrics and phases take it unchanged. Here a small MLP is
trained by denoising score matching (:func:`validation.networks.train_denoiser`) on a linear-manifold
model, and compared with that model's exact denoiser and the predicted spectrum of :math:`\\tau J`.
Replace ``net`` by a ``TorchModel`` of your own network to run the same comparison. At this quick size
(600 steps, seconds of training) the network is still visibly off the exact denoiser at low noise and its
Jacobian spectrum is not quite the model's: the figure shows what the comparison measures, not a
converged network (the ``trained_jacobian_gaps`` experiment trains longer and bounds the difference).

This example needs the ``nn`` extra (torch); without it, it says so and draws nothing.
"""
import matplotlib.pyplot as plt
import numpy as np

import spectral_theory as st

try:
    from validation.networks import train_denoiser
except ImportError as error:                     # torch (extra `nn`) is not installed
    train_denoiser = None
    print(f"skipped: {error}")

if train_denoiser is not None:
    model = st.LinearManifold(16, [(2, 4.0), (2, 0.5)], basis="orthonormal", rng=0)
    # the recipe of the trained Jacobian experiments: large batches, warm-up then cosine decay
    net, record = train_denoiser(model, steps=600, batch_size=1024, lr=1e-2, warmup=100, lr_schedule="cosine",
                                 ema=0.99, network_options=dict(width=64, depth=2), rng=0, threads=1)
    print(f"trained {len(record.loss)} steps in {record.seconds:.1f} s")

    # 1. denoising error against the exact posterior mean (the minimum over all denoisers)
    rng = np.random.default_rng(1)
    x0 = model.sample(1000, rng=rng)
    sigmas = record.eval_sigmas
    mse_net, mse_exact = [], []
    for s in sigmas:
        x = x0 + s * rng.standard_normal(x0.shape)
        mse_net.append(np.mean((net.denoise(x, s) - x0) ** 2))
        mse_exact.append(np.mean((model.denoise(x, s) - x0) ** 2))

    # 2. the spectrum of tau J at one point: network (from its JVPs) against the exact model
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.loglog(sigmas, mse_net, "o-", label="trained MLP")
    a.loglog(sigmas, mse_exact, "k--", label="exact denoiser (MMSE)")
    a.set(xlabel="sigma", ylabel="MSE per coordinate", title="denoising error")
    a.legend()
    for tau, marker in ((2.0, "o"), (0.05, "s")):
        x = model.noisy_sample(1, np.sqrt(tau), rng=rng)[1]
        learned = np.linalg.eigvalsh(tau * net.score_jacobian(x, np.sqrt(tau))[0])
        exact = np.linalg.eigvalsh(tau * model.score_jacobian(x, np.sqrt(tau))[0])
        line, = b.plot(exact, marker, mfc="none", label=f"exact, tau = {tau:g}")
        b.plot(learned, marker, color=line.get_color(), ms=3, label=f"trained, tau = {tau:g}")
    b.set(xlabel="index", ylabel="eigenvalue of tau J", title="score-Jacobian spectrum at a noisy point")
    b.legend(fontsize=8)
    plt.tight_layout()
    plt.show()
