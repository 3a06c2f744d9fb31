"""
BBP overlaps against the noise level (Weitzner et al.)
======================================================

The top eigenvectors of the sample covariance of :math:`N` noisy samples keep a squared overlap with the
true principal directions only while the noise is below the BBP threshold, :math:`\\tau < \\lambda_i /
\\sqrt{\\gamma}` (:func:`spectral_theory.spiked.overlap`, :func:`spectral_theory.spiked.emergence_tau`).
Here the theory curves are drawn over PCA of simulated noisy training sets.
"""
import matplotlib.pyplot as plt
import numpy as np

import spectral_theory as st

dim, n_samples = 300, 600                     # aspect gamma = D/N = 0.5
spikes = np.array([8.0, 2.0])
aspect = dim / n_samples
taus = np.geomspace(0.3, 30.0, 12)
rng = np.random.default_rng(0)

# simulation: x = x_0 + sqrt(tau) n, x_0 of rank 2 along the first two coordinates
measured = np.empty((len(taus), len(spikes)))
for j, tau in enumerate(taus):
    x0 = rng.standard_normal((n_samples, len(spikes))) * np.sqrt(spikes)
    x = np.sqrt(tau) * rng.standard_normal((n_samples, dim))
    x[:, :len(spikes)] += x0
    _, vecs = np.linalg.eigh(x.T @ x / n_samples)
    top = vecs[:, ::-1][:, :len(spikes)]               # top eigenvectors, largest first
    measured[j] = top[np.arange(len(spikes)), np.arange(len(spikes))] ** 2

fine = np.geomspace(taus[0], taus[-1], 400)
fig, ax = plt.subplots(figsize=(6, 4))
for i, lam in enumerate(spikes):
    line, = ax.semilogx(fine, st.spiked.overlap(spike=lam / fine, aspect=aspect), label=f"theory, lambda = {lam:g}")
    ax.plot(taus, measured[:, i], "o", color=line.get_color(), label=f"simulation D = {dim}")
    ax.axvline(st.spiked.emergence_tau(lam, aspect), color=line.get_color(), ls=":")
ax.set(xlabel="noise variance tau", ylabel="squared overlap |<u_hat, u>|^2",
       title="BBP transition: overlaps vanish above tau* = lambda / sqrt(gamma)")
ax.legend()
plt.show()
