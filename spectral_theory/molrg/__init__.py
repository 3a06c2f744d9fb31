r"""Training the low-rank denoiser of a mixture of low-rank Gaussians, as subspace clustering.

Wang, Zhang, Zhang, Chen, Ma, Qu (arXiv 2409.02426) parameterise a denoiser by K orthonormal bases
:math:`U_k \in \mathrm{St}(n, d_k)` and the MoLRG posterior-mean formula

.. math::
   :label: lowrank

   x_\theta(x_t) = \sum_k w_k(x_t)\, c\, U_k U_k^\top x_t, \qquad c = \frac{\alpha}{\alpha^2 + \sigma^2},
   \qquad w = \operatorname{softmax}_k\Big[\log\pi_k + \phi |U_k^\top x_t|^2
   - \frac{d_k}{2}\log\Big(1 + \frac{\alpha^2}{\sigma^2}\Big)\Big], \quad
   \phi = \frac{\alpha^2}{2\sigma^2(\alpha^2 + \sigma^2)},

i.e. the exact denoiser of :class:`~spectral_theory.models.MoLRG` with learned bases (so the formula
lives once, in :meth:`MoLRG.from_bases`).  Training minimises the denoising loss over a training set
:math:`\{x_i\}_{i=1}^N`,

.. math::
   :label: loss

   \mathcal L(U) = \frac1N\sum_i \mathbb E_\xi\, |x_\theta(\alpha x_i + \sigma\xi) - x_i|^2 .

* :math:`K = 1` (:func:`pca_loss`): :math:`\mathcal L = \overline{|x|^2} - (2c\alpha - c^2\alpha^2)
  \overline{|U^\top x|^2} + c^2\sigma^2 d`, minimised by the top-d principal subspace at every noise level.
* :math:`K > 1`, small noise (hard-max weights): :math:`\mathcal L \to \overline{|x|^2} -
  \overline{\max_k |U_k^\top x|^2}`, i.e. **subspace clustering**
  :math:`\max_{U_1..U_K}\sum_i \max_k |U_k^\top x_i|^2` (:func:`fit_subspaces`, ``method="ksubspaces"``).

Two trainers, both returning :class:`SubspaceFit`:

* ``"ksubspaces"``: K-subspaces (Bradley & Mangasarian 2000) - alternate the hard assignment
  :math:`k(i) = \arg\max_k |U_k^\top x_i|^2` and per-cluster PCA, vectorised over restarts (batched
  ``eigh``), keep the best objective.  With noiseless data the objective reaching :math:`\sum_i |x_i|^2`
  certifies a global optimum and stops the restarts early.
* ``"gradient"``: Riemannian gradient descent on the product of Stiefel manifolds (projected gradient,
  QR retraction, Armijo backtracking) on the loss :eq:`loss` with the soft weights, annealed over a
  decreasing list of noise levels from any schedule.  The expectation over the noise is a sample average
  over fixed draws that are antithetic and whitened (their second moment is exactly the identity), so
  for :math:`K = 1` the sample average *equals* the expectation and the minimiser is exactly PCA.

Recovery (:func:`recovery_error`): components matched by the Hungarian algorithm; the paper's success
criterion is :math:`|P_{\hat U} - P_U|_F / \sqrt{2d} < 0.1` for every component; the samples per
component it needs (:func:`sample_complexity`): :math:`d_k`, and :math:`d_k + 1` for K > 1.  Numerical rank
(:func:`numerical_rank`): the smallest r with :math:`\sqrt{\sum_{i\le r}s_i^2} > 0.99\sqrt{\sum_i s_i^2}`.

Modules, one concept each: :mod:`.loss` (denoiser and loss), :mod:`.ksubspaces` (subspace
clustering), :mod:`.gradient` (Riemannian gradient descent), :mod:`.fit` (the trainer facade),
:mod:`.subspaces` (its result), :mod:`.recovery` (recovery error and numerical rank).
"""
from .fit import fit_subspaces
from .ksubspaces import clustering_objective
from .loss import (LossEstimate, denoising_loss, loss_and_gradient, low_rank_denoiser, pca_loss,
                   whitened_antithetic_noise)
from .recovery import SUCCESS_THRESHOLD, Recovery, SampleComplexity, numerical_rank, recovery_error, sample_complexity
from .subspaces import SubspaceFit

__all__ = ["SubspaceFit", "LossEstimate", "Recovery", "low_rank_denoiser", "denoising_loss", "pca_loss",
           "loss_and_gradient", "whitened_antithetic_noise", "clustering_objective", "fit_subspaces",
           "recovery_error", "SampleComplexity", "sample_complexity", "numerical_rank", "SUCCESS_THRESHOLD"]
