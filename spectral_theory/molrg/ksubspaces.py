r"""K-subspaces (Bradley & Mangasarian 2000): subspace clustering, the small-noise limit of the loss.

Alternate the hard assignment :math:`k(i) = \arg\max_k |U_k^\top x_i|^2` and per-cluster PCA from
greedy seeds, vectorised over restarts (batched ``eigh``); keep the best objective
:math:`\frac1N\sum_i \max_k |U_k^\top x_i|^2` (:func:`clustering_objective`).
"""
from __future__ import annotations

import numpy as np

from ._inputs import _bases, _data
from .subspaces import SubspaceFit

_CERTIFICATE_RTOL = 1e-9         # noiseless data: unexplained energy below this fraction = global optimum
_RESTART_BATCH = 8               # K-subspaces restarts run together (one batched eigh per cluster)


def clustering_objective(bases, X):
    """Per-point captured energy :math:`\\max_k |U_k^\\top x_i|^2` (N,) and labels (N,)."""
    X = _data(X)
    bs = _bases(bases, dim=X.shape[1])
    energies = np.stack([np.sum((X @ U) ** 2, axis=1) for U in bs])   # (K, N)
    return energies.max(axis=0), energies.argmax(axis=0)



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


__all__ = ["clustering_objective"]
