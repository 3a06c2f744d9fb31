r"""Linear denoisers learned from noisy samples, and linear diffusion as power iteration.

Setting (``theory/spiked.md``; Weitzner, Delbracio, Milanfar, Giryes, arXiv 2410.14730): rank-k data
:math:`x_0 = \sum_i \sqrt{\lambda_i} z_i u_i` in :math:`\mathbb R^D`, N training samples observed at VE
noise variance s (the parameter ``tau``; written s in this module's formulas), :math:`x = x_0 + \sqrt s\, n`,
aspect ratio :math:`\gamma = D/N`.  Two linear denoisers are built from the top-k eigenpairs
:math:`(\hat\mu_i, \hat u_i)` of the (uncentred, zero-mean model) sample covariance :math:`\frac1N X^\top X`:

* the **PCA projection** :math:`P_s = \sum_{i\le k} \hat u_i \hat u_i^\top` (the paper's denoiser);
* the **empirical Wiener shrinkage** :math:`W_s = \sum_{i\le k} w_i \hat u_i \hat u_i^\top` with
  :math:`w_i = \hat\lambda_i/(\hat\lambda_i + s)` and the plug-in :math:`\hat\lambda_i = (\hat\mu_i - s)_+`
  or the de-biased :math:`\hat\lambda_i = s\,\ell(\hat\mu_i/s)` (:func:`spiked.spike_from_eigenvalue`).

By rotation invariance of the noise their mean over training sets is diagonal in the true basis:
:math:`E[P_s] = \sum_i c_i u_i u_i^\top + b\,(I - UU^\top)`, with :math:`c_i \to` overlap(:math:`\lambda_i/s`)
and b fixed by the trace (:func:`mean_projection`).  A reverse process that applies an *independently
trained* denoiser at each step, :math:`x_{t-1} = P_{s_t} x_t`, has mean output
:math:`\prod_t E[P_{s_t}]\, x_T`: component i is multiplied by :math:`\prod_t c_i(s_t)`.  Because the
overlap grows with :math:`\lambda`, the normalised mean converges to the leading eigenvector, as power
iteration does, with per-step contraction :math:`c_j/c_1 \approx 1 - \gamma s (1/\lambda_j - 1/\lambda_1)`
(derivation ``derivations.derive("spiked_power_iteration")``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from . import spiked
from .checks import SpectralTheoryError, allocation, array, integer, scalar
from .parameters import check, renamed, renamed_attribute


# ---------------------------------------------------------------------------------------------
# Denoisers from data
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LinearDenoiser:
    """A symmetric linear denoiser :math:`\\sum_i w_i \\hat u_i \\hat u_i^\\top` (``matrix`` D x D).

    Attributes: ``weights`` (k,), ``eigenvectors`` (D, k) of the noisy sample covariance,
    ``sample_eigenvalues`` (k,) of :math:`\\frac1N X^\\top X`, ``kind`` ("projection" or "wiener")."""

    weights: np.ndarray
    eigenvectors: np.ndarray
    sample_eigenvalues: np.ndarray
    kind: str

    @property
    def matrix(self) -> np.ndarray:
        return (self.eigenvectors * self.weights) @ self.eigenvectors.T

    def __call__(self, x):
        """Apply to a point (D,) or batch (B, D) without forming the D x D matrix."""
        x = np.asarray(x, dtype=np.float64)
        return ((x @ self.eigenvectors) * self.weights) @ self.eigenvectors.T


def top_eigenpairs(X, rank):
    r"""Top ``rank`` eigenpairs of :math:`\frac1N X^\top X` for X (N, D), from the smaller Gram matrix.

    Returns (eigenvalues (k,) decreasing, eigenvectors (D, k) orthonormal)."""
    X = array(X, "X", ndim=2)
    N, D = X.shape
    k = integer(rank, "rank", minimum=1, maximum=min(N, D))
    if D <= N:
        G = X.T @ X / N
        vals, vecs = scipy.linalg.eigh(G, subset_by_index=(D - k, D - 1))
    else:  # gamma > 1: the nonzero spectrum of X^T X / N is that of X X^T / N
        G = X @ X.T / N
        vals, left = scipy.linalg.eigh(G, subset_by_index=(N - k, N - 1))
        vecs = X.T @ left / np.sqrt(N * np.maximum(vals, np.finfo(float).tiny))
    order = np.argsort(vals)[::-1]
    return vals[order], vecs[:, order]


def pca_projection(X, rank) -> LinearDenoiser:
    r"""Rank-k PCA projection :math:`P = \hat U\hat U^\top` of the noisy samples X (N, D)."""
    vals, vecs = top_eigenpairs(X, rank)
    return LinearDenoiser(np.ones(vals.size), vecs, vals, "projection")


@renamed(noise="tau")
def wiener_shrinkage(X, tau, rank, debias=False) -> LinearDenoiser:
    r"""Empirical Wiener filter :math:`\sum_i \hat\lambda_i/(\hat\lambda_i + s)\,\hat u_i\hat u_i^\top`.

    ``debias=False``: plug-in :math:`\hat\lambda_i = (\hat\mu_i - s)_+`.  ``debias=True``: the spike
    consistent estimate :math:`\hat\lambda_i = s\,\ell(\hat\mu_i/s)` inverting the BBP eigenvalue map,
    0 for eigenvalues inside the Marchenko-Pastur bulk (aspect :math:`\gamma = D/N` from X's shape).
    """
    X = array(X, "X", ndim=2)
    s = check("tau", tau, scalar_only=True)
    vals, vecs = top_eigenpairs(X, rank)
    lam = _spike_estimates(vals, s, X.shape[1] / X.shape[0], debias)
    return LinearDenoiser(lam / (lam + s), vecs, vals, "wiener")


def _spike_estimates(mu, s, gamma, debias):
    if not debias:
        return np.maximum(mu - s, 0.0)
    edge = s * (1 + np.sqrt(gamma)) ** 2
    out = np.zeros_like(mu)
    above = mu > edge
    if np.any(above):
        out[above] = s * np.asarray(spiked.spike_from_eigenvalue(mu[above] / s, gamma))
    return out


# ---------------------------------------------------------------------------------------------
# Predicted mean operators
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeanOperator:
    r"""Predicted mean of a linear denoiser over training sets, diagonal in the true basis:
    :math:`\sum_i c_i u_i u_i^\top + b (I - UU^\top)`.

    ``diagonal`` (k,) are the :math:`c_i`, ``off_support`` is b; ``tau``, ``aspect``, ``dim``, ``kind``
    record the inputs."""

    diagonal: np.ndarray
    off_support: float
    tau: float
    aspect: float
    dim: int
    kind: str

    noise = renamed_attribute("tau")

    def matrix(self, directions) -> np.ndarray:
        """The D x D operator in a given orthonormal basis of the spikes (``directions`` D x k)."""
        U = array(directions, "directions", shape=(self.dim, self.diagonal.size))
        allocation(8 * self.dim**2, "directions", f"a ({self.dim}, {self.diagonal.size}) basis",
                   f"the ({self.dim}, {self.dim}) operator")
        out = (U * (self.diagonal - self.off_support)) @ U.T
        out[np.diag_indices(self.dim)] += self.off_support           # + b I, without a second D x D array
        return out


def _setting(spikes, tau, aspect, dim):
    lam = spiked._spikes(spikes, dim)
    d = check("dim", dim)
    if lam.size >= d:
        raise SpectralTheoryError(f"rank k = {lam.size} must be < `dim` = {d} (no off-support directions)")
    return lam, check("tau", tau, scalar_only=True), check("aspect", aspect, scalar_only=True), d


@renamed(noise="tau")
def mean_projection(spikes, tau, aspect, dim) -> MeanOperator:
    r"""Predicted :math:`E[P_s]` of the rank-k PCA projection (k = number of spikes).

    Detected spikes (:math:`\ell_i > \sqrt\gamma`) get :math:`c_i = ` overlap(:math:`\ell_i`); an
    undetected spike's direction is asymptotically indistinguishable from a bulk direction, so it gets
    the bulk value b.  The trace of :math:`P_s` is k, hence
    :math:`b = (k - \sum_{\rm detected} c_i)/(D - n_{\rm detected})`.
    """
    lam, s, gamma, D = _setting(spikes, tau, aspect, dim)
    pred = spiked.predict(lam, s, gamma)
    det = pred.detectable
    b = (lam.size - pred.overlaps[det].sum()) / (D - det.sum())
    c = np.where(det, pred.overlaps, b)
    return MeanOperator(c, float(b), s, gamma, D, "projection")


@renamed(noise="tau")
def mean_wiener(spikes, tau, aspect, dim, debias=False) -> MeanOperator:
    r"""Predicted mean of the empirical Wiener shrinkage :func:`wiener_shrinkage`.

    The weight of empirical direction i tends to :math:`w_i = \hat\lambda_i/(\hat\lambda_i + s)` evaluated
    at the limit eigenvalue :math:`\hat\mu_i \to s\,\mu(\ell_i)`: plug-in :math:`\hat\lambda_i = s(\mu - 1)`
    (the bulk edge value :math:`s\,((1+\sqrt\gamma)^2 - 1)` below threshold), de-biased
    :math:`\hat\lambda_i = \lambda_i` above and 0 below.  Then :math:`c_i = w_i\,\mathrm{overlap}_i` for
    detected spikes and the trace :math:`\sum_i w_i` fixes the bulk value b, as in :func:`mean_projection`.
    """
    lam, s, gamma, D = _setting(spikes, tau, aspect, dim)
    pred = spiked.predict(lam, s, gamma)
    det = pred.detectable
    lam_hat = np.where(det, lam, 0.0) if debias else pred.eigenvalues - s
    w = lam_hat / (lam_hat + s)
    b = (w.sum() - (w * pred.overlaps)[det].sum()) / (D - det.sum())
    c = np.where(det, w * pred.overlaps, b)
    return MeanOperator(c, float(b), s, gamma, D, "wiener-debiased" if debias else "wiener")


# ---------------------------------------------------------------------------------------------
# Linear reverse process = power iteration in mean
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReverseMean:
    r"""Mean output of the linear reverse process with independent denoisers at each step.

    ``taus`` (T,) are the noise levels in the order applied (decreasing in a reverse process);
    ``multipliers`` (T, k) is :math:`\prod_{t'\le t} c_i(s_{t'})` after each step, ``off_support`` (T,)
    the same for a direction orthogonal to the spikes, ``ratios`` (T, k) the multipliers divided by the
    leading spike's (column 0 is 1), ``off_ratio`` (T,) likewise; ``leading`` is the index of the
    largest spike.  A mean output :math:`E[x_{gen}|x_T]` has coordinates ``multipliers[-1] * <u_i, x_T>``.
    """

    taus: np.ndarray
    multipliers: np.ndarray
    off_support: np.ndarray
    ratios: np.ndarray
    off_ratio: np.ndarray
    leading: int
    kind: str

    def alignment(self, coefficients, off_norm2=0.0) -> np.ndarray:
        r"""Squared cosine between the mean output and the leading direction after each step, for an
        initial point with spike coordinates ``coefficients`` (k,) and squared off-support norm
        ``off_norm2``: :math:`m_1^2 / (\sum_i m_i^2 + m_\perp^2)`."""
        a = array(coefficients, "coefficients", shape=(self.multipliers.shape[1],))
        m2 = (self.multipliers * a) ** 2
        tot = m2.sum(axis=1) + self.off_support**2 * scalar(off_norm2, "off_norm2", nonnegative=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tot > 0, m2[:, self.leading] / np.where(tot > 0, tot, 1.0), np.nan)


@renamed(taus="tau")
def reverse_mean(spikes, tau, aspect, dim, denoiser="projection") -> ReverseMean:
    r"""Per-component multipliers of the mean linear reverse process :math:`\prod_t E[P_{s_t}]`.

    Parameters
    ----------
    spikes : :math:`\lambda_i` (k < dim).
    tau : VE noise variances in the order the denoisers are applied (e.g. ``schedule.tau(times)`` for
        decreasing times).
    aspect : :math:`\gamma = D/N` of each step's training set.
    dim : ambient dimension D.
    denoiser : "projection", "wiener" or "wiener-debiased" (which :class:`MeanOperator` each step uses).
    """
    tau = np.atleast_1d(check("tau", tau, ndim=(0, 1)))
    makers = {"projection": mean_projection, "wiener": mean_wiener,
              "wiener-debiased": lambda *a: mean_wiener(*a, debias=True)}
    if denoiser not in makers:
        raise SpectralTheoryError(f"`denoiser` must be one of {sorted(makers)}; got {denoiser!r}")
    lam = spiked._spikes(spikes, dim)
    ops = [makers[denoiser](lam, t, aspect, dim) for t in tau]
    C = np.array([op.diagonal for op in ops])
    B = np.array([op.off_support for op in ops])
    mult, off = np.cumprod(C, axis=0), np.cumprod(B)
    lead = int(np.argmax(lam))
    with np.errstate(invalid="ignore", divide="ignore"):
        lead_m = mult[:, lead:lead + 1]
        ratios = np.where(lead_m > 0, mult / np.where(lead_m > 0, lead_m, 1.0), np.nan)
        off_ratio = np.where(lead_m[:, 0] > 0, off / np.where(lead_m[:, 0] > 0, lead_m[:, 0], 1.0), np.nan)
    return ReverseMean(tau, mult, off, ratios, off_ratio, lead, denoiser)


@renamed(taus="tau")
def steps_to_dominate(spikes, tau, aspect, dim, tol, denoiser="projection"):
    r"""Number of steps after which every other component of the mean output is at most ``tol`` times
    the leading one (spike ratios and the off-support ratio), or ``None`` if the schedule never gets
    there.  This is the power-iteration statement: with a constant noise level the count is
    :func:`constant_noise_steps`."""
    t = scalar(tol, "tol", positive=True, hi=1.0, hi_open=True)
    rm = reverse_mean(spikes, tau, aspect, dim, denoiser)
    others = np.delete(rm.ratios, rm.leading, axis=1)
    worst = np.column_stack([others, rm.off_ratio]).max(axis=1) if others.size else rm.off_ratio
    ok = np.isfinite(worst) & (worst <= t)
    return int(np.argmax(ok)) + 1 if np.any(ok) else None


@renamed(noise="tau")
def contraction_factor(spikes, tau, aspect):
    r"""Per-step contraction :math:`c_j/c_1` of each spike relative to the leading one (asymptotic
    overlaps; 0 for an undetected spike), the analogue of :math:`\lambda_j/\lambda_1` in power iteration."""
    pred = spiked.predict(spikes, tau, aspect)
    lead = int(np.argmax(pred.spikes))
    if pred.overlaps[lead] <= 0:
        raise SpectralTheoryError(f"the leading `spikes` value {pred.spikes[lead]} is below the BBP threshold at "
                                  f"`tau`={pred.tau}, `aspect`={pred.aspect}: no contraction towards it "
                                  "(every overlap is 0)")
    return pred.overlaps / pred.overlaps[lead]


@renamed(noise="tau")
def contraction_first_order(spikes, tau, aspect):
    r"""First-order-in-tau contraction :math:`1 - \gamma \tau (1/\lambda_j - 1/\lambda_1)` (small noise)."""
    lam = np.atleast_1d(array(spikes, "spikes", ndim=(0, 1), positive=True))
    s = check("tau", tau, scalar_only=True)
    gamma = check("aspect", aspect, scalar_only=True)
    return 1 - gamma * s * (1 / lam - 1 / lam.max())


@renamed(noise="tau")
def constant_noise_steps(leading, second, tau, aspect, tol):
    r"""Steps of power iteration at a constant noise level s until the second component is ``tol``
    times the leading one: :math:`\lceil \log(\mathrm{tol}) / \log(c_2/c_1) \rceil`; to first order in s
    :math:`\approx \log(1/\mathrm{tol}) / (\gamma s (1/\lambda_2 - 1/\lambda_1))`, inversely
    proportional to the gap of the inverse eigenvalues.  ``None`` when ``second`` is not below the
    leading spike's overlap (no gap) and 1 step when the second spike is undetected (ratio 0)."""
    l1 = scalar(leading, "leading", positive=True)
    l2 = scalar(second, "second", nonnegative=True)
    if l2 > l1:
        raise SpectralTheoryError(f"`second`={l2} must not exceed `leading`={l1}")
    t = scalar(tol, "tol", positive=True, hi=1.0, hi_open=True)
    r = contraction_factor([l1, l2], tau, aspect)[1]
    if r >= 1:
        return None
    if r <= 0:
        return 1
    return int(np.ceil(np.log(t) / np.log(r) - 1e-12))


__all__ = ["LinearDenoiser", "top_eigenpairs", "pca_projection", "wiener_shrinkage", "MeanOperator",
           "mean_projection", "mean_wiener", "ReverseMean", "reverse_mean", "steps_to_dominate",
           "contraction_factor", "contraction_first_order", "constant_noise_steps"]
