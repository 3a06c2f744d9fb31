"""
Jacobian spectra, spectral gaps and the phase diagram (Ventura et al.)
======================================================================

For data on a linear manifold with two blocks of latent variances, the spectrum of the rescaled score
Jacobian :math:`\\tau J` is the pushforward of the multi-block Silverstein law
(:func:`spectral_theory.jacobian_spectrum`), with an atom at :math:`-1` for the normal directions.
Top: the predicted density over the eigenvalues of one sampled model's exact Jacobian at three noise
levels. Bottom: the widths of the manifold gap and the intermediate gap against :math:`\\tau`
(:func:`spectral_theory.gap_profiles`) and the phases at resolution :math:`\\Delta = 0.1`
(:func:`spectral_theory.phases`).
"""
import matplotlib.pyplot as plt
import numpy as np

import spectral_theory as st

dim = 400
model = st.LinearManifold(dim, [(40, 4.0), (40, 0.25)], rng=0)
x = model.sample(1, rng=1)

fig, axes = plt.subplot_mosaic([["a", "b", "c"], ["gaps", "gaps", "gaps"]], figsize=(11, 6))
for ax, tau in zip((axes["a"], axes["b"], axes["c"]), (20.0, 0.8, 0.02)):
    # the Jacobian of a Gaussian model is the same at every point: -(C + tau I)^-1
    eig = np.linalg.eigvalsh(tau * model.score_jacobian(x, np.sqrt(tau))[0])
    law = st.jacobian_spectrum(model, tau)
    grid = np.linspace(-1, 0, 800)[1:-1]
    ax.hist(eig[eig > -1 + 1e-9], bins=60, density=True, alpha=0.5, label=f"eigenvalues, D = {dim}")
    ax.plot(grid, law.pdf(grid) / law.continuous_mass, label="theory (continuous part)")
    ax.set(title=f"tau = {tau:g}: {law.atoms[0][1]:.0%} at -1", xlabel="eigenvalue of tau J")
axes["a"].legend(fontsize=8)

phases = st.phases(model, threshold=0.1)
taus = np.geomspace(1e-3, 1e2, 200)
profiles = st.gap_profiles(model, taus)
ax = axes["gaps"]
for k, gap in enumerate(profiles.gaps):
    ax.semilogx(taus, profiles.widths[k], label=f"{gap.kind} gap")
ax.axhline(phases.threshold, color="k", ls=":", label="resolution Delta")
for tau, name in ((phases.tau_trivial, "trivial | coverage"), (phases.tau_consolidation, "coverage | consolidation")):
    ax.axvline(tau, color="grey", ls="--")
    ax.text(tau, 0.9, name, rotation=90, va="top", ha="right", fontsize=8)
ax.set(xlabel="noise variance tau", ylabel="gap width", ylim=(0, 1), title="spectral gaps and phases")
ax.legend(loc="center left")
plt.tight_layout()
plt.show()
print(phases.in_time(st.VP()))
