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
criterion is :math:`|P_{\hat U} - P_U|_F / \sqrt{2d} < 0.1` for every component.  Numerical rank
(:func:`numerical_rank`): the smallest r with :math:`\sqrt{\sum_{i\le r}s_i^2} > 0.99\sqrt{\sum_i s_i^2}`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._checks import SpectralTheoryError, array, as_generator, integer, scalar
from .models import MoLRG
from .schedules import EDM, Schedule

__all__ = ["SubspaceFit", "LossEstimate", "Recovery", "low_rank_denoiser", "denoising_loss", "pca_loss",
           "loss_and_gradient", "whitened_antithetic_noise", "clustering_objective", "fit_subspaces",
           "recovery_error", "numerical_rank", "SUCCESS_THRESHOLD"]

SUCCESS_THRESHOLD = 0.1          # the paper's |P_hat - P|_F / sqrt(2 d) criterion
_CERTIFICATE_RTOL = 1e-9         # noiseless data: unexplained energy below this fraction = global optimum
_RESTART_BATCH = 8               # K-subspaces restarts run together (one batched eigh per cluster)


# ---------------------------------------------------------------- results --------------------------
@dataclass(frozen=True)
class SubspaceFit:
    """A fitted union of subspaces.

    Attributes
    ----------
    bases : tuple of (n, d_k) orthonormal bases.
    objective : captured energy :math:`\\frac1N\\sum_i \\max_k |U_k^\\top x_i|^2` (the clustering
        objective, comparable between methods; larger is better).
    energy : :math:`\\frac1N\\sum_i |x_i|^2` (the objective's upper bound, reached iff every point lies
        in one of the subspaces).
    labels : (N,) hard assignment :math:`\\arg\\max_k |U_k^\\top x_i|^2`.
    iterations : iterations of the best restart (summed over noise levels for ``"gradient"``).
    converged : whether the best restart met its stopping rule (labels fixed / gradient tolerance).
    restarts : restarts actually run.
    method : "ksubspaces" or "gradient".
    loss : final training loss (``"gradient"``: the sample-average denoising loss at the last noise
        level; ``"ksubspaces"``: NaN).
    gradient_norm : Riemannian gradient norm at the end (``"gradient"``; NaN otherwise).
    noise_level : (sigma, alpha) of the last training noise level (``"gradient"``; NaNs otherwise).
    """

    bases: tuple
    objective: float
    energy: float
    labels: np.ndarray
    iterations: int
    converged: bool
    restarts: int
    method: str
    loss: float = float("nan")
    gradient_norm: float = float("nan")
    noise_level: tuple = (float("nan"), float("nan"))

    @property
    def unexplained(self) -> float:
        """Relative residual energy :math:`1 - \\text{objective}/\\text{energy}` (0 = perfect fit)."""
        return float(max(1.0 - self.objective / self.energy, 0.0)) if self.energy > 0 else 0.0

    def denoiser(self, weights=None) -> MoLRG:
        """The trained low-rank denoiser (the MoLRG posterior mean with these bases)."""
        return MoLRG.from_bases(self.bases, weights=weights)


@dataclass(frozen=True)
class LossEstimate:
    """Monte-Carlo denoising loss: ``value`` +- ``stderr`` (over independent noise draws), and the
    value at each noise level in ``per_level``."""

    value: float
    stderr: float
    per_level: np.ndarray


@dataclass(frozen=True)
class Recovery:
    """Subspace recovery after Hungarian matching.

    ``errors[k]`` = :math:`|P_{\\hat U_{m(k)}} - P_{U_k}|_F/\\sqrt{d_k + \\hat d_{m(k)}}` for true component
    k matched to estimate ``matching[k]``; ``max_error``; ``success`` = every error below ``threshold``.
    """

    errors: np.ndarray
    matching: np.ndarray
    max_error: float
    success: bool
    threshold: float


