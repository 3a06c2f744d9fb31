"""
The MoLRG phase transition (Wang et al.)
========================================

Subspace recovery from :math:`N_k` samples per component of a mixture of low-rank Gaussians needs
:math:`N_k \\ge d` (K = 1) or :math:`d + 1` (K > 1), linear in the intrinsic dimension, not the ambient
one. Each cell is the success rate of K-subspaces (:func:`spectral_theory.molrg.fit_subspaces`) over
random problems, success meaning :func:`spectral_theory.molrg.recovery_error` below 0.1, with a small
off-subspace noise (which smooths the transition; noiseless, it is a step).
"""
import matplotlib.pyplot as plt
import numpy as np

import spectral_theory as st
from spectral_theory import molrg

ambient, K, trials = 24, 2, 8
dims = np.arange(2, 6)
samples = np.arange(1, 11)
seeds = np.random.SeedSequence(0).spawn(len(dims) * len(samples))
success = np.zeros((len(dims), len(samples)))
for i, d in enumerate(dims):
    for j, n_k in enumerate(samples):
        rng = np.random.default_rng(seeds[i * len(samples) + j])
        for _ in range(trials):
            model = st.MoLRG(ambient, [d] * K, noise=1e-4, rng=rng)
            X = model.sample(K * n_k, rng=rng)
            fit = molrg.fit_subspaces(X, K, [d] * K, rng=rng)
            success[i, j] += molrg.recovery_error(fit.bases, model.bases).success / trials

fig, ax = plt.subplots(figsize=(6, 3.5))
im = ax.imshow(success, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
               extent=(samples[0] - 0.5, samples[-1] + 0.5, dims[0] - 0.5, dims[-1] + 0.5))
ax.plot(dims + 1, dims, "w--", label="N_k = d + 1")
ax.set(xlabel="samples per component N_k", ylabel="intrinsic dimension d",
       title=f"K = {K}, ambient n = {ambient}: recovery rate")
ax.legend(loc="lower right")
fig.colorbar(im, ax=ax)
plt.show()
