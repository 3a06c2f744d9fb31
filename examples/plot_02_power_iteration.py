"""
Emergence order and linear diffusion as power iteration (Weitzner et al.)
=========================================================================

Components emerge in the reverse process in the order of their eigenvalues
(:func:`spectral_theory.spiked.emergence_order`), and with independent projection denoisers the mean
output of the linear reverse process aligns with the leading eigenvector like power iteration
(:func:`spectral_theory.linear_denoisers.reverse_mean`). The second panel compares the predicted
mean alignment with a Monte Carlo average over independently drawn training sets.
"""
import matplotlib.pyplot as plt
import numpy as np

import spectral_theory as st
from spectral_theory import linear_denoisers as ld

spikes, dim, n_samples = np.array([6.0, 3.0, 1.5]), 120, 240
aspect = dim / n_samples
sched = st.VP()
print("emergence order (largest first):", st.spiked.emergence_order(spikes, aspect))
print("emergence times under VP:", st.spiked.emergence_time(spikes, aspect, sched))

times = np.linspace(0.6, 0.05, 20)                     # reverse process: decreasing time
taus = sched.tau(times)
rm = ld.reverse_mean(spikes, taus, aspect, dim)

# Monte Carlo: a fresh noisy training set and its rank-3 PCA projection at every step
rng = np.random.default_rng(1)
n_runs = 10
x_T = rng.standard_normal(dim)
coeff = x_T[:len(spikes)]
mean_out = np.zeros((len(taus), dim))
for _ in range(n_runs):
    x = x_T.copy()
    for j, tau in enumerate(taus):
        data = np.sqrt(tau) * rng.standard_normal((n_samples, dim))
        data[:, :len(spikes)] += rng.standard_normal((n_samples, len(spikes))) * np.sqrt(spikes)
        x = ld.pca_projection(data, len(spikes))(x)
        mean_out[j] += x / n_runs
alignment_mc = mean_out[:, 0] ** 2 / (mean_out ** 2).sum(axis=1)

fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
for i, lam in enumerate(spikes):
    a.semilogx(np.geomspace(0.05, 50, 300), st.spiked.overlap(spike=lam / np.geomspace(0.05, 50, 300), aspect=aspect),
               label=f"lambda = {lam:g}")
a.set(xlabel="tau", ylabel="overlap", title="larger eigenvalues emerge earlier (larger tau)")
a.invert_xaxis()
a.legend()
b.plot(range(1, len(taus) + 1), rm.alignment(coeff, off_norm2=(x_T[len(spikes):] ** 2).sum()), label="theory (mean)")
b.plot(range(1, len(taus) + 1), alignment_mc, "o", label=f"Monte Carlo ({n_runs} runs)")
b.set(xlabel="reverse step", ylabel="cos^2(mean output, u_1)", title="power iteration towards u_1")
b.legend()
plt.tight_layout()
plt.show()
