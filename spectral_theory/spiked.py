r"""Spiked sample covariance: the BBP transition, in random-matrix and in diffusion form.

Population covariance :math:`\Sigma = I + \ell\, u u^\top` (everything in units of the noise
variance), :math:`N` samples in dimension :math:`D`, aspect ratio :math:`\gamma = D/N`, sample
covariance :math:`S = \frac1N \sum_i x_i x_i^\top`.  As :math:`D, N \to \infty` with :math:`\gamma`
fixed (Baik, Ben Arous & Péché 2005; Baik & Silverstein 2006; Paul 2007):

* threshold: the spike separates from the bulk iff :math:`\ell > \sqrt\gamma`;
* top eigenvalue: :math:`\mu = (1 + \ell)(1 + \gamma/\ell)` above the threshold, the Marchenko-Pastur
  edge :math:`(1 + \sqrt\gamma)^2` otherwise (the two agree at :math:`\ell = \sqrt\gamma`);
* squared overlap of the top sample eigenvector with :math:`u`:
  :math:`|\langle \hat u, u\rangle|^2 = (1 - \gamma/\ell^2)/(1 + \gamma/\ell)` above, 0 below;
* inverse (de-biasing a measured outlier :math:`\mu > (1+\sqrt\gamma)^2`):
  :math:`\ell = (c + \sqrt{c^2 - 4\gamma})/2` with :math:`c = \mu - 1 - \gamma`.

Beyond the rank-one core this module gives

* the fixed-training-set (information-plus-noise) variant: :func:`right_overlap`;
* the diffusion form: spikes :math:`\lambda_i` seen at VE noise variance :math:`\tau` have spike
  strengths :math:`\ell_i = \lambda_i/\tau` (:func:`effective_spike`, :func:`predict` for rank k,
  :func:`overlap_curves` for a whole spectrum), and emerge below :math:`\tau^*_i = \lambda_i/\sqrt\gamma` (:func:`emergence_tau`, :func:`emergence_abar`,
  :func:`emergence_time` under any schedule, :func:`emergence_order`);
* finite-size scales: the Gaussian outlier variance (:func:`outlier_variance`, Paul 2007), the
  Tracy-Widom edge scale (:func:`edge_scale`), the critical window (:func:`critical_window`),
  :func:`eigenvalue_std`, and the stated bounds used by the validation experiments
  (:func:`finite_size_bound`, :func:`subcritical_overlap_scale`).

Finite-size corrections are :math:`O(N^{-1/2})` above the threshold and :math:`O(N^{-2/3})` at the edge.
The derivation from the secular equation of the resolvent, with each step checked by sympy, is
``derivations.derive("bbp")``; the diffusion form is ``derivations.derive("spiked_diffusion")``; see also
``theory/spiked.md``.  All functions broadcast over arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import SpectralTheoryError, unwrap
from .schedules import as_schedule
from .parameters import check, renamed, renamed_attribute, renamed_function, warn_renamed
from .rmt.density import TW1_MEAN, TW1_STD  # noqa: F401  (TW1_MEAN re-exported)


def threshold(aspect):
    r"""BBP threshold :math:`\ell_c = \sqrt\gamma` on the spike strength (in noise units)."""
    return unwrap(np.sqrt(check("aspect", aspect)))


@renamed(snr="spike")
def top_eigenvalue(spike, aspect):
    r"""Limit of the largest sample eigenvalue (units of the noise variance).

    :math:`(1 + \ell)(1 + \gamma/\ell)` for :math:`\ell > \sqrt\gamma`, else :math:`(1 + \sqrt\gamma)^2`.
    ``spike`` is :math:`\ell \ge 0`, ``aspect`` is :math:`\gamma = D/N > 0`.
    """
    ell, gamma = _spike_aspect(spike, aspect)
    above = ell > np.sqrt(gamma)
    safe = np.where(above, ell, 1.0)                       # no division by a zero spike below threshold
    return unwrap(np.where(above, (1 + safe) * (1 + gamma / safe), (1 + np.sqrt(gamma)) ** 2))


@renamed(snr="spike")
def overlap(spike, aspect):
    r"""Limit of the squared overlap :math:`|\langle\hat u, u\rangle|^2` of the top sample eigenvector.

    :math:`(\ell^2 - \gamma)/(\ell(\ell + \gamma))` (:math:`= (1 - \gamma/\ell^2)/(1 + \gamma/\ell)`)
    for :math:`\ell > \sqrt\gamma`, 0 otherwise; continuous at the threshold, where it is exactly 0.
    """
    ell, gamma = _spike_aspect(spike, aspect)
    above = ell > np.sqrt(gamma)
    safe = np.where(above, ell, 1.0)
    # the normalised form: no overflow of ell^2 for ell up to the float64 maximum (-> 1)
    return unwrap(np.where(above, (1 - gamma / safe / safe) / (1 + gamma / safe), 0.0))


def spike_from_eigenvalue(mu, aspect):
    r"""Invert :func:`top_eigenvalue`: the spike strength whose outlier sits at ``mu``.

    :math:`\ell = (c + \sqrt{c^2 - 4\gamma})/2`, :math:`c = \mu - 1 - \gamma`; the discriminant is
    evaluated as :math:`(\mu - (1+\sqrt\gamma)^2)(\mu - (1-\sqrt\gamma)^2)` to avoid cancellation.
    At the edge :math:`\mu = (1+\sqrt\gamma)^2` this returns the threshold :math:`\sqrt\gamma`.

    Raises
    ------
    SpectralTheoryError
        if some ``mu`` lies below the Marchenko-Pastur edge: such an eigenvalue is not an outlier and
        carries no information on a spike (every :math:`\ell \le \sqrt\gamma` gives the edge).
    """
    mu, gamma = np.broadcast_arrays(check("mu", mu), check("aspect", aspect))
    edge = (1 + np.sqrt(gamma)) ** 2
    if np.any(mu < edge):
        i = np.unravel_index(np.argmax(edge - mu), mu.shape)
        raise SpectralTheoryError(
            f"`mu`={mu[i]} is below the Marchenko-Pastur edge (1+sqrt(aspect))^2={edge[i]}: "
            "not an outlier, the spike strength is not identifiable")
    c = mu - 1 - gamma
    root = np.sqrt(mu - edge) * np.sqrt(mu - (1 - np.sqrt(gamma)) ** 2)   # sqrt of the product: no overflow
    return unwrap(c / 2 + root / 2)


# ---------------------------------------------------------------------------------------------
# Information-plus-noise (a fixed clean training set with fresh noise)
# ---------------------------------------------------------------------------------------------
@renamed(snr="spike")
def right_overlap(spike, aspect):
    r"""Squared overlap of the top *right* singular vector with the clean sample-index vector.

    Fixed clean training set :math:`Y` (N x D, rank one: :math:`Y = \sqrt{N\lambda}\, v u^\top` with
    :math:`|v| = 1`) observed with fresh noise, :math:`X = Y + \sqrt{s} G`; in units of the noise the
    signal singular value is :math:`\theta = \sqrt{\ell}`, :math:`\ell = \lambda/s`.  With
    :math:`\gamma = D/N` (Benaych-Georges & Nadakuditi 2012, Thm 2.9 / Remark 3.2, with
    :math:`c = \gamma`, :math:`\theta^2 = \ell`):

    .. math::  |\langle \hat v, v\rangle|^2 \to 1 - \frac{\gamma + \ell}{\ell(\ell + 1)}
               = \frac{1 - \gamma/\ell^2}{1 + 1/\ell} \quad (\ell > \sqrt\gamma), \qquad 0 \text{ otherwise.}

    The left (D-side) overlap is :func:`overlap` and the top eigenvalue :func:`top_eigenvalue`, the same
    as for the spiked covariance (conditionally on the clean coefficients both models coincide).
    Exactly at the threshold the value is 0 (no division by zero).
    """
    ell, gamma = _spike_aspect(spike, aspect)
    above = ell > np.sqrt(gamma)
    safe = np.where(above, ell, 1.0)
    return unwrap(np.where(above, (1 - gamma / safe / safe) / (1 + 1 / safe), 0.0))


# ---------------------------------------------------------------------------------------------
# Diffusion form: spikes lambda_i at VE noise variance tau
# ---------------------------------------------------------------------------------------------
def _representable(out, **inputs):
    """``out``, or an error naming the inputs at which the result leaves the float64 range."""
    if not np.all(np.isfinite(out)):
        shown = ", ".join(f"`{k}`={v}" for k, v in inputs.items())
        raise SpectralTheoryError(f"the result overflows float64 at {shown} (too large to represent)")
    return out


def _ratio(num, den, **inputs):
    """``num / den``, or an error naming the inputs where it overflows float64 (e.g. lambda/tau at a tiny tau)."""
    with np.errstate(over="ignore"):
        return _representable(num / den, **inputs)


def _spike_aspect(spike, aspect):
    return np.broadcast_arrays(check("spike", spike), check("aspect", aspect))


@renamed(eigenvalue="spikes", noise="tau")
def effective_spike(spikes, tau):
    r"""Spike strength in noise units :math:`\ell = \lambda/\tau` (VE noise variance tau;
    VP: :math:`\tau = (1 - \bar\alpha)/\bar\alpha`).  Rejects negative spikes and tau <= 0."""
    lam, s = check("spikes", spikes), check("tau", tau)
    return unwrap(_ratio(lam, s, spikes=lam, tau=s))


@renamed(eigenvalue="spikes")
def emergence_tau(spikes, aspect):
    r"""Noise variance below which a spike of size ``spikes`` is estimable from noisy samples.

    :math:`\ell = \lambda/s > \sqrt\gamma \iff s < s^* = \lambda/\sqrt\gamma`.  In the reverse
    process (noise decreasing) the direction *emerges* at :math:`s^*`: large eigenvalues first.
    Its time under a schedule is ``schedule.time_of_tau(emergence_tau(...))``
    (see :func:`emergence_time`); under VP the condition reads
    :math:`\bar\alpha > \sqrt\gamma/(\lambda + \sqrt\gamma)` (:func:`emergence_abar`).
    """
    lam, gamma = check("spikes", spikes), check("aspect", aspect)
    return unwrap(_ratio(lam, np.sqrt(gamma), spikes=lam, aspect=gamma))


@renamed(eigenvalue="spikes")
def emergence_abar(spikes, aspect):
    r"""VP form of :func:`emergence_tau`: the direction is estimable iff
    :math:`\bar\alpha > \sqrt\gamma / (\lambda + \sqrt\gamma)` (from :math:`\tau = (1-\bar\alpha)/\bar\alpha`)."""
    rg = np.sqrt(check("aspect", aspect))
    return unwrap(rg / (check("spikes", spikes) + rg))


@renamed(eigenvalue="spikes")
def emergence_time(spikes, aspect, schedule):
    r"""Time at which a spike emerges under ``schedule`` (a Schedule or a name such as ``"vp"``):
    ``schedule.time_of_tau(emergence_tau)``.

    Raises
    ------
    SpectralTheoryError
        if the emergence noise level lies outside the schedule's range of tau (the direction is then
        estimable over the whole schedule, or never); the message names the spike.
    """
    schedule = as_schedule(schedule)
    tau = np.atleast_1d(emergence_tau(spikes, aspect))
    lo, hi = schedule.tau(schedule.t_min), schedule.tau(schedule.t_max)
    bad = (tau < lo * (1 - 1e-12)) | (tau > hi * (1 + 1e-12))
    if np.any(bad):
        lam = np.broadcast_to(np.atleast_1d(check("spikes", spikes)), tau.shape)
        i = int(np.argmax(bad))
        raise SpectralTheoryError(
            f"`spikes`={lam[i]} emerges at tau={tau[i]}, outside the range [{lo}, {hi}] of "
            f"{type(schedule).__name__}: no emergence time within the schedule")
    t = schedule.time_of_tau(tau)
    return t[0] if np.ndim(spikes) == 0 and np.ndim(aspect) == 0 else t


def _spikes(spikes, dim=None):
    lam = np.atleast_1d(check("spikes", spikes, ndim=(0, 1)))
    if dim is not None:
        d = check("dim", dim)
        if lam.size > d:
            raise SpectralTheoryError(f"rank k = {lam.size} (number of `spikes`) exceeds `dim` = {d}")
    return lam


@dataclass(frozen=True)
class SpikedPrediction:
    r"""Asymptotic PCA of N noisy samples :math:`x = x_0 + \sqrt{s}\,n` of rank-k data, one spike at a time.

    The attributes are arrays over the k spikes, in the order given.

    Attributes
    ----------
    spikes, tau, aspect : inputs :math:`\lambda_i`, :math:`\tau`, :math:`\gamma = D/N`.
    spike : :math:`\ell_i = \lambda_i/\tau`.
    detectable : :math:`\ell_i > \sqrt\gamma`.
    eigenvalues : limits of the top-k sample eigenvalues in data units, :math:`s\,\mu(\ell_i)`
        (the bulk edge :math:`s(1+\sqrt\gamma)^2` for undetectable spikes).
    overlaps : squared overlaps :math:`|\langle\hat u_i, u_i\rangle|^2` (cross overlaps vanish).
    right_overlaps : sample-index-side overlaps of the fixed-training-set variant.
    emergence_taus : :math:`s_i^* = \lambda_i/\sqrt\gamma`.
    """

    spikes: np.ndarray
    tau: float
    aspect: float
    spike: np.ndarray
    detectable: np.ndarray
    eigenvalues: np.ndarray
    overlaps: np.ndarray
    right_overlaps: np.ndarray
    emergence_taus: np.ndarray

    noise = renamed_attribute("tau")
    snr = renamed_attribute("spike")


@renamed(noise="tau")
def predict(spikes, tau, aspect, dim=None) -> SpikedPrediction:
    r"""Rank-k spiked prediction: each spike behaves as in the rank-1 model (BBP 2005; Paul 2007;
    Benaych-Georges & Nadakuditi 2011), for :math:`\gamma < 1` and :math:`\gamma > 1` alike.

    Parameters
    ----------
    spikes : eigenvalues :math:`\lambda_i \ge 0` of the clean data (rank k).
    tau : VE noise variance :math:`\tau > 0`.
    aspect : :math:`\gamma = D/N > 0`.
    dim : optional ambient dimension D (checks k <= D).

    Notes
    -----
    Equal spikes form a degenerate eigenspace: then only the *sum* of their overlaps over the
    eigenspace is predicted (each individual eigenvector is an arbitrary rotation within it).
    """
    lam = _spikes(spikes, dim)
    s = check("tau", tau, scalar_only=True)
    gamma = check("aspect", aspect, scalar_only=True)
    ell = _ratio(lam, s, spikes=lam, tau=s)                     # lambda near the float64 maximum over tau < 1
    with np.errstate(over="ignore"):                             # tau near the float64 maximum: s mu overflows
        eigenvalues = _representable(s * np.atleast_1d(top_eigenvalue(ell, gamma)), tau=s, aspect=gamma)
    return SpikedPrediction(
        spikes=lam, tau=s, aspect=gamma, spike=ell, detectable=ell > np.sqrt(gamma),
        eigenvalues=eigenvalues,
        overlaps=np.atleast_1d(overlap(ell, gamma)),
        right_overlaps=np.atleast_1d(right_overlap(ell, gamma)),
        emergence_taus=np.atleast_1d(emergence_tau(lam, gamma)))


@renamed(taus="tau")
def overlap_curves(spikes, *positional, tau=None, aspect=None):
    r"""Squared overlaps of a whole spectrum versus noise level: array (len(tau), k) with entry
    :math:`\mathrm{overlap}(\lambda_i/\tau_t, \gamma)`.  Column i leaves zero at
    :math:`\tau = \lambda_i/\sqrt\gamma`, so larger eigenvalues emerge at higher noise.

    ``tau`` (a grid) and ``aspect`` are keywords: the old positional order ``(spikes, aspect, taus)``
    still works with a ``DeprecationWarning``; the next release takes ``(spikes, tau, aspect)``, the
    order of :func:`predict` (the two orders cannot be told apart from the values, so there is no
    silent switch)."""
    if positional:
        if len(positional) != 2 or tau is not None or aspect is not None:
            raise SpectralTheoryError("overlap_curves takes `tau=` and `aspect=` by keyword")
        warn_renamed("positional (aspect, taus)", "keywords tau=, aspect=", "overlap_curves", stacklevel=4)
        aspect, tau = positional
    for name, value in (("tau", tau), ("aspect", aspect)):
        if value is None:
            raise SpectralTheoryError(f"overlap_curves needs `{name}=` (`tau`: noise variances, `aspect`: D/N)")
    lam = _spikes(spikes)
    tau = np.atleast_1d(check("tau", tau, ndim=(0, 1)))
    gamma = check("aspect", aspect, scalar_only=True)
    return np.asarray(overlap(_ratio(lam[None, :], tau[:, None], spikes=lam, tau=tau), gamma))


def emergence_order(spikes, aspect):
    r"""Indices of the spikes in the order in which they emerge as the noise decreases (decreasing
    :math:`s_i^* = \lambda_i/\sqrt\gamma`, i.e. decreasing eigenvalue; ties keep the input order)."""
    lam = _spikes(spikes)
    check("aspect", aspect, scalar_only=True)
    return np.argsort(-lam, kind="stable")


# ---------------------------------------------------------------------------------------------
# Finite-size fluctuations
# ---------------------------------------------------------------------------------------------
@renamed(snr="spike")
def outlier_variance(spike, aspect):
    r"""Asymptotic variance of :math:`\sqrt N(\hat\mu - \mu(\ell))` for an outlier (noise units).

    Real Gaussian data, spike above threshold: (Paul 2007, Thm 3 for :math:`\gamma < 1`; Bai & Yao 2008
    for any :math:`\gamma`), with population eigenvalue :math:`1 + \ell`:

    .. math::  \sigma^2(\ell) = 2 (1 + \ell)^2 \left(1 - \frac{\gamma}{\ell^2}\right),

    vanishing at the threshold, where the Gaussian regime gives way to the :math:`N^{-2/3}` edge
    regime (:func:`edge_scale`).  Returns 0 for :math:`\ell \le \sqrt\gamma`.
    """
    ell, gamma = _spike_aspect(spike, aspect)
    above = ell > np.sqrt(gamma)
    safe = np.where(above, ell, 1.0)
    with np.errstate(over="ignore"):
        out = np.where(above, 2 * (1 + safe) ** 2 * (1 - gamma / safe / safe), 0.0)
    return unwrap(_representable(out, spike=spike))


def edge_scale(aspect, n_samples):
    r"""Tracy-Widom scale of the largest null eigenvalue (noise units), leading order in N:

    .. math::  \hat\mu_{\max} \approx (1+\sqrt\gamma)^2 + N^{-2/3} (1+\sqrt\gamma)(1+1/\sqrt\gamma)^{1/3}\, TW_1

    (Johnstone 2001, Thm 1, with :math:`n = N`, :math:`p = \gamma N`, divided by N).  At the BBP
    threshold the top eigenvalue fluctuates on this same :math:`N^{-2/3}` scale (Baik, Ben Arous &
    Péché 2005), with a deformed law.
    """
    rg = np.sqrt(check("aspect", aspect))
    n = check("n_samples", n_samples)
    return unwrap(n ** (-2.0 / 3.0) * (1 + rg) * (1 + 1 / rg) ** (1.0 / 3.0))


def critical_window(aspect, n_samples):
    r"""Width in :math:`\ell` of the BBP critical window at finite N.

    Above the threshold the outlier sits :math:`\mu(\ell) - (1+\sqrt\gamma)^2 = (\ell-\sqrt\gamma)^2/\ell`
    above the edge; equating this with the edge scale :func:`edge_scale` gives
    :math:`w = \gamma^{1/4}\sqrt{\text{edge scale}} \propto N^{-1/3}`: within a few w of
    :math:`\sqrt\gamma` neither asymptotic branch is accurate.
    """
    gamma = check("aspect", aspect)
    return unwrap(gamma**0.25 * np.sqrt(np.asarray(edge_scale(gamma, n_samples))))


@renamed(snr="spike")
def eigenvalue_std(spike, aspect, n_samples):
    r"""Leading-order standard deviation of the top sample eigenvalue (noise units) for one sample of
    size N: :math:`\sqrt{\sigma^2(\ell)/N}` (:func:`outlier_variance`) above the threshold, combined in
    quadrature with the Tracy-Widom edge value :math:`\mathrm{sd}(TW_1)\times` :func:`edge_scale`
    (which dominates within the critical window and below it)."""
    ell, gamma = _spike_aspect(spike, aspect)
    n = check("n_samples", n_samples)
    gauss = np.asarray(outlier_variance(ell, gamma)) / n
    with np.errstate(over="ignore"):
        edge = (TW1_STD * np.asarray(edge_scale(gamma, n))) ** 2
        out = np.sqrt(gauss + edge)
    return unwrap(_representable(out, spike=spike, n_samples=n_samples))


@renamed(snr="spike")
def finite_size_bound(fn, spike, aspect, n_samples, windows=2.0, points=41):
    r"""Stated finite-size bound for an asymptotic spiked quantity ``fn(spike, aspect)`` at sample size N.

    :math:`B = \max_{|\ell' - \ell| \le k w} |f(\ell') - f(\ell)|` with w the critical window
    (:func:`critical_window`) and k = ``windows``: the deviation an :math:`O(N^{-1/3})` shift of the
    effective spike strength would cause.  This covers the crossover at the threshold (where the corrections are
    largest, :math:`O(N^{-1/3})` for the overlap and :math:`O(N^{-2/3})` for the eigenvalue) and is
    conservative far above it, where the bias of the mean is :math:`O(1/N)`.
    """
    ell, gamma = _spike_aspect(spike, aspect)
    w = windows * np.asarray(critical_window(gamma, n_samples))
    grid = np.linspace(-1.0, 1.0, points).reshape((points,) + (1,) * ell.ndim)
    shifted = np.maximum(ell + grid * w, 0.0)
    vals = np.asarray(fn(shifted, np.broadcast_to(gamma, shifted.shape)))
    return unwrap(np.max(np.abs(vals - np.asarray(fn(ell, gamma))), axis=0))


@renamed(snr="spike")
def subcritical_overlap_scale(spike, aspect, n_samples):
    r"""Scale of the squared overlap of the top sample eigenvector with an *undetected* spike.

    Below the threshold the top eigenvector is a bulk-edge vector whose overlap with u vanishes as
    :math:`N \to \infty`; at finite N it is of order :math:`1/(N(\sqrt\gamma - \ell)^2)` (Bloemendal,
    Knowles, Yau & Yin 2016, subcritical regime), normalised here so that :math:`\ell = 0` gives the
    delocalised value :math:`1/D = 1/(\gamma N)`.  It matches the :math:`N^{-1/3}` overlap scale of the
    critical window at :math:`\sqrt\gamma - \ell \sim N^{-1/3}`; capped at 1; 0 above the threshold.
    Used as the stated finite-size bound of a predicted 0 overlap (an order of magnitude, not a limit).
    """
    ell, gamma = _spike_aspect(spike, aspect)
    n = check("n_samples", n_samples)
    below = ell < np.sqrt(gamma)
    gap = np.where(below, np.sqrt(gamma) - ell, 1.0)
    return unwrap(np.where(below, np.minimum(1.0 / (n * gap**2), 1.0), 0.0))


@renamed(snrs="spike")
def interaction_overlap_scale(spike, aspect, n_samples):
    r"""O(1/N) loss of overlap of each detected spike to the other detected spikes of a rank-k model.

    Each spike is asymptotically independent of the others, but at finite N the sample eigenvector
    :math:`\hat u_i` leaks onto :math:`u_j` with :math:`E|\langle\hat u_i, u_j\rangle|^2 \approx
    \theta_i\theta_j / (N(\theta_i - \theta_j)^2)`, :math:`\theta = 1 + \ell` (Anderson 1963, the
    classical asymptotic covariance of sample eigenvectors).  Returns, for each spike, the sum over the
    other *detected* spikes (an undetected spike is part of the bulk, whose share the overlap formula
    already accounts for); 0 for an undetected spike; capped at 1 (1 for a degenerate pair).
    """
    ell = np.atleast_1d(check("spike", spike, ndim=(0, 1)))
    gamma = check("aspect", aspect, scalar_only=True)
    n = check("n_samples", n_samples, scalar_only=True)
    det = ell > np.sqrt(gamma)
    th = 1 + ell
    diff = th[:, None] - th[None, :]
    pair = det[:, None] & det[None, :] & ~np.eye(ell.size, dtype=bool)
    safe = np.where(diff != 0, diff, 1.0)
    terms = np.where(pair, np.where(diff != 0, th[:, None] * th[None, :] / (n * safe**2), 1.0), 0.0)
    return np.minimum(terms.sum(axis=1), 1.0)


#: deprecated spellings (one release): the spike strength is ``spike``, ``snr`` is ``Schedule.snr``
effective_snr = renamed_function(effective_spike, "effective_snr")
snr_from_eigenvalue = renamed_function(spike_from_eigenvalue, "snr_from_eigenvalue")


__all__ = ["threshold", "top_eigenvalue", "overlap", "spike_from_eigenvalue", "right_overlap",
           "effective_spike", "emergence_tau", "emergence_abar", "emergence_time",
           "SpikedPrediction", "predict", "overlap_curves", "emergence_order", "TW1_MEAN",
           "TW1_STD", "outlier_variance", "edge_scale", "critical_window", "eigenvalue_std",
           "finite_size_bound", "subcritical_overlap_scale", "interaction_overlap_scale"]
