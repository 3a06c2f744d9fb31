r"""Metrics of the hidden-Gaussian-structure paper: linearity, score-field distance, memorization.

Definitions (Li, Dai, Qu, arXiv 2410.24060; project notes theory/gaussian.md):

* **linearity score** of a denoiser at noise :math:`\sigma`, over pairs of noisy training points
  :math:`x_{1,2} = y_{1,2} + \sigma\xi_{1,2}` and :math:`a = b = 1/\sqrt2`:
  :math:`\mathrm{LS} = \mathbb E\,|\cos(D(a x_1 + b x_2),\; a D(x_1) + b D(x_2))|`.  An affine
  :math:`D = Wx + c` scores 1 exactly only if :math:`c = 0`; its defect comes from :math:`(1-a-b)c`.
* **score-field distance** between denoisers over noisy inputs :math:`x`:
  :math:`\mathbb E\sqrt{|D_1(x) - D_2(x)|^2/d}` (a root mean square per coordinate), and the normalised
  variant :math:`\mathbb E\,|D_1 - D_2|/|D_1|`.
* **generalization score** (GL): :math:`\mathbb E_x |x - \mathrm{NN}_{\rm train}(x)|/|x|` over
  generated samples; above 0.6 the paper calls the model generalizing.
* **nearest-neighbour ratio** :math:`d(x, \mathrm{NN}_1)/d(x, \mathrm{NN}_2)`; below 1/3 a sample
  counts as a memorized copy (Carlini et al. 2023; Yoon et al. 2023).
* **weight similarity** of two linear maps: normalised Frobenius distance and Frobenius cosine.

Nearest neighbours (:func:`nearest_neighbors`) are found in blocks: the squared distances of a
(samples-block x train-block) tile come from one matrix product (BLAS-3), only the running best
``k + 2`` candidates per sample are kept, and the survivors' distances are recomputed exactly as
:math:`|x - y|` (the expanded square loses relative accuracy exactly when a sample nearly copies a
training point, which is the case the memorization test must get right).  The working set is
O(block_rows x block_cols), never O(n x N x D): N = 50,000 training points in D = 3,072 cost one
tile of a few tens of MB besides the data themselves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import SpectralTheoryError, allocation, array, as_generator, integer, scalar

__all__ = ["NearestNeighbors", "nearest_neighbors", "GeneralizationScore", "generalization_score",
           "NNRatio", "nn_ratio", "LinearityScore", "linearity_score", "FieldDistance",
           "score_field_distance", "WeightSimilarity", "weight_similarity", "GL_THRESHOLD",
           "MEMORIZATION_RATIO"]

#: generalization-score threshold above which the paper calls samples new (arXiv 2410.24060)
GL_THRESHOLD = 0.6
#: d(NN1)/d(NN2) below this marks a memorized sample (Carlini et al., arXiv 2301.13188)
MEMORIZATION_RATIO = 1.0 / 3.0
# float64 entries of one (samples-block, train-block) tile of squared distances
_TILE_ENTRIES = 2**22


def _stderr(v: np.ndarray) -> float:
    """Standard error of the mean; a single value carries no spread information: +inf (a check built on
    it can only be inconclusive), never NaN."""
    return float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("inf")


def _pair(samples, train):
    X = array(samples, "samples", ndim=(1, 2))
    X = X[None, :] if X.ndim == 1 else X
    Y = array(train, "train", ndim=2)
    if X.shape[1] != Y.shape[1]:
        raise SpectralTheoryError(f"`samples` and `train` must have the same dimension; got {X.shape[1]} and {Y.shape[1]}")
    return X, Y


# ---- nearest neighbours ----------------------------------------------------------------------
@dataclass(frozen=True)
class NearestNeighbors:
    """The ``k`` nearest training points of each sample: ``indices`` (n, k) and exact Euclidean
    ``distances`` (n, k), increasing along each row."""

    indices: np.ndarray
    distances: np.ndarray


def nearest_neighbors(samples, train, k=1, block_rows=None, block_cols=None) -> NearestNeighbors:
    r"""Exact k nearest neighbours (Euclidean) of each row of ``samples`` among the rows of ``train``.

    Blocked: tiles of :math:`|x|^2 - 2x\cdot y + |y|^2` from one matrix product each; the best
    ``k + 2`` candidates per row survive each tile and their distances are recomputed exactly at the
    end (see the module docstring).  Memory O(``block_rows`` x train-block + n x k).

    Parameters
    ----------
    samples : (n, D) or (D,) query points.
    train : (N, D) reference points, N >= k.
    k : number of neighbours.
    block_rows, block_cols : rows of ``samples`` and of ``train`` per tile (default: tiles of about
        2^22 entries, at most 16,384 training rows).
    """
    X, Y = _pair(samples, train)
    k = integer(k, "k", minimum=1, maximum=Y.shape[0])
    n, N = X.shape[0], Y.shape[0]
    keep = min(k + 2, N)
    cols = min(N, integer(block_cols, "block_cols", minimum=1) if block_cols is not None else _TILE_ENTRIES // 256)
    rows = integer(block_rows, "block_rows", minimum=1) if block_rows is not None else max(1, _TILE_ENTRIES // cols)
    # the survivors (indices, exact distances, their order and the gathered results: (n, k + 2) each) ...
    allocation(8 * 4 * n * keep, "k", k, f"{n} x {keep} nearest-neighbour candidates")
    # ... and a tile: the product, its scaling, the distances and their partition (rows x cols each)
    allocation(8 * 5 * min(rows, n) * cols, "block_rows", rows, f"tiles of {min(rows, n)} x {cols} distances")
    y_sq = np.einsum("nd,nd->n", Y, Y)
    best_idx = np.empty((n, keep), dtype=np.int64)
    for r0 in range(0, n, rows):
        x = X[r0:r0 + rows]
        x_sq = np.einsum("bd,bd->b", x, x)
        cand_d = np.full((x.shape[0], 0), np.inf)
        cand_i = np.empty((x.shape[0], 0), dtype=np.int64)
        for c0 in range(0, N, cols):
            d2 = x_sq[:, None] - 2.0 * (x @ Y[c0:c0 + cols].T) + y_sq[c0:c0 + cols]   # (b, c)
            m = min(keep, d2.shape[1])
            part = np.argpartition(d2, m - 1, axis=1)[:, :m] if m < d2.shape[1] else np.broadcast_to(np.arange(d2.shape[1]), d2.shape)
            cand_d = np.concatenate([cand_d, np.take_along_axis(d2, part, axis=1)], axis=1)
            cand_i = np.concatenate([cand_i, part + c0], axis=1)
            if cand_d.shape[1] > keep:
                sel = np.argpartition(cand_d, keep - 1, axis=1)[:, :keep]
                cand_d = np.take_along_axis(cand_d, sel, axis=1)
                cand_i = np.take_along_axis(cand_i, sel, axis=1)
        best_idx[r0:r0 + rows] = cand_i
    # exact distances of the survivors: (n, keep, D) would be large for big n, so per candidate column
    exact = np.empty((n, keep))
    for j in range(keep):
        diff = X - Y[best_idx[:, j]]
        exact[:, j] = np.sqrt(np.einsum("nd,nd->n", diff, diff))
    order = np.argsort(exact, axis=1, kind="stable")[:, :k]
    return NearestNeighbors(np.take_along_axis(best_idx, order, axis=1), np.take_along_axis(exact, order, axis=1))


# ---- memorization / generalization -----------------------------------------------------------
@dataclass(frozen=True)
class GeneralizationScore:
    r"""GL score :math:`\mathbb E|x - \mathrm{NN}(x)|/|x|` with its standard error, the per-sample
    values, and whether it exceeds the threshold (0.6 in the paper)."""

    score: float
    stderr: float
    per_sample: np.ndarray
    threshold: float

    @property
    def generalizes(self) -> bool:
        return self.score > self.threshold


def generalization_score(samples, train, threshold=GL_THRESHOLD) -> GeneralizationScore:
    r"""Generalization score of generated ``samples`` (n, D) against the training set ``train`` (N, D):
    the mean over samples of :math:`|x - \mathrm{NN}_{\rm train}(x)| / |x|` (Li, Dai, Qu,
    arXiv 2410.24060, who use n = 100 samples and call the model generalizing above 0.6)."""
    X, Y = _pair(samples, train)
    norms = np.linalg.norm(X, axis=1)
    if np.any(norms == 0):
        raise SpectralTheoryError("`samples` contains a zero vector: the generalization score divides by |x|")
    per = nearest_neighbors(X, Y, k=1).distances[:, 0] / norms
    return GeneralizationScore(float(per.mean()), _stderr(per), per, scalar(threshold, "threshold", positive=True))


@dataclass(frozen=True)
class NNRatio:
    r"""Nearest-neighbour ratio test: ``ratios`` :math:`d(x,\mathrm{NN}_1)/d(x,\mathrm{NN}_2)` (n,),
    the ``memorized_fraction`` (ratio below ``threshold``) with its binomial standard error, and the
    nearest training ``indices`` (n,)."""

    ratios: np.ndarray
    memorized_fraction: float
    stderr: float
    threshold: float
    indices: np.ndarray

    @property
    def memorized(self) -> np.ndarray:
        return self.ratios < self.threshold


def nn_ratio(samples, train, threshold=MEMORIZATION_RATIO) -> NNRatio:
    r"""Memorization test: a sample counts as a copy of its nearest training point when
    :math:`d(x, \mathrm{NN}_1) < \text{threshold} \cdot d(x, \mathrm{NN}_2)` (threshold 1/3, Carlini et
    al., arXiv 2301.13188).  ``train`` needs at least 2 points; a sample equidistant from two
    coincident training points has ratio 1 (0/0 is taken as 1: not a copy of a unique point)."""
    X, Y = _pair(samples, train)
    if Y.shape[0] < 2:
        raise SpectralTheoryError(f"`train` needs at least 2 points for the nearest-neighbour ratio; got {Y.shape[0]}")
    t = scalar(threshold, "threshold", positive=True)
    nn = nearest_neighbors(X, Y, k=2)
    d1, d2 = nn.distances[:, 0], nn.distances[:, 1]
    ratios = np.divide(d1, d2, out=np.ones_like(d1), where=d2 > 0)
    mem = ratios < t
    p = float(mem.mean())
    return NNRatio(ratios, p, float(np.sqrt(p * (1 - p) / mem.size)), t, nn.indices[:, 0])


# ---- denoiser-field metrics -----------------------------------------------------------------
def _denoiser(denoiser, name="denoiser"):
    """A callable (x, sigma) -> D(x) from a model (``.denoise``) or a callable with the model signature."""
    f = getattr(denoiser, "denoise", denoiser)
    if not callable(f):
        raise SpectralTheoryError(f"`{name}` must be a model with .denoise or a callable denoise(x, sigma, alpha)")
    return lambda x, s: np.asarray(f(x, s, 1.0), dtype=np.float64)


def _cos(u, v):
    nu, nv = np.linalg.norm(u, axis=1), np.linalg.norm(v, axis=1)
    return np.einsum("bd,bd->b", u, v) / np.where(nu * nv > 0, nu * nv, 1.0)


@dataclass(frozen=True)
class LinearityScore:
    """Linearity score ``score`` (mean ``|cos|`` over pairs) with ``stderr`` and the ``per_pair`` values."""

    score: float
    stderr: float
    per_pair: np.ndarray
    sigma: float


def linearity_score(denoiser, x, sigma, rng=None, n_pairs=None, a=2**-0.5, b=2**-0.5) -> LinearityScore:
    r"""Linearity score of ``denoiser`` at noise ``sigma`` (VE, alpha = 1):
    :math:`\mathbb E\,|\cos(D(a x_1 + b x_2), a D(x_1) + b D(x_2))|`, :math:`x_i = y_i + \sigma\xi_i`.

    Parameters
    ----------
    denoiser : a model (its ``denoise``) or a callable ``denoise(x, sigma, alpha)``.
    x : (N, D) clean training points y; pairs are drawn from them (without replacement inside a pair).
    sigma : noise level > 0.
    rng : Generator or seed (pairs and noise).
    n_pairs : number of pairs (default N // 2, disjoint pairs of a random permutation).
    a, b : the mixing coefficients (1/sqrt 2 each in the paper).
    """
    f = _denoiser(denoiser)
    Y = array(x, "x", ndim=2)
    if Y.shape[0] < 2:
        raise SpectralTheoryError(f"`x` needs at least 2 points to form pairs; got {Y.shape[0]}")
    s = scalar(sigma, "sigma", positive=True)
    a, b = scalar(a, "a"), scalar(b, "b")
    rng = as_generator(rng)
    if n_pairs is None:
        perm = rng.permutation(Y.shape[0])[: 2 * (Y.shape[0] // 2)]
        i, j = perm[0::2], perm[1::2]
    else:
        m = integer(n_pairs, "n_pairs", minimum=1)
        # per pair: the indices, two noisy inputs, their noise and mixture, three denoiser outputs and their sum
        allocation(8 * m * (10 * Y.shape[1] + 4), "n_pairs", m, f"{m} pairs of {Y.shape[1]}-dimensional inputs")
        i = rng.integers(0, Y.shape[0], m)
        j = (i + rng.integers(1, Y.shape[0], m)) % Y.shape[0]              # j != i
    x1 = Y[i] + s * rng.standard_normal((i.size, Y.shape[1]))
    x2 = Y[j] + s * rng.standard_normal((j.size, Y.shape[1]))
    per = np.abs(_cos(f(a * x1 + b * x2, s), a * f(x1, s) + b * f(x2, s)))
    return LinearityScore(float(per.mean()), _stderr(per), per, s)


@dataclass(frozen=True)
class FieldDistance:
    r"""Distance between two denoiser fields over a batch of inputs.

    ``rmse`` = mean of :math:`\sqrt{|D_1 - D_2|^2/d}` (the paper's score-field distance) and its
    ``rmse_stderr``; ``mse`` = mean of :math:`|D_1 - D_2|^2/d` and ``mse_stderr`` (what closed-form
    predictions are naturally about); ``normalised`` = mean of :math:`|D_1 - D_2|/|D_1|`."""

    rmse: float
    rmse_stderr: float
    mse: float
    mse_stderr: float
    normalised: float
    normalised_stderr: float


def score_field_distance(d1, d2, x, sigma) -> FieldDistance:
    r"""Score-field distance between denoisers ``d1`` and ``d2`` (models or callables
    ``denoise(x, sigma, alpha)``) at the noisy inputs ``x`` (B, D) and noise level ``sigma``:
    :math:`\mathbb E\sqrt{|D_1(x) - D_2(x)|^2/d}` and the normalised :math:`\mathbb E|D_1 - D_2|/|D_1|`
    (arXiv 2410.24060; equivalently a distance between scores, :math:`s_1 - s_2 = (D_1 - D_2)/\sigma^2`)."""
    X = array(x, "x", ndim=2)
    s = scalar(sigma, "sigma", positive=True)
    D1, D2 = _denoiser(d1, "d1")(X, s), _denoiser(d2, "d2")(X, s)
    if D1.shape != X.shape or D2.shape != X.shape:
        raise SpectralTheoryError(f"denoiser outputs must have the shape of `x` {X.shape}; got {D1.shape} and {D2.shape}")
    sq = np.einsum("bd,bd->b", D1 - D2, D1 - D2) / X.shape[1]
    n1 = np.linalg.norm(D1, axis=1)
    dist = np.sqrt(sq * X.shape[1])
    # |D1| = 0: the relative distance is infinite (or 0 where D2 = D1 = 0), never NaN
    normalised = np.divide(dist, n1, out=np.where(dist > 0, np.inf, 0.0), where=n1 > 0)
    rmse = np.sqrt(sq)
    return FieldDistance(float(rmse.mean()), _stderr(rmse), float(sq.mean()), _stderr(sq),
                         float(np.mean(normalised)), _stderr(normalised))


@dataclass(frozen=True)
class WeightSimilarity:
    r"""``relative_distance`` :math:`|W_1 - W_2|_F/|W_2|_F` and ``cosine``
    :math:`\langle W_1, W_2\rangle_F/(|W_1|_F |W_2|_F)`."""

    relative_distance: float
    cosine: float


def weight_similarity(W, W_ref) -> WeightSimilarity:
    r"""Similarity of two linear maps (e.g. a distilled denoiser's weights and the Wiener filter):
    the normalised Frobenius distance :math:`|W - W_{\rm ref}|_F/|W_{\rm ref}|_F` and the Frobenius
    cosine."""
    A = array(W, "W", ndim=2)
    B = array(W_ref, "W_ref", ndim=2)
    if A.shape != B.shape:
        raise SpectralTheoryError(f"`W` and `W_ref` must have the same shape; got {A.shape} and {B.shape}")
    nb, na = np.linalg.norm(B), np.linalg.norm(A)
    if nb == 0 or na == 0:
        raise SpectralTheoryError("`W` and `W_ref` must be nonzero")
    return WeightSimilarity(float(np.linalg.norm(A - B) / nb), float(np.sum(A * B) / (na * nb)))
