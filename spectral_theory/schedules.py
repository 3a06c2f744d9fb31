r"""Noise schedules: the single place where alpha(t), sigma(t) and everything derived from them live.

Every forward process in the package is Gaussian,

.. math:: x_t = \alpha(t)\, x_0 + \sigma(t)\, \xi, \qquad \xi \sim \mathcal N(0, I),

and maps onto the variance-exploding form by dividing by :math:`\alpha`:
:math:`x_t/\alpha = x_0 + (\sigma/\alpha)\xi`.  The **VE-equivalent noise variance**
:math:`\tau = \sigma^2/\alpha^2` is the variable in which the theory is written; the SNR is
:math:`1/\tau`.  A schedule only says which :math:`\tau` belongs to which :math:`t`.

Each schedule supplies :math:`\alpha, \sigma` and their time derivatives in closed form; the base class
derives :math:`\tau`, the SNR, :math:`d\tau/dt`, the probability-flow/SDE coefficients and checks the
time range.  ``time_of_tau`` is the exact inverse of ``tau``.

References: Song et al., "Score-based generative modeling through SDEs" (ICLR 2021); Ho et al.,
"DDPM" (NeurIPS 2020); Karras et al., "Elucidating the design space of diffusion-based generative
models" (NeurIPS 2022); Biroli et al., arXiv 2402.18491 (the OU process).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from .checks import SpectralTheoryError, allocation, array, integer, scalar

__all__ = ["Schedule", "VE", "VP", "DiscreteVP", "OU", "EDM", "edm_sigmas", "as_schedule", "SCHEDULES", "MAX_GRID"]


class Schedule(ABC):
    """A forward noising process :math:`x_t = \\alpha(t) x_0 + \\sigma(t) \\xi` on ``[t_min, t_max]``.

    Subclasses implement ``_alpha``, ``_sigma``, ``_d_alpha``, ``_d_sigma`` and ``_time_of_tau`` on
    validated float arrays; the public methods validate ``t`` and return a float for scalar input.
    """

    t_min: float
    t_max: float

    # -- what a family supplies -------------------------------------------------------------
    @abstractmethod
    def _alpha(self, t): ...

    @abstractmethod
    def _sigma(self, t): ...

    @abstractmethod
    def _d_alpha(self, t): ...

    @abstractmethod
    def _d_sigma(self, t): ...

    @abstractmethod
    def _time_of_tau(self, tau): ...

    def _d_sigma2(self, t):
        r""":math:`d\sigma^2/dt`; families override it where :math:`\sigma' \to \infty` at
        :math:`\sigma = 0` (VP, OU, DDPM at t = 0) so that :math:`d\tau/dt` and :math:`g^2` keep
        their finite limits."""
        return 2 * self._sigma(t) * self._d_sigma(t)

    # -- validation ---------------------------------------------------------------------------
    def _t(self, t, name="t"):
        a = array(t, name, allow_empty=True)
        if a.size and (a.min() < self.t_min or a.max() > self.t_max):
            bad = a.min() if a.min() < self.t_min else a.max()
            raise SpectralTheoryError(
                f"`{name}` of {type(self).__name__} must lie in [{self.t_min}, {self.t_max}]; got {bad}")
        return a

    @staticmethod
    def _out(values, like):
        return float(values) if np.ndim(like) == 0 else values

    def _eval(self, fn, t):
        a = self._t(t)
        return self._out(fn(a), t)

    # -- public, all derived from the four primitives ---------------------------------------------
    def alpha(self, t):
        r"""Signal scale :math:`\alpha(t)`."""
        return self._eval(self._alpha, t)

    def sigma(self, t):
        r"""Noise scale :math:`\sigma(t)`."""
        return self._eval(self._sigma, t)

    def d_alpha(self, t):
        r""":math:`d\alpha/dt`."""
        return self._eval(self._d_alpha, t)

    def d_sigma(self, t):
        r""":math:`d\sigma/dt` (``inf`` at a time where :math:`\sigma = 0` and :math:`\sigma \propto
        \sqrt{t}`: VP, OU and DDPM at t = 0)."""
        return self._eval(self._d_sigma, t)

    def tau(self, t):
        r"""VE-equivalent noise variance :math:`\tau = \sigma^2/\alpha^2`."""
        return self._eval(lambda a: (self._sigma(a) / self._alpha(a)) ** 2, t)

    def snr(self, t):
        r"""Signal-to-noise ratio :math:`\alpha^2/\sigma^2 = 1/\tau` (inf where sigma = 0)."""
        def f(a):
            s = self._sigma(a)
            with np.errstate(divide="ignore"):
                return np.where(s > 0, (self._alpha(a) / np.where(s > 0, s, 1.0)) ** 2, np.inf)
        return self._eval(f, t)

    def log_snr(self, t):
        r""":math:`\log(\alpha^2/\sigma^2) = -\log\tau` (``inf`` where sigma = 0, as :meth:`snr`)."""
        def f(a):
            with np.errstate(divide="ignore"):
                return 2.0 * (np.log(self._alpha(a)) - np.log(self._sigma(a)))
        return self._eval(f, t)

    def d_tau(self, t):
        r""":math:`d\tau/dt = (\sigma^2)'/\alpha^2 - 2\sigma^2\alpha'/\alpha^3` (finite at t = 0)."""
        def f(a):
            al, s = self._alpha(a), self._sigma(a)
            return self._d_sigma2(a) / al**2 - 2 * s**2 * self._d_alpha(a) / al**3
        return self._eval(f, t)

    def drift(self, t):
        r"""Drift coefficient :math:`f(t) = \alpha'/\alpha` of the forward SDE
        :math:`dx = f x\,dt + g\,dW`."""
        return self._eval(lambda a: self._d_alpha(a) / self._alpha(a), t)

    def diffusion_squared(self, t):
        r"""Squared diffusion coefficient :math:`g^2 = (\sigma^2)' - 2(\alpha'/\alpha)\sigma^2`
        (so that the forward SDE has marginal variance :math:`\sigma^2` around :math:`\alpha x_0`;
        :math:`g^2 = \beta(t)` for VP, :math:`2` for OU, finite at t = 0)."""
        def f(a):
            s = self._sigma(a)
            return self._d_sigma2(a) - 2 * self._d_alpha(a) / self._alpha(a) * s**2
        return self._eval(f, t)

    def time_of_tau(self, tau):
        r"""Inverse of :meth:`tau`: the time at which :math:`\sigma^2/\alpha^2 = \tau`."""
        return self._out(self._time_in_range(array(tau, "tau", nonnegative=True, allow_empty=True), "tau"), tau)

    def time_of_sigma_ve(self, sigma_ve):
        r"""Time at which the VE-equivalent noise level :math:`\sigma/\alpha` equals ``sigma_ve``."""
        s = array(sigma_ve, "sigma_ve", nonnegative=True, allow_empty=True)
        with np.errstate(over="ignore"):
            return self._out(self._time_in_range(s**2, "sigma_ve", np.sqrt), sigma_ve)

    def _time_in_range(self, tau, name, shown=lambda v: v):
        """time_of_tau on a validated array, after checking it lies in the schedule's tau range (the
        error names ``name`` and shows its bounds through ``shown``)."""
        lo, hi = self.tau(self.t_min), self.tau(self.t_max)
        if tau.size and (tau.min() < lo * (1 - 1e-12) or tau.max() > hi * (1 + 1e-12)):
            bad = tau.min() if tau.min() < lo else tau.max()
            raise SpectralTheoryError(
                f"`{name}` of {type(self).__name__} must lie in [{shown(lo)}, {shown(hi)}] (the schedule's "
                f"range); got {shown(bad)}")
        return np.clip(self._time_of_tau(np.clip(tau, lo, hi)), self.t_min, self.t_max)


@dataclass(frozen=True)
class VE(Schedule):
    r"""Variance exploding (Song et al. 2021): :math:`\alpha = 1`,
    :math:`\sigma(t) = \sigma_{\min} (\sigma_{\max}/\sigma_{\min})^t`, :math:`t \in [0, 1]`."""

    sigma_min: float = 0.01
    sigma_max: float = 50.0
    t_min: float = field(default=0.0, init=False)
    t_max: float = field(default=1.0, init=False)

    def __post_init__(self):
        lo = scalar(self.sigma_min, "sigma_min", positive=True)
        hi = scalar(self.sigma_max, "sigma_max", positive=True)
        if not hi > lo:
            raise SpectralTheoryError(f"`sigma_max` must exceed `sigma_min`; got {hi} <= {lo}")

    @property
    def _log_ratio(self):
        return np.log(self.sigma_max / self.sigma_min)

    def _alpha(self, t):
        return np.ones_like(t)

    def _d_alpha(self, t):
        return np.zeros_like(t)

    def _sigma(self, t):
        return self.sigma_min * np.exp(t * self._log_ratio)

    def _d_sigma(self, t):
        return self._sigma(t) * self._log_ratio

    def _time_of_tau(self, tau):
        with np.errstate(divide="ignore"):
            return (0.5 * np.log(tau) - np.log(self.sigma_min)) / self._log_ratio


@dataclass(frozen=True)
class EDM(Schedule):
    r"""EDM (Karras et al. 2022): :math:`\alpha = 1`, :math:`\sigma(t) = t` on
    :math:`[\sigma_{\min}, \sigma_{\max}]`; :meth:`grid` is the Karras sampling grid."""

    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0

    def __post_init__(self):
        lo = scalar(self.sigma_min, "sigma_min", positive=True)
        hi = scalar(self.sigma_max, "sigma_max", positive=True)
        scalar(self.rho, "rho", positive=True)
        if not hi > lo:
            raise SpectralTheoryError(f"`sigma_max` must exceed `sigma_min`; got {hi} <= {lo}")

    @property
    def t_min(self):
        return self.sigma_min

    @property
    def t_max(self):
        return self.sigma_max

    def _alpha(self, t):
        return np.ones_like(t)

    def _d_alpha(self, t):
        return np.zeros_like(t)

    def _sigma(self, t):
        return t.copy()

    def _d_sigma(self, t):
        return np.ones_like(t)

    def _time_of_tau(self, tau):
        return np.sqrt(tau)

    def grid(self, n: int) -> np.ndarray:
        """The Karras grid of ``n`` noise levels (see :func:`edm_sigmas`), decreasing."""
        return edm_sigmas(n, self.sigma_min, self.sigma_max, self.rho)


#: largest grid :func:`edm_sigmas` builds (80 MB of float64): longer grids are a mistake, not a sampler
MAX_GRID = 10**7


def edm_sigmas(n: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> np.ndarray:
    r"""Karras et al. (2022, eq. 5) sampling grid, from ``sigma_max`` down to ``sigma_min``:

    .. math:: \sigma_i = \big(\sigma_{\max}^{1/\rho} + \tfrac{i}{n-1}(\sigma_{\min}^{1/\rho}
              - \sigma_{\max}^{1/\rho})\big)^\rho, \quad i = 0, \dots, n-1,

    evaluated as :math:`\sigma_{\max}\exp(\rho\,\mathrm{log1p}(u\,\mathrm{expm1}(\log(\sigma_{\min}
    /\sigma_{\max})/\rho)))`, :math:`u = i/(n-1)`, which neither overflows for small :math:`\rho` nor
    loses the geometric limit :math:`\rho \to \infty`.  ``2 <= n <=`` :data:`MAX_GRID`.
    The EDM samplers append a final :math:`\sigma_n = 0`; that is the sampler's business.
    """
    n = integer(n, "n", minimum=2, maximum=MAX_GRID)
    lo = scalar(sigma_min, "sigma_min", positive=True)
    hi = scalar(sigma_max, "sigma_max", positive=True)
    r = scalar(rho, "rho", positive=True)
    if not hi > lo:
        raise SpectralTheoryError(f"`sigma_max` must exceed `sigma_min`; got {hi} <= {lo}")
    u = np.arange(n, dtype=np.float64) / (n - 1)
    with np.errstate(over="ignore"):       # expm1 -> -1 when the ratio's 1/rho power underflows
        s = hi * np.exp(r * np.log1p(u[:-1] * np.expm1((np.log(lo) - np.log(hi)) / r)))
    s = np.append(np.minimum(s, hi), lo)   # exact endpoints despite the power round trip
    s[0] = hi
    return s


@dataclass(frozen=True)
class VP(Schedule):
    r"""Variance preserving with continuous linear :math:`\beta(t) = \beta_{\min} + t(\beta_{\max} -
    \beta_{\min})`, :math:`t \in [0, 1]` (Song et al. 2021):
    :math:`\bar\alpha(t) = \exp(-\beta_{\min} t - \tfrac12(\beta_{\max}-\beta_{\min}) t^2)`,
    :math:`\alpha = \sqrt{\bar\alpha}`, :math:`\sigma = \sqrt{1-\bar\alpha}`,
    so :math:`\tau = (1-\bar\alpha)/\bar\alpha`.  :meth:`ddpm_linear` gives the discrete DDPM schedule."""

    beta_min: float = 0.1
    beta_max: float = 20.0
    t_min: float = field(default=0.0, init=False)
    t_max: float = field(default=1.0, init=False)

    def __post_init__(self):
        lo = scalar(self.beta_min, "beta_min", positive=True)
        hi = scalar(self.beta_max, "beta_max", positive=True)
        if hi < lo:
            raise SpectralTheoryError(f"`beta_max` must be >= `beta_min`; got {hi} < {lo}")

    @staticmethod
    def ddpm_linear(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> "DiscreteVP":
        """The discrete DDPM schedule of Ho et al. (2020): ``betas = linspace(beta_start, beta_end, T)``."""
        T = integer(T, "T", minimum=1)
        # per step (bytes): the linspace (8), a tuple of numpy floats (40), DiscreteVP's array (8) and its tuple
        # of Python floats (32)
        allocation(96 * T, "T", T, f"{T} steps (betas as arrays and tuples of floats)")
        b0 = scalar(beta_start, "beta_start", positive=True, hi=1.0, hi_open=True)
        b1 = scalar(beta_end, "beta_end", positive=True, hi=1.0, hi_open=True)
        return DiscreteVP(tuple(np.linspace(b0, b1, T)))

    def beta(self, t):
        r""":math:`\beta(t) = -d\log\bar\alpha/dt`."""
        return self._eval(self._beta, t)

    def _beta(self, t):
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def _log_abar(self, t):
        return -(self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2)

    def _alpha(self, t):
        return np.exp(0.5 * self._log_abar(t))

    def _sigma(self, t):
        return np.sqrt(-np.expm1(self._log_abar(t)))

    def _d_alpha(self, t):
        return -0.5 * self._beta(t) * self._alpha(t)

    def _d_sigma(self, t):
        s = self._sigma(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s > 0, 0.5 * self._beta(t) * np.exp(self._log_abar(t)) / s, np.inf)

    def _d_sigma2(self, t):
        return self._beta(t) * np.exp(self._log_abar(t))          # d(1 - abar)/dt = beta abar

    def _time_of_tau(self, tau):
        # -log abar = log1p(tau) = b0 t + (db/2) t^2; the root in the cancellation-free form
        L, b0, db = np.log1p(tau), self.beta_min, self.beta_max - self.beta_min
        return 2 * L / (b0 + np.sqrt(b0**2 + 2 * db * L))


@dataclass(frozen=True)
class DiscreteVP(Schedule):
    r"""Discrete variance-preserving schedule (DDPM): :math:`\bar\alpha_n = \prod_{i\le n}(1-\beta_i)`
    at integer steps :math:`n = 0..T` (:math:`\bar\alpha_0 = 1`).  Between steps
    :math:`\log\bar\alpha` is interpolated linearly, so the schedule is a continuous, strictly monotone
    function of :math:`t \in [0, T]` with an exact inverse; at integers it is the DDPM schedule."""

    betas: tuple
    t_min: float = field(default=0.0, init=False)

    def __post_init__(self):
        b = array(self.betas, "betas", ndim=1, positive=True)
        if np.any(b >= 1):
            raise SpectralTheoryError("`betas` must lie in (0, 1)")
        object.__setattr__(self, "betas", tuple(float(v) for v in b))

    @property
    def t_max(self) -> float:
        return float(len(self.betas))

    @property
    def steps(self) -> int:
        """Number of steps T."""
        return len(self.betas)

    @property
    def _log_abar_nodes(self):
        return np.concatenate([[0.0], np.cumsum(np.log1p(-np.asarray(self.betas)))])

    def alphas_cumprod(self) -> np.ndarray:
        r""":math:`\bar\alpha_n` for n = 1..T (the array DDPM code calls ``alphas_cumprod``)."""
        return np.exp(self._log_abar_nodes[1:])

    def _log_abar(self, t):
        return np.interp(t, np.arange(self.steps + 1.0), self._log_abar_nodes)

    def _slope(self, t):
        # d log abar / dt on the segment containing t (right-continuous; the last node uses the last step)
        k = np.clip(np.floor(t).astype(int), 0, self.steps - 1)
        return np.log1p(-np.asarray(self.betas))[k]

    def _alpha(self, t):
        return np.exp(0.5 * self._log_abar(t))

    def _sigma(self, t):
        return np.sqrt(-np.expm1(self._log_abar(t)))

    def _d_alpha(self, t):
        return 0.5 * self._slope(t) * self._alpha(t)

    def _d_sigma(self, t):
        s = self._sigma(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s > 0, -0.5 * self._slope(t) * np.exp(self._log_abar(t)) / s, np.inf)

    def _d_sigma2(self, t):
        return -self._slope(t) * np.exp(self._log_abar(t))

    def _time_of_tau(self, tau):
        # -log abar is increasing and piecewise linear in t: invert by interpolation
        return np.interp(np.log1p(tau), -self._log_abar_nodes, np.arange(self.steps + 1.0))


@dataclass(frozen=True)
class OU(Schedule):
    r"""Ornstein-Uhlenbeck process (Biroli et al. 2024): :math:`\alpha = e^{-t}`,
    :math:`\sigma = \sqrt{1 - e^{-2t}}`, so :math:`\tau = e^{2t} - 1`, :math:`t \in [0, t_{\max}]`."""

    t_max: float = 20.0
    t_min: float = field(default=0.0, init=False)

    def __post_init__(self):
        scalar(self.t_max, "t_max", positive=True)

    def _alpha(self, t):
        return np.exp(-t)

    def _sigma(self, t):
        return np.sqrt(-np.expm1(-2 * t))

    def _d_alpha(self, t):
        return -np.exp(-t)

    def _d_sigma(self, t):
        s = self._sigma(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s > 0, np.exp(-2 * t) / s, np.inf)

    def _d_sigma2(self, t):
        return 2 * np.exp(-2 * t)

    def _time_of_tau(self, tau):
        return 0.5 * np.log1p(tau)


#: schedule names accepted wherever a schedule is (case-insensitive), each with its default parameters
SCHEDULES = {"vp": VP, "ve": VE, "ou": OU, "edm": EDM, "ddpm": VP.ddpm_linear}


def as_schedule(schedule, name: str = "schedule") -> Schedule:
    """A :class:`Schedule`, or one named in :data:`SCHEDULES` (case-insensitive) with its defaults.

    The one resolver of schedule names: every function taking a schedule calls it."""
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str) and schedule.strip().lower() in SCHEDULES:
        return SCHEDULES[schedule.strip().lower()]()
    got = repr(schedule) if isinstance(schedule, str) else type(schedule).__name__
    raise SpectralTheoryError(f"`{name}` must be a Schedule or one of the names {sorted(SCHEDULES)} "
                              f"(case-insensitive); got {got}")