# ---------------------------------------------------------------- input checks ---------------------
def _bases(bases, name="bases", dim=None):
    bs = [array(U, f"{name}[{k}]", ndim=2) for k, U in enumerate(bases)]
    if not bs:
        raise SpectralTheoryError(f"`{name}` must not be empty")
    n = bs[0].shape[0] if dim is None else dim
    for k, U in enumerate(bs):
        if U.shape[0] != n or U.shape[1] > n:
            raise SpectralTheoryError(f"`{name}[{k}]` must be {n} x d_k with d_k <= {n}; got {U.shape}")
    return bs


def _data(X):
    return array(X, "X", ndim=2)


def _dims(dims, K, n):
    ds = np.atleast_1d(dims)
    if ds.size == 1:
        ds = np.repeat(ds, K)
    if ds.size != K:
        raise SpectralTheoryError(f"`dims` must have 1 or n_components = {K} entries; got {ds.size}")
    return [integer(d, "dims[k]", minimum=1, maximum=n) for d in ds]


def _noise_levels(schedule, times, X, dims, anneal_from=10.0):
    """(sigma, alpha) pairs from ``schedule`` at ``times`` (the schedule is the only source of them)."""
    if schedule is None:
        schedule = EDM()
    if not isinstance(schedule, Schedule):
        raise SpectralTheoryError(f"`schedule` must be a spectral_theory.schedules.Schedule; got {type(schedule).__name__}")
    if times is None:
        # noise relative to the data's per-direction scale, annealed from the signal scale downwards
        scale = np.sqrt(np.mean(np.sum(X**2, axis=1)) / np.mean(dims))
        taus = (scale * np.array([r for r in (10.0, 3.0, 1.0, 0.3, 0.1, 0.03) if r <= anneal_from])) ** 2
        lo, hi = schedule.tau(schedule.t_min), schedule.tau(schedule.t_max)
        times = schedule.time_of_tau(np.clip(taus, lo, hi))
    t = np.atleast_1d(array(times, "times", ndim=(0, 1)))
    return [(schedule.sigma(ti), schedule.alpha(ti)) for ti in t]


# ---------------------------------------------------------------- denoiser and loss ----------------
def low_rank_denoiser(bases, weights=None) -> MoLRG:
    """The low-rank denoiser :eq:`lowrank` with bases ``U_k`` (orthonormal columns): a
    :class:`MoLRG` whose ``denoise(x, sigma, alpha)`` is :math:`x_\\theta`."""
    return MoLRG.from_bases(bases, weights=weights)


