"""Recovery of fitted subspaces (Hungarian matching, the paper's success criterion) and numerical rank."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..checks import SpectralTheoryError, array, integer, scalar
from ._inputs import _bases

SUCCESS_THRESHOLD = 0.1          # the paper's |P_hat - P|_F / sqrt(2 d) criterion


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


@dataclass(frozen=True)
class SampleComplexity:
    """Samples per component for subspace recovery from noiseless MoLRG data (:func:`sample_complexity`).

    ``necessary[k]``: below it component k cannot be recovered; ``sufficient[k]``: from it the global
    optimum of the training objective is unique and recovers every component; between the two the optimum
    is not unique (ties).  ``ambient_dim`` is the n the counts do *not* depend on.
    """

    necessary: np.ndarray
    sufficient: np.ndarray
    ambient_dim: int


def sample_complexity(ambient_dim, dims) -> SampleComplexity:
    r"""Training samples per component at which the low-rank denoiser's global optimum recovers the
    subspaces of a mixture of low-rank Gaussians (Wang, Zhang, Zhang, Chen, Ma, Qu, arXiv 2409.02426,
    Sec. 3: the sample complexity is linear in the intrinsic dimensions, not in the ambient one).

    With :math:`N_k` noiseless samples of component k in general position (the subspaces independent,
    e.g. orthogonal) and the small-noise objective :math:`\max_{U_1..U_K}\sum_i\max_k|U_k^\top x_i|^2`
    (subspace clustering, the module docstring):

    .. math::
       N_k^{\rm nec} = d_k, \qquad N_k^{\rm suff} = d_k + [K > 1].

    Below :math:`d_k` points the data do not span :math:`U_k`, so no fit determines it.  For K = 1 the
    top-:math:`d_k` principal subspace of :math:`N \ge d` points is :math:`U`.  For K > 1 a
    :math:`d`-dimensional subspace :math:`V \ne U_k` holds at most :math:`\dim(V\cap U_k) < d_k` generic
    points of component k and at most :math:`d` points of all components together
    (:math:`\sum_k \dim(V \cap U_k) \le d` for independent subspaces), so wrong subspaces cannot cover
    :math:`N_k \ge d_k + 1` points per component and the optimum (every point covered) is the truth; at
    :math:`N_k = d_k` any split into groups of :math:`d_k` points is covered, so the optimum is not unique.
    (Project notes theory/molrg.md.)

    Parameters
    ----------
    ambient_dim : n >= 1, the ambient dimension (checked against, never used by, the counts).
    dims : (K,) intrinsic dimensions d_k >= 1 with sum_k d_k <= n (independent subspaces).

    Returns
    -------
    SampleComplexity
        ``necessary`` and ``sufficient`` (K,) ints.
    """
    n = integer(ambient_dim, "ambient_dim", minimum=1)
    ds = np.atleast_1d(np.asarray(dims))
    if ds.ndim != 1 or ds.size == 0:
        raise SpectralTheoryError(f"`dims` must be a non-empty sequence of intrinsic dimensions; got shape {ds.shape}")
    ds = np.array([integer(d, f"dims[{k}]", minimum=1, maximum=n) for k, d in enumerate(ds)])
    if ds.sum() > n:
        raise SpectralTheoryError(f"`dims` sum to {ds.sum()} > ambient_dim = {n}: the counts hold for independent "
                                  "subspaces (sum d_k <= n)")
    return SampleComplexity(ds.copy(), ds + int(ds.size > 1), n)


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


__all__ = ["SUCCESS_THRESHOLD", "Recovery", "recovery_error", "SampleComplexity", "sample_complexity", "numerical_rank"]
