"""
Emergence order and linear diffusion as power iteration (Weitzner et al.)
=========================================================================

Components emerge in the reverse process in the order of their eigenvalues
(:func:`spectral_theory.spiked.emergence_order`), and with independent projection denoisers the mean
output of the linear reverse process multiplies component :math:`i` by :math:`\\prod_t c_i(\\tau_t)`,
so it aligns with the leading eigenvector like power iteration
(:func:`spectral_theory.linear_denoisers.reverse_mean`). The second panel compares the predicted
multipliers with a Monte Carlo average over independently drawn training sets (a fresh one per step:
reusing one training set departs from this product, see the theory page). At D = 60 the finite-size
corrections of each step's overlaps (relative order :math:`N^{-1/2}`) accumulate over the product: the
weaker components stay above the asymptotic multipliers; raise ``dim`` and ``n_samples`` to see them
shrink.
"""
import matplotlib.pyplot as plt
import numpy as np

import spectral_theory as st
from spectral_theory import linear_denoisers as ld

spikes, dim, n_samples = np.array([6.0, 3.0, 1.5]), 60, 120
aspect = dim / n_samples
sched = st.VP()
print("emergence order (largest first):", st.spiked.emergence_order(spikes, aspect))
print("emergence times under VP:", st.spiked.emergence_time(spikes, aspect, sched))

# a reverse process below every component's emergence level (tau < lambda_3 / sqrt(gamma) = 2.1)
times = np.linspace(sched.time_of_tau(1.5), sched.time_of_tau(0.05), 20)   # decreasing time
taus = sched.tau(times)
rm = ld.reverse_mean(spikes, taus, aspect, dim)

# Monte Carlo: a fresh noisy training set and its rank-3 PCA projection at every step; the mean of the
# output's coordinates along u_i, divided by those of x_T, estimates the multipliers prod_t c_i(tau_t)
rng = np.random.default_rng(1)
n_runs = 24
x_T = np.ones(dim)
coords = np.empty((n_runs, len(taus), len(spikes)))
for r in range(n_runs):
    x = x_T.copy()
    for j, tau in enumerate(taus):
        data = np.sqrt(tau) * rng.standard_normal((n_samples, dim))
        data[:, :len(spikes)] += rng.standard_normal((n_samples, len(spikes))) * np.sqrt(spikes)
        x = ld.pca_projection(data, len(spikes))(x)
        coords[r, j] = x[:len(spikes)]
mean, err = coords.mean(axis=0), coords.std(axis=0, ddof=1) / np.sqrt(n_runs)

fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
grid = np.geomspace(0.05, 50, 300)
for i, lam in enumerate(spikes):
    a.semilogx(grid, st.spiked.overlap(spike=lam / grid, aspect=aspect), label=f"lambda = {lam:g}")
a.set(xlabel="tau", ylabel="overlap", title="larger eigenvalues emerge earlier (larger tau)")
a.invert_xaxis()
a.legend()
steps = np.arange(1, len(taus) + 1)
for i, lam in enumerate(spikes):
    line, = b.semilogy(steps, rm.multipliers[:, i], label=f"theory, lambda = {lam:g}")
    b.errorbar(steps, mean[:, i], err[:, i], fmt="o", ms=3, color=line.get_color())
b.set(xlabel="reverse step", ylabel="mean multiplier <u_i, x_t> / <u_i, x_T>",
      title=f"power iteration (points: {n_runs} runs, +- 1 s.e.)")
b.legend()
plt.tight_layout()
plt.show()