def whitened_antithetic_noise(n_noise, N, n, rng=None):
    """Noise draws for a sample-average training loss: (M, N, n) standard normals,
    M = max(n_noise rounded up to even, 2 ceil(n/N)), antithetic in the first axis (xi and -xi) and
    whitened so that the average of xi xi^T over all draws is exactly I;
    the sample average of any function linear + quadratic in xi then equals its expectation."""
    n_noise = integer(n_noise, "n_noise", minimum=1)
    N, n = integer(N, "N", minimum=1), integer(n, "n", minimum=1)
    rng = as_generator(rng)
    half = rng.standard_normal((max((n_noise + 1) // 2, -(-n // N)), N, n))
    flat = half.reshape(-1, n)
    if flat.shape[0] >= n:
        second = flat.T @ flat / flat.shape[0]                        # (n, n)
        evals, evecs = np.linalg.eigh(second)
        flat = flat @ (evecs / np.sqrt(evals)) @ evecs.T              # second moment -> identity
        half = flat.reshape(half.shape)
    return np.concatenate([half, -half])


def denoising_loss(bases, X, schedule=None, times=None, *, weights=None, n_noise=16, rng=None) -> LossEstimate:
    """Monte-Carlo estimate of the denoising loss :eq:`loss` with fresh (plain i.i.d.) noise.

    Parameters
    ----------
    bases : sequence of (n, d_k) orthonormal bases.
    X : (N, n) training set (the x_0's).
    schedule, times : noise levels (alpha, sigma) = schedule at ``times`` (default: EDM at noise
        levels 10, 3, 1, 0.3, 0.1, 0.03 times the data's per-direction scale); the loss is averaged
        over them.
    weights : mixing weights pi_k (default uniform).
    n_noise : independent noise draws per training point and level (>= 2 for a standard error).

    Returns
    -------
    LossEstimate : mean over points, draws and levels; stderr over the independent draws.
    """
    X = _data(X)
    bs = _bases(bases, dim=X.shape[1])
    n_noise = integer(n_noise, "n_noise", minimum=2)
    rng = as_generator(rng)
    model = low_rank_denoiser(bs, weights)
    levels = _noise_levels(schedule, times, X, [U.shape[1] for U in bs])
    per_draw = np.empty((len(levels), n_noise))
    for j, (sigma, alpha) in enumerate(levels):
        xi = rng.standard_normal((n_noise,) + X.shape)                       # (M, N, n)
        xt = (alpha * X + sigma * xi).reshape(-1, X.shape[1])                # (M N, n)
        err = model.denoise(xt, sigma, alpha) - np.tile(X, (n_noise, 1))     # (M N, n)
        per_draw[j] = np.sum(err**2, axis=1).reshape(n_noise, -1).mean(axis=1)
    draws = per_draw.mean(axis=0)                                            # (M,) iid
    return LossEstimate(float(draws.mean()), float(draws.std(ddof=1) / np.sqrt(n_noise)), per_draw.mean(axis=1))


def pca_loss(basis, X, sigma, alpha=1.0) -> float:
    r"""Exact expected denoising loss of the K = 1 low-rank denoiser (expectation over the noise):

    .. math:: \overline{|x|^2} - (2c\alpha - c^2\alpha^2)\,\overline{|U^\top x|^2} + c^2\sigma^2 d,
              \qquad c = \alpha/(\alpha^2 + \sigma^2).

    Since :math:`2c\alpha - c^2\alpha^2 > 0`, minimising it over U is PCA at every noise level.
    """
    X = _data(X)
    U = _bases([basis], "basis", dim=X.shape[1])[0]
    sigma, alpha = scalar(sigma, "sigma", positive=True), scalar(alpha, "alpha", positive=True)
    c = alpha / (alpha**2 + sigma**2)
    captured = np.mean(np.sum((X @ U) ** 2, axis=1))
    return float(np.mean(np.sum(X**2, axis=1)) - (2 * c * alpha - (c * alpha) ** 2) * captured
                 + c**2 * sigma**2 * U.shape[1])


def loss_and_gradient(bases, X, xi, sigma, alpha=1.0, weights=None):
    r"""Sample-average denoising loss over fixed noise draws and its Euclidean gradient in each U_k.

    With :math:`x = \alpha x_0 + \sigma\xi`, :math:`y_k = U_k^\top x`, :math:`r = x_\theta(x) - x_0`,
    :math:`g_k = r^\top U_k y_k`, :math:`\bar g = \sum_j w_j g_j` (differentiating :eq:`lowrank`, with
    :math:`\partial w_k = w_k(\partial a_k - \sum_j w_j\partial a_j)`, :math:`\partial a_k/\partial U_k
    = 2\phi\, x y_k^\top`):

    .. math:: \nabla_{U_k} |r|^2 = 2 c\, w_k \big[r y_k^\top + x (U_k^\top r)^\top
              + 2\phi (g_k - \bar g)\, x y_k^\top\big].

    ``xi`` is (M, N, n); returns (loss, [grad_k (n, d_k)]).
    """
    model = low_rank_denoiser(bases, weights)
    N, n = X.shape
    x0 = np.broadcast_to(X, xi.shape).reshape(-1, n)                  # (M N, n)
    x = alpha * x0 + sigma * xi.reshape(-1, n)                       # (M N, n)
    c = alpha / (alpha**2 + sigma**2)
    phi = alpha**2 / (2 * sigma**2 * (alpha**2 + sigma**2))
    post = model._posterior(x, sigma, alpha)                         # the MoLRG's exact formula
    w = post["weights"]                                              # (B, K)
    r = post["mean"] - x0                                            # (B, n)
    ys = [x @ U for U in model.bases]                                # K x (B, d_k)
    g = np.stack([np.einsum("bd,bd->b", r @ U, y) for U, y in zip(model.bases, ys)], axis=1)  # (B, K)
    gbar = np.sum(w * g, axis=1, keepdims=True)                      # (B, 1)
    B = x.shape[0]
    grads = []
    for k, (U, y) in enumerate(zip(model.bases, ys)):
        a = 2 * c * w[:, k:k + 1] / B                                # (B, 1)
        coef = a * 2 * phi * (g[:, k:k + 1] - gbar)                  # (B, 1)
        grads.append((r * a).T @ y + (x * a).T @ (r @ U) + (x * coef).T @ y)   # (n, d_k)
    return float(np.sum(r**2) / B), grads


# ---------------------------------------------------------------- clustering objective -------------
def clustering_objective(bases, X):
    """Per-point captured energy :math:`\\max_k |U_k^\\top x_i|^2` (N,) and labels (N,)."""
    X = _data(X)
    bs = _bases(bases, dim=X.shape[1])
    energies = np.stack([np.sum((X @ U) ** 2, axis=1) for U in bs])   # (K, N)
    return energies.max(axis=0), energies.argmax(axis=0)


# ---------------------------------------------------------------- K-subspaces ----------------------
def _top_eigvecs(X, masks, d, fill):
    """Top-d principal directions of each masked point set, (R, n, d), batched over R.

    Each restart's cluster is compacted to its m points (padded with zero rows to the largest cluster
    m_max), and the smaller of the Gram (m_max x m_max) and scatter (n x n) eigenproblems is solved.
    Directions the points do not span (a cluster with fewer than d points) are completed from ``fill``
    (R, n, d) - the previous bases - so the iteration is deterministic and cannot oscillate on
    arbitrary completions."""
    R, N = masks.shape
    n = X.shape[1]
    m = int(masks.sum(axis=1).max())
    if m == 0:
        return fill
    order = np.argsort(~masks, axis=1, kind="stable")[:, :m]          # (R, m) members first
    Xc = X[order] * np.take_along_axis(masks, order, axis=1)[..., None]   # (R, m, n)
    if m < n:
        lam, V = np.linalg.eigh(Xc @ Xc.transpose(0, 2, 1))           # (R, m), (R, m, m)
        k = min(d, m)
        top = Xc.transpose(0, 2, 1) @ V[:, :, ::-1][:, :, :k]         # (R, n, k), column norms sqrt(lam)
        if k < d:
            top = np.concatenate([top, np.zeros((R, n, d - k))], axis=2)
        scale = np.sqrt(np.maximum(lam[:, -1], 0.0))[:, None] + 1e-300    # (R, 1)
        # directions the cluster does not span (norm ~ 0) are replaced by ``fill``; QR then makes
        # them orthogonal to the spanned ones
        empty = np.linalg.norm(top, axis=1) <= 1e-8 * scale               # (R, d)
        Q, Rq = np.linalg.qr(np.where(empty[:, None, :], fill, top))
        return Q * np.where(np.diagonal(Rq, axis1=1, axis2=2) < 0, -1.0, 1.0)[:, None, :]
    S = Xc.transpose(0, 2, 1) @ Xc                                    # (R, n, n)
    return np.ascontiguousarray(np.linalg.eigh(S)[1][:, :, ::-1][:, :, :d])


def _greedy_init(X, dims, R, rng):
    """Greedy seeding (nearest-subspace-neighbour growth, Park, Caramanis, Sanghavi 2014), batched over
    R restarts: the clusters are built in a random order (so unequal d_k do not always grab directions
    in the same order); cluster k starts at a random point drawn with probability proportional to its
    energy outside the clusters built so far (k-means++ style), then repeatedly adds the unused point
    with the largest normalised projection onto the current span, until the span has d_k directions."""
    N, n = X.shape
    norms2 = np.sum(X**2, axis=1) + 1e-300                            # (N,)
    used = np.zeros((R, N), dtype=bool)
    residual = np.broadcast_to(norms2, (R, N)).copy()                 # energy outside built clusters
    ar = np.arange(R)
    bases = [None] * len(dims)
    for k in rng.permutation(len(dims)):                              # build order varies between calls
        d = dims[k]
        p = residual / residual.sum(axis=1, keepdims=True)
        seed = (p.cumsum(axis=1) < rng.random((R, 1))).sum(axis=1).clip(max=N - 1)   # (R,) sampled
        Q = np.zeros((R, n, d))
        Q[:, :, 0] = X[seed] / np.sqrt(norms2[seed])[:, None]
        used[ar, seed] = True
        for j in range(1, d):
            proj = X @ Q[:, :, :j]                                    # (R, N, j)
            score = np.sum(proj**2, axis=2) / norms2                  # (R, N) normalised projection
            score[used] = -1.0
            nxt = score.argmax(axis=1)                                # (R,)
            v = X[nxt] - np.einsum("rnj,rj->rn", Q[:, :, :j], proj[ar, nxt])  # Gram-Schmidt
            vn = np.linalg.norm(v, axis=1)
            fresh = rng.standard_normal((R, n))                       # no unused point adds a direction
            fresh -= np.einsum("rnj,rj->rn", Q[:, :, :j], np.einsum("rnj,rn->rj", Q[:, :, :j], fresh))
            ok = (vn > 1e-10 * np.sqrt(norms2[nxt])) & (score[ar, nxt] >= 0)
            v = np.where(ok[:, None], v / np.maximum(vn, 1e-300)[:, None],
                         fresh / np.linalg.norm(fresh, axis=1, keepdims=True))
            Q[:, :, j] = v
            used[ar, nxt] |= ok
        bases[k] = Q
        residual = np.maximum(residual - np.sum((X @ Q) ** 2, axis=2), 0.0) + 1e-300
    return bases


def _ksubspaces_batch(X, dims, R, max_iter, rng):
    """R restarts of K-subspaces at once; returns bases (list over k of (R, n, d_k)), objectives (R,),
    labels (R, N), iterations (R,), converged (R,)."""
    bases = _greedy_init(X, dims, R, rng)
    labels = np.full((R, X.shape[0]), -1)
    iters = np.zeros(R, dtype=int)
    done = np.zeros(R, dtype=bool)
    for it in range(max_iter):
        energies = np.stack([np.sum((X @ U) ** 2, axis=2) for U in bases], axis=1)  # (R, K, N)
        new = energies.argmax(axis=1)                                  # (R, N)
        done = np.all(new == labels, axis=1)
        iters[~done] = it + 1
        if done.all():
            break
        labels = new
        for k, d in enumerate(dims):                                   # loop over components only
            bases[k] = _top_eigvecs(X, labels == k, d, bases[k])
    energies = np.stack([np.sum((X @ U) ** 2, axis=2) for U in bases], axis=1)
    return bases, energies.max(axis=1).mean(axis=1), energies.argmax(axis=1), iters, done


def _fit_ksubspaces(X, dims, restarts, max_iter, patience, rng):
    energy = float(np.mean(np.sum(X**2, axis=1)))
    best, run, stale = None, 0, 0
    while run < restarts:
        R = min(_RESTART_BATCH, restarts - run)
        bases, obj, labels, iters, conv = _ksubspaces_batch(X, dims, R, max_iter, rng)
        run += R
        i = int(np.argmax(obj))
        improved = best is None or obj[i] > best[1] * (1 + _CERTIFICATE_RTOL)
        if best is None or obj[i] > best[1]:
            best = ([b[i] for b in bases], float(obj[i]), labels[i], int(iters[i]), bool(conv[i]))
        if energy - best[1] <= _CERTIFICATE_RTOL * energy:             # global optimum certified
            break
        stale = 0 if improved else stale + 1
        if stale >= patience:                                          # no better optimum lately
            break
    U, obj, labels, iters, conv = best
    return SubspaceFit(tuple(U), obj, energy, labels, iters, conv, run, "ksubspaces")


# ---------------------------------------------------------------- Riemannian gradient --------------
def _project_tangent(U, G):
    """Riemannian gradient on the Stiefel manifold (embedded metric): G - U sym(U^T G)."""
    UtG = U.T @ G
    return G - U @ (UtG + UtG.T) / 2


def _retract(U):
    """QR retraction with a positive diagonal (continuous in U)."""
    Q, R = np.linalg.qr(U)
    return Q * np.sign(np.diag(R))


def _descend(bases, X, xi, sigma, alpha, weights, max_iter, gtol):
    """Riemannian gradient descent at one noise level: Barzilai-Borwein trial steps (alternating the
    two BB formulas, differences taken in the ambient space) safeguarded by Armijo backtracking, so
    the loss decreases monotonically.  Stops when |grad| <= gtol * (data energy)."""
    loss, grads = loss_and_gradient(bases, X, xi, sigma, alpha, weights)
    rg = [_project_tangent(U, G) for U, G in zip(bases, grads)]
    step, energy = 1.0, max(float(np.mean(np.sum(X**2, axis=1))), 1e-300)
    for it in range(1, max_iter + 1):
        gnorm2 = sum(float(np.sum(g**2)) for g in rg)
        if np.sqrt(gnorm2) <= gtol * energy:
            return bases, loss, np.sqrt(gnorm2), it - 1, True
        while True:                                                    # Armijo backtracking
            trial = [_retract(U - step * g) for U, g in zip(bases, rg)]
            new_loss, new_grads = loss_and_gradient(trial, X, xi, sigma, alpha, weights)
            if new_loss <= loss - 1e-4 * step * gnorm2 or step < 1e-14:
                break
            step /= 2.0
        if step < 1e-14:                                               # no descent possible: stalled
            return bases, loss, np.sqrt(gnorm2), it, False
        new_rg = [_project_tangent(U, G) for U, G in zip(trial, new_grads)]
        s_dot_s = sum(float(np.sum((Un - U) ** 2)) for Un, U in zip(trial, bases))
        s_dot_y = sum(float(np.sum((Un - U) * (gn - g))) for Un, U, gn, g in zip(trial, bases, new_rg, rg))
        y_dot_y = sum(float(np.sum((gn - g) ** 2)) for gn, g in zip(new_rg, rg))
        if s_dot_y > 0:                                                # BB1 / BB2 alternately
            step = s_dot_s / s_dot_y if it % 2 else s_dot_y / max(y_dot_y, 1e-300)
        else:
            step *= 2.0
        bases, loss, rg = trial, new_loss, new_rg
    gnorm = np.sqrt(sum(float(np.sum(g**2)) for g in rg))
    return bases, loss, gnorm, max_iter, bool(gnorm <= gtol * energy)


def _fit_gradient(X, dims, restarts, max_iter, rng, schedule, times, n_noise, gtol, weights, init):
    N, n = X.shape
    levels = _noise_levels(schedule, times, X, dims, anneal_from=10.0 if init == "random" else 1.0)
    energy = float(np.mean(np.sum(X**2, axis=1)))
    xis = [whitened_antithetic_noise(n_noise, N, n, rng) for _ in levels]   # fixed draws per level
    best = None
    for _ in range(restarts):
        if not isinstance(init, str):                                  # given starting bases
            bases = [U.copy() for U in init]
        elif init == "greedy":                                         # best of a batch of greedy seeds
            seeds = _greedy_init(X, dims, _RESTART_BATCH, rng)
            captured = np.stack([np.sum((X @ U) ** 2, axis=2) for U in seeds], axis=1).max(axis=1).sum(axis=1)
            i = int(np.argmax(captured))
            bases = [b[i] for b in seeds]
        else:                                                          # uniform on the Stiefel manifold
            bases = [np.linalg.qr(rng.standard_normal((n, d)))[0] for d in dims]
        total = 0
        for (sigma, alpha), xi in zip(levels, xis):                    # anneal: high -> low noise
            bases, loss, gnorm, it, ok = _descend(bases, X, xi, sigma, alpha, weights, max_iter, gtol)
            total += it
        conv = ok                                                      # judged at the final level
        captured, labels = clustering_objective(bases, X)
        if best is None or loss < best.loss:
            best = SubspaceFit(tuple(bases), float(captured.mean()), energy, labels, total, conv,
                               restarts, "gradient", float(loss), float(gnorm),
                               (float(levels[-1][0]), float(levels[-1][1])))
    return best


# ---------------------------------------------------------------- public trainer -------------------
def fit_subspaces(X, n_components, dims, method="ksubspaces", rng=None, *, restarts=None, max_iter=None,
                  patience=None, schedule=None, times=None, n_noise=8, gtol=1e-5, weights=None,
                  init="greedy") -> SubspaceFit:
    """Train the low-rank denoiser on ``X``: fit K subspaces of dimensions ``dims``.

    Parameters
    ----------
    X : (N, n) training set.
    n_components : K >= 1.
    dims : d_k (one int for all, or K ints).
    method : ``"ksubspaces"`` (alternating assignment / per-cluster PCA from greedy seeds, in batches
        of 8 restarts; default at most 64 restarts, max_iter 100; stops when the noiseless certificate
        objective = energy holds or after ``patience`` (default 2) batches without improvement; unequal
        d_k have more local optima: raise ``patience``) or
        ``"gradient"`` (Riemannian gradient descent on the denoising loss with soft weights,
        annealed over the noise levels of ``schedule`` at ``times``; default restarts 3, max_iter 500
        per level, ``n_noise`` antithetic whitened noise draws per point, stop when the Riemannian
        gradient norm <= ``gtol`` times the data energy).
    rng : Generator or seed.
    weights : mixing weights pi_k of the soft weights (``"gradient"``; default uniform).
    init : ``"gradient"`` starting point: ``"greedy"`` (the best, by captured energy, of 8 greedy seeds
        of the K-subspaces seeding, without K-subspaces iterations; annealed over noise
        levels 1 .. 0.03 times the data scale) or ``"random"`` (uniform on the Stiefel manifold; annealed
        from 10 times the data scale, where the soft weights are nearly uniform) or a list of K starting
        bases (one run, annealed like ``"greedy"``; e.g. a K-subspaces solution, to test stationarity).

    Returns
    -------
    SubspaceFit : bases, objective (captured energy), iterations, converged, restarts, ...

    For K = 1 both methods return the top-d principal subspace (the loss is PCA at every noise level).
    """
    X = _data(X)
    N, n = X.shape
    K = integer(n_components, "n_components", minimum=1)
    ds = _dims(dims, K, n)
    rng = as_generator(rng)
    if method == "ksubspaces":
        restarts = 1 if K == 1 else integer(64 if restarts is None else restarts, "restarts", minimum=1)
        max_iter = integer(100 if max_iter is None else max_iter, "max_iter", minimum=1)
        patience = integer(2 if patience is None else patience, "patience", minimum=1)
        return _fit_ksubspaces(X, ds, restarts, max_iter, patience, rng)
    if method == "gradient":
        restarts = integer(3 if restarts is None else restarts, "restarts", minimum=1)
        max_iter = integer(500 if max_iter is None else max_iter, "max_iter", minimum=1)
        n_noise = integer(n_noise, "n_noise", minimum=1)
        gtol = scalar(gtol, "gtol", positive=True)
        if weights is not None:
            weights = np.asarray(weights, dtype=float)
        if isinstance(init, str):
            if init not in ("greedy", "random"):
                raise SpectralTheoryError(f"`init` must be 'greedy', 'random' or a list of bases; got {init!r}")
        else:
            init = _bases(init, "init", dim=n)
            if [U.shape[1] for U in init] != ds:
                raise SpectralTheoryError(f"`init` bases must have dims {ds}; got {[U.shape[1] for U in init]}")
            init = [_retract(U) for U in init]
            restarts = 1
        return _fit_gradient(X, ds, restarts, max_iter, rng, schedule, times, n_noise, gtol, weights, init)
    raise SpectralTheoryError(f"`method` must be 'ksubspaces' or 'gradient'; got {method!r}")


# ---------------------------------------------------------------- recovery and rank ----------------
def recovery_error(bases_hat, bases_true, threshold=SUCCESS_THRESHOLD) -> Recovery:
    r"""Subspace recovery error after optimal matching of components.

    The distance between components is :math:`|P_{\hat U} - P_U|_F / \sqrt{\hat d + d}`
    (:math:`|P_{\hat U} - P_U|_F^2 = \hat d + d - 2|\hat U^\top U|_F^2 = |U - P_{\hat U}U|_F^2 +
    |\hat U - P_U\hat U|_F^2`, evaluated in the second form to avoid cancellation; equal dims: the paper's
    :math:`/\sqrt{2d}`), in [0, 1]; the matching minimises the summed distance
    (``scipy.optimize.linear_sum_assignment``).  Success: every matched distance < ``threshold``.
    """
    true = _bases(bases_true, "bases_true")
    hat = _bases(bases_hat, "bases_hat", dim=true[0].shape[0])
    if len(hat) != len(true):
        raise SpectralTheoryError(f"`bases_hat` has {len(hat)} components, `bases_true` {len(true)}")
    threshold = scalar(threshold, "threshold", positive=True)
    dist = np.empty((len(true), len(hat)))
    for k, U in enumerate(true):
        for j, V in enumerate(hat):
            # d + d' - 2|V^T U|_F^2 written as two residual norms: no cancellation for close subspaces
            sq = np.sum((U - V @ (V.T @ U)) ** 2) + np.sum((V - U @ (U.T @ V)) ** 2)
            dist[k, j] = np.sqrt(sq / (U.shape[1] + V.shape[1]))
    rows, cols = linear_sum_assignment(dist)
    errors = dist[rows, cols]
    return Recovery(errors, cols, float(errors.max()), bool(np.all(errors < threshold)), threshold)


def numerical_rank(matrix, energy=0.99):
    r"""Numerical rank by the energy rule of Wang et al.: the smallest r with
    :math:`\sqrt{\sum_{i \le r} s_i^2} > \text{energy} \cdot \sqrt{\sum_i s_i^2}` over the singular values
    in decreasing order.  ``matrix`` (m, p) or a batch (B, m, p); returns an int or (B,) ints (0 for a
    zero matrix)."""
    A = array(matrix, "matrix", ndim=(2, 3))
    energy = scalar(energy, "energy", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    s2 = np.linalg.svd(A, compute_uv=False) ** 2                        # (..., min(m, p)) decreasing
    cum = np.sqrt(np.cumsum(s2, axis=-1))
    total = cum[..., -1:]
    rank = np.sum(cum <= energy * total, axis=-1) + 1
    rank = np.where(total[..., 0] > 0, rank, 0)
    return int(rank) if A.ndim == 2 else rank.astype(int)
