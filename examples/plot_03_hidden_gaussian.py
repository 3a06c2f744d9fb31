"""
Linearity and agreement with the Gaussian denoiser against N (Li, Dai, Qu)
==========================================================================

The exact denoiser of a finite training set (the memorising :class:`~spectral_theory.models.Empirical`
model) is compared with the denoiser of the Gaussian fitted to the same training set
(:meth:`~spectral_theory.models.Gaussian.from_samples`): at high noise they agree for every N; the more
training points, the lower the noise down to which they agree. The second panel shows the paper's
linearity score (:func:`spectral_theory.metrics.linearity_score`); the fitted Gaussian of centred data is
exactly linear.
"""
import matplotlib.pyplot as plt
import numpy as np

import spectral_theory as st
from spectral_theory import metrics

data = st.datasets.digits()                      # 8x8 digits, D = 64, pixels in [-1, 1] (extra `data`)
data = data - data.mean(axis=0)                  # centred: the Gaussian denoiser is then linear
rng = np.random.default_rng(0)
held_out, train_all = data[:200], data[200:]
sigmas = np.geomspace(0.05, 20.0, 10)

fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
for n in (25, 200, 1500):
    train = train_all[:n]
    emp, gauss = st.Empirical(train), st.Gaussian.from_samples(train)
    dist = []
    for s in sigmas:
        x = held_out + s * rng.standard_normal(held_out.shape)
        dist.append(metrics.score_field_distance(emp.denoise, gauss.denoise, x, s).rmse)
    a.loglog(sigmas, dist, "o-", label=f"N = {n}")
    if n == 1500:
        lin = [metrics.linearity_score(emp.denoise, train[:200], s, rng=rng).score for s in sigmas]
        lin_g = [metrics.linearity_score(gauss.denoise, train[:200], s, rng=rng).score for s in sigmas]
        b.semilogx(sigmas, lin, "o-", label="Empirical (memorising)")
        b.semilogx(sigmas, lin_g, "s--", label="fitted Gaussian")
a.set(xlabel="sigma", ylabel="RMS distance per pixel", title="Empirical vs Gaussian denoiser")
a.legend()
b.set(xlabel="sigma", ylabel="linearity score", title=f"linearity, N = 1500")
b.legend()
plt.tight_layout()
plt.show()
