"""
Closed-form sampling and sampler error (Li, Dai, Qu)
====================================================

The probability-flow ODE of a Gaussian model has a closed-form solution
(:meth:`spectral_theory.models.Gaussian.flow`): it maps noise to an exact sample of the Gaussian fitted to
the training set. The EDM samplers of :mod:`validation.samplers` can be measured against it; the paper's
10-step Euler sampler is visibly not the exact solution.
"""
import matplotlib.pyplot as plt
import numpy as np

import spectral_theory as st
from validation.samplers import edm_sampler

data = st.datasets.digits()
g = st.Gaussian.from_samples(data)
sigma_max = 80.0
x_T = sigma_max * np.random.default_rng(0).standard_normal((8, data.shape[1]))
exact = g.flow(x_T, sigma_max, 0.0)

steps = np.array([5, 10, 20, 40, 80])
errors = {m: [] for m in ("euler", "heun")}
for method in errors:
    for n in steps:
        traj = edm_sampler(g.denoise, x_T, st.edm_sigmas(n, sigma_max=sigma_max), method=method)
        errors[method].append(np.sqrt(np.mean((traj.final - exact) ** 2)))

fig = plt.figure(figsize=(10, 4))
ax = fig.add_subplot(1, 2, 1)
for method, err in errors.items():
    ax.loglog(steps, err, "o-", label=method)
ax.loglog(steps, errors["euler"][0] * (steps / steps[0]) ** -1.0, "k:", label="order 1")
ax.loglog(steps, errors["heun"][0] * (steps / steps[0]) ** -2.0, "k--", label="order 2")
ax.set(xlabel="sampler steps", ylabel="RMS error vs closed form", title="EDM samplers against the exact flow")
ax.legend()
euler10 = edm_sampler(g.denoise, x_T, st.edm_sigmas(10, sigma_max=sigma_max), method="euler").final
for i in range(4):
    for row, img in enumerate((exact[i], euler10[i])):
        sub = fig.add_subplot(2, 8, 5 + i + 8 * row)
        sub.imshow(img.reshape(8, 8), cmap="gray", vmin=-1, vmax=1)
        sub.set_axis_off()
        if i == 0:
            sub.set_title("closed form" if row == 0 else "Euler, 10 steps", fontsize=8, loc="left")
plt.show()
