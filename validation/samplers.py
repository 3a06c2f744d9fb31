r"""Monte Carlo of the full diffusion process: forward noising and reverse samplers for any denoiser.

A *denoiser* is any callable with the models' signature ``denoise(x, sigma, alpha) -> (B, D)``
(posterior mean :math:`\mathbb E[x_0|x_t = x]` for :math:`x_t = \alpha x_0 + \sigma\xi`), e.g. a
model's exact ``denoise`` or a user's network.  Schedules supply every :math:`\alpha, \sigma` and
derivative (``spectral_theory.schedules``); the samplers only step.

Equations (conventions.md; Song et al. 2021, Karras et al. 2022, Song, Meng, Ermon 2021):

1. forward: :math:`x_t = \alpha_t x_0 + \sigma_t\xi`.
2. Tweedie: :math:`s(x) = (\alpha D(x) - x)/\sigma^2`.
3. forward SDE :math:`dx = f x\,dt + g\,dW` with :math:`f = \alpha'/\alpha`,
   :math:`g^2 = 2\sigma\sigma' - 2f\sigma^2` (the schedule's ``drift`` and ``diffusion_squared``).
4. probability-flow ODE :math:`dx/dt = f x - \tfrac12 g^2 s = f x + (\sigma'/\sigma - f)(x - \alpha D)`
   (insert 2 and 3); in VE form (:math:`\alpha = 1`): :math:`dx/d\sigma = (x - D)/\sigma`.
5. reverse SDE :math:`dx = [f x - g^2 s]\,dt + g\,d\bar W`, integrated from high to low t.
6. DDIM (eta = 0): :math:`x' = \alpha' D + \sigma' (x - \alpha D)/\sigma`; this is exactly the Euler
   step of 4 in the VE-equivalent variables :math:`(x/\alpha, \sigma/\alpha)`.

Every sampler takes the start ``x_T`` (B, D) and an explicit decreasing time grid, so runs are
reproducible and testable; the only random one (:func:`reverse_sde`) takes ``rng=``.  Steps that end
at :math:`\sigma = 0` are Euler steps (Heun's corrector would evaluate the denoiser at zero noise), as in
Karras et al., Algorithm 1.  ``record`` selects grid indices whose states are kept in
:attr:`Trajectory.states`; nothing else of size (steps, B, D) is stored.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectral_theory.checks import SpectralTheoryError, allocation, array, as_generator, integer, scalar
from spectral_theory.schedules import DiscreteVP, Schedule

__all__ = ["Trajectory", "NonFiniteError", "forward", "edm_sampler", "probability_flow", "reverse_sde", "ddim"]


class NonFiniteError(SpectralTheoryError):
    """A sampler run produced NaN or inf (a trained denoiser diverging, or a state overflowing).

    Raised at the first step where it happens; ``step`` is the index of the grid point the step
    starts from and ``sigma`` its noise level (attributes).
    """

    def __init__(self, message, step, sigma):
        super().__init__(message)
        self.step, self.sigma = step, sigma


@dataclass(frozen=True)
class Trajectory:
    """A sampler run.

    Attributes
    ----------
    final : (B, D) state at the last grid point.
    times : (n + 1,) the time grid, decreasing (for the EDM sampler, the noise levels with 0 appended).
    sigmas, alphas : (n + 1,) the schedule's sigma(t), alpha(t) on the grid.
    record : (n_rec,) grid indices that were recorded (non-negative, increasing).
    states : (n_rec, B, D) the states at ``times[record]``.
    method : the integrator ("euler", "heun", "euler-maruyama", "ddim").
    evaluations : number of denoiser calls (each on the whole batch).
    """

    final: np.ndarray
    times: np.ndarray
    sigmas: np.ndarray
    alphas: np.ndarray
    record: np.ndarray
    states: np.ndarray
    method: str
    evaluations: int

    @property
    def steps(self) -> int:
        return self.times.size - 1

    @property
    def taus(self) -> np.ndarray:
        """VE-equivalent noise variances sigma^2/alpha^2 on the grid."""
        return (self.sigmas / self.alphas) ** 2


# ---- helpers -----------------------------------------------------------------------------------
def _start(x_T):
    x = array(x_T, "x_T", ndim=(1, 2))
    return (x[None, :] if x.ndim == 1 else x).copy()


def _decreasing(values, name, minimum=2):
    a = array(values, name, ndim=1)
    if a.size < minimum:
        raise SpectralTheoryError(f"`{name}` needs at least {minimum} points; got {a.size}")
    if np.any(np.diff(a) >= 0):
        raise SpectralTheoryError(f"`{name}` must be strictly decreasing (samplers run from noise to data)")
    return a


def _record_indices(record, n_points):
    if record is None:
        return np.zeros(0, dtype=int)
    idx = np.atleast_1d(np.asarray(record))
    if idx.dtype.kind not in "iu":
        raise SpectralTheoryError(f"`record` must be integer indices of the time grid; got dtype {idx.dtype}")
    if np.any(idx < -n_points) or np.any(idx >= n_points):
        raise SpectralTheoryError(f"`record` indices must lie in [-{n_points}, {n_points - 1}] (the grid has {n_points} points)")
    return np.unique(np.where(idx < 0, idx + n_points, idx))


class _Recorder:
    """Keeps copies of the states at the requested grid indices."""

    def __init__(self, record, n_points, x):
        self.indices = _record_indices(record, n_points)
        allocation(8 * self.indices.size * x.size, "record", f"{self.indices.size} grid indices",
                   f"{self.indices.size} recorded states of shape {x.shape}")
        self.states = np.empty((self.indices.size,) + x.shape)    # (n_rec, B, D)
        self._slot = {int(i): k for k, i in enumerate(self.indices)}
        self.keep(0, x)

    def keep(self, i, x):
        k = self._slot.get(i)
        if k is not None:
            self.states[k] = x


def _denoise(denoise, x, sigma, alpha, step):
    """The denoiser's output at grid index ``step``, checked: real, of the input's shape, finite."""
    out = np.asarray(denoise(x, sigma, alpha))
    if np.iscomplexobj(out):
        raise SpectralTheoryError(f"the denoiser returned complex values at step {step} (sigma = {sigma:.6g})")
    out = out.astype(np.float64, copy=False)
    if out.shape != x.shape:
        raise SpectralTheoryError(f"the denoiser returned shape {out.shape} for input of shape {x.shape}")
    if not np.isfinite(out).all():                          # one pass per call; a diverging network stops here
        raise NonFiniteError(f"the denoiser returned NaN or inf at step {step} (sigma = {sigma:.6g}, "
                             f"alpha = {alpha:.6g})", step, sigma)
    return out


def _finite_state(x, step, sigma):
    """``x``, the state after the step from grid index ``step``, or NonFiniteError if it overflowed."""
    if not np.isfinite(x).all():
        raise NonFiniteError(f"the sampler state became NaN or inf in the step from grid index {step} "
                             f"(sigma = {sigma:.6g}); the grid is too coarse or the denoiser too large", step, sigma)
    return x


def _method(method):
    if not isinstance(method, str) or method not in ("euler", "heun"):
        raise SpectralTheoryError(f"`method` must be 'euler' or 'heun'; got {method!r:.60}")


def _schedule(schedule):
    if not isinstance(schedule, Schedule):
        raise SpectralTheoryError(f"`schedule` must be a spectral_theory schedule; got {type(schedule).__name__}")
    return schedule


# ---- forward -----------------------------------------------------------------------------------
def forward(model, schedule, t, n, rng=None):
    r"""Forward-noise ``n`` samples of ``model`` to time ``t`` of ``schedule`` (eq. 1).

    Returns ``(x0, xt)``, both (n, D), with :math:`x_t = \alpha(t) x_0 + \sigma(t)\xi`.
    """
    sched = _schedule(schedule)
    t = scalar(t, "t")
    return model.noisy_sample(integer(n, "n", minimum=1), sched.sigma(t), sched.alpha(t), rng=rng)


# ---- declared convergence orders ------------------------------------------------------------------
#: global order of each deterministic method: the error after n steps of a fixed grid is O(n^-order)
ORDERS = {"euler": 1, "heun": 2, "ddim": 1}


def convergence_order(method: str) -> int:
    r"""Declared global convergence order of a sampler method (``ORDERS``): "euler" 1 and "heun" 2
    (Karras et al. 2022, EDM Algorithm 1), "ddim" 1 (Euler in the VE-equivalent variables
    :math:`x/\alpha` and :math:`\sigma/\alpha`; Song, Meng, Ermon 2021)."""
    if method not in ORDERS:
        raise SpectralTheoryError(f"`method` must be one of {sorted(ORDERS)}; got {method!r}")
    return ORDERS[method]


# ---- EDM / VE ----------------------------------------------------------------------------------
def edm_sampler(denoise, x_T, sigmas, method="heun", record=None) -> Trajectory:
    r"""Deterministic EDM sampler (Karras et al. 2022, Algorithm 1 without churn), VE (alpha = 1).

    Integrates :math:`dx/d\sigma = (x - D(x;\sigma))/\sigma` (eq. 4) over ``sigmas`` (decreasing,
    positive; e.g. ``st.edm_sigmas(n)``) with a final :math:`\sigma = 0` appended (unless already
    present).  ``method``: "euler" (order 1) or "heun" (order 2; the step into :math:`\sigma = 0` is Euler).
    """
    _method(method)
    s = array(sigmas, "sigmas", ndim=1)
    if s.size and s[-1] > 0:
        s = np.append(s, 0.0)
    s = _decreasing(s, "sigmas")
    if s[-1] < 0:
        raise SpectralTheoryError("`sigmas` must be >= 0")
    x = _start(x_T)
    rec = _Recorder(record, s.size, x)
    calls = 0
    d = None
    for i in range(s.size - 1):
        s0, s1 = s[i], s[i + 1]
        if d is None:
            d = (x - _denoise(denoise, x, s0, 1.0, i)) / s0           # (B, D) slope at s0
            calls += 1
        x_next = x + (s1 - s0) * d
        d_next = None
        if method == "heun" and s1 > 0:
            d_next = (x_next - _denoise(denoise, x_next, s1, 1.0, i + 1)) / s1
            calls += 1
            x_next = x + (s1 - s0) * 0.5 * (d + d_next)
        x, d = _finite_state(x_next, i, s0), None
        rec.keep(i + 1, x)
    return Trajectory(x, s, s.copy(), np.ones_like(s), rec.indices, rec.states, method, calls)


# ---- any schedule ------------------------------------------------------------------------------
def _coefficients(sched, t):
    """(alpha, sigma, f, sigma'/sigma - f, g^2) at a scalar time t (eq. 3-4)."""
    alpha, sigma, f = sched.alpha(t), sched.sigma(t), sched.drift(t)
    if not sigma > 0:
        raise SpectralTheoryError(f"the sampler would evaluate the denoiser at sigma(t) = 0 (t = {t}); "
                                  "only the last grid point may have zero noise")
    return alpha, sigma, f, sched.d_sigma(t) / sigma - f, sched.diffusion_squared(t)


def probability_flow(denoise, schedule, x_T, times, method="euler", record=None) -> Trajectory:
    r"""Probability-flow ODE (eq. 4) in any schedule, from ``times[0]`` down to ``times[-1]``.

    .. math:: \frac{dx}{dt} = f(t)\,x + \Big(\frac{\sigma'(t)}{\sigma(t)} - f(t)\Big)\big(x - \alpha(t) D(x; \sigma(t), \alpha(t))\big)

    ``method``: "euler" or "heun" (a step ending where sigma = 0 is Euler).  The last grid point may
    have sigma = 0 (e.g. t = 0 for VP); every other point needs sigma > 0.
    """
    _method(method)
    sched = _schedule(schedule)
    t = _decreasing(times, "times")
    sig, alp = sched.sigma(t), sched.alpha(t)              # also checks the schedule's time range
    x = _start(x_T)
    rec = _Recorder(record, t.size, x)
    calls = 0

    def velocity(xx, i):
        alpha, sigma, f, k, _ = _coefficients(sched, t[i])
        return f * xx + k * (xx - alpha * _denoise(denoise, xx, sigma, alpha, i))

    v = None
    for i in range(t.size - 1):
        h = t[i + 1] - t[i]
        if v is None:
            v, calls = velocity(x, i), calls + 1
        x_next = x + h * v
        if method == "heun" and sig[i + 1] > 0:
            v_next = velocity(x_next, i + 1)
            calls += 1
            x_next = x + h * 0.5 * (v + v_next)
        x, v = _finite_state(x_next, i, sig[i]), None
        rec.keep(i + 1, x)
    return Trajectory(x, t, sig, alp, rec.indices, rec.states, method, calls)


def reverse_sde(denoise, schedule, x_T, times, rng=None, record=None) -> Trajectory:
    r"""Euler-Maruyama for the reverse SDE (eq. 5) over the decreasing grid ``times``:

    .. math:: x_{i+1} = x_i + (f x_i - g^2 s(x_i))\,\Delta t_i + g \sqrt{|\Delta t_i|}\, z_i,
              \qquad \Delta t_i = t_{i+1} - t_i < 0,

    with coefficients at :math:`t_i`; the last grid point may have sigma = 0.
    """
    sched = _schedule(schedule)
    t = _decreasing(times, "times")
    sig, alp = sched.sigma(t), sched.alpha(t)              # also checks the schedule's time range
    rng = as_generator(rng)
    x = _start(x_T)
    rec = _Recorder(record, t.size, x)
    for i in range(t.size - 1):
        dt = t[i + 1] - t[i]
        alpha, sigma, f, _, g2 = _coefficients(sched, t[i])
        score = (alpha * _denoise(denoise, x, sigma, alpha, i) - x) / sigma**2  # eq. 2
        x = x + (f * x - g2 * score) * dt + np.sqrt(g2 * -dt) * rng.standard_normal(x.shape)
        _finite_state(x, i, sigma)
        rec.keep(i + 1, x)
    return Trajectory(x, t, sig, alp, rec.indices, rec.states,
                      "euler-maruyama", t.size - 1)


def ddim_times(schedule: DiscreteVP, steps: int) -> np.ndarray:
    """The DDIM grid: ``steps`` integer times evenly spaced from T down to 1, then 0 (alpha_bar = 1)."""
    T = schedule.steps
    steps = integer(steps, "steps", minimum=1, maximum=T)
    return np.append(np.round(np.linspace(T, 1, steps)), 0.0)


def ddim(denoise, schedule, x_T, steps, record=None) -> Trajectory:
    r"""Deterministic DDIM (eta = 0; Song, Meng, Ermon, ICLR 2021) on a discrete DDPM schedule (eq. 6):

    .. math:: x_{t'} = \alpha_{t'} D + \sigma_{t'}\,\frac{x_t - \alpha_t D}{\sigma_t},
              \qquad D = D(x_t; \sigma_t, \alpha_t),

    over the grid :func:`ddim_times` (``steps`` denoiser calls; the last step lands on the prediction
    of :math:`x_0`).
    """
    if not isinstance(schedule, DiscreteVP):
        raise SpectralTheoryError(f"`schedule` of ddim must be a DiscreteVP (e.g. st.VP.ddpm_linear()); got {type(schedule).__name__}")
    t = ddim_times(schedule, steps)
    sig, alp = schedule.sigma(t), schedule.alpha(t)
    x = _start(x_T)
    rec = _Recorder(record, t.size, x)
    for i in range(t.size - 1):
        D = _denoise(denoise, x, sig[i], alp[i], i)
        x = _finite_state(alp[i + 1] * D + sig[i + 1] * (x - alp[i] * D) / sig[i], i, sig[i])
        rec.keep(i + 1, x)
    return Trajectory(x, t, sig, alp, rec.indices, rec.states, "ddim", t.size - 1)
