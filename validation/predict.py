"""``spectral-theory predict``: a few headline predictions from the command line.

Each quantity is a thin wrapper over the numeric core: it parses ``key=value`` parameters, calls
``spectral_theory`` and returns a flat dict printed as a table (or JSON with ``--json``).

Examples::

    spectral-theory predict bbp spike=2 aspect=0.5
    spectral-theory predict bbp spikes=3 tau=1.5 aspect=0.5
    spectral-theory predict emergence spikes=4 aspect=0.25 schedule=vp
    spectral-theory predict gap a=0.5 b=4 threshold=0.1
    spectral-theory predict phases blocks=50:4,50:0.5 dim=500 threshold=0.1 schedule=ou
    spectral-theory predict collapse n_points=1000 dim=10 schedule=ou
    spectral-theory predict spectrum fractions=0.1,0.1 variances=4,0.5

Keys are the parameter names of ``spectral_theory.parameters``; the old keys (``snr``, ``spike`` with
``noise``, ``eigenvalue``, ``weights`` of ``spectrum``) still work for one release, with a warning.
"""
from __future__ import annotations

import difflib
import json
import math
import sys
import warnings

import spectral_theory as st
from spectral_theory.checks import SpectralTheoryError
from spectral_theory.parameters import warn_renamed

from .cli import plain

SCHEDULES = {"vp": st.VP, "ve": st.VE, "ou": st.OU, "edm": st.EDM, "ddpm": st.VP.ddpm_linear}


def _floats(text, name):
    try:
        return [float(v) for v in str(text).split(",")]
    except ValueError as e:
        raise SpectralTheoryError(f"`{name}` must be a comma-separated list of numbers; got {text!r}") from e


def _schedule(p):
    name = p.pop("schedule", None)
    if name is None:
        return None
    if name.lower() not in SCHEDULES:                      # names are case-insensitive: VP, vp, Vp
        raise SpectralTheoryError(f"`schedule` must be one of {sorted(SCHEDULES)} (any case); got {name!r}")
    return SCHEDULES[name.lower()]()


def _time(schedule, tau):
    """``schedule``'s time of ``tau``, or None where tau is outside the schedule's range."""
    if schedule is None or tau is None or not math.isfinite(tau):
        return None
    try:
        return schedule.time_of_tau(tau)
    except SpectralTheoryError:
        return None


def bbp(p):
    """Rank-1 spiked covariance: BBP threshold, top sample eigenvalue (units of the noise), squared
    overlaps. Parameters: ``spike`` (ell = lambda/tau) or ``spikes`` (lambda) and ``tau``; ``aspect`` (D/N)."""
    if "noise" in p and "spike" in p:                      # the old spelling: spike = lambda at noise = tau
        warn_renamed("spike=, noise=", "spikes=, tau=", "predict bbp")
        p["spikes"], p["tau"] = p.pop("spike"), p.pop("noise")
    aspect = float(p.pop("aspect"))
    if "spikes" in p or "tau" in p:
        if "spike" in p:
            raise SpectralTheoryError("`predict bbp` takes `spike` (already in noise units) or `spikes` with `tau`, not both")
        spike = st.spiked.effective_spike(float(p.pop("spikes")), float(p.pop("tau")))
    else:
        spike = float(p.pop("spike"))
    return dict(spike=spike, aspect=aspect, threshold=st.spiked.threshold(aspect),
                top_eigenvalue=st.spiked.top_eigenvalue(spike, aspect), overlap=st.spiked.overlap(spike, aspect),
                right_overlap=st.spiked.right_overlap(spike, aspect))


def emergence(p):
    """Noise variance (and schedule time) below which a component of eigenvalue ``spikes`` is estimable
    from N = D/``aspect`` samples: tau* = lambda/sqrt(gamma)."""
    sched = _schedule(p)
    lam, aspect = float(p.pop("spikes")), float(p.pop("aspect"))
    tau = st.spiked.emergence_tau(lam, aspect)
    return dict(spikes=lam, aspect=aspect, tau=tau, time=_time(sched, tau))


def gap(p):
    """Intermediate gap between covariance edges a < b: peak (tau_max, gap_max) and, with ``threshold``,
    the visibility window."""
    a, b = float(p.pop("a")), float(p.pop("b"))
    tau_max, gap_max = st.gap_peak(a, b)
    out = dict(a=a, b=b, tau_max=tau_max, gap_max=gap_max)
    if "threshold" in p:
        out["window_lo"], out["window_hi"] = st.gap_window(a, b, float(p.pop("threshold")))
    return out


def phases(p):
    """Phase boundaries (tau, and time under ``schedule``) of a Gaussian-basis linear manifold with
    ``blocks=m1:v1,m2:v2`` in ``dim`` dimensions at resolution ``threshold``."""
    sched = _schedule(p)
    try:
        blocks = [(int(m), float(v)) for m, v in (b.split(":") for b in p.pop("blocks").split(","))]
    except ValueError as e:
        raise SpectralTheoryError("`blocks` must look like m1:v1,m2:v2") from e
    model = st.LinearManifold(int(p.pop("dim")), blocks, rng=0)
    ph = st.phases(model, threshold=float(p.pop("threshold", 0.1)))
    out = dict(tau_trivial=ph.tau_trivial, tau_manifold_gap=ph.tau_manifold_gap,
               tau_consolidation=ph.tau_consolidation, tau_speciation=ph.tau_speciation)
    for i, s in enumerate(ph.separations):
        out[f"separation{i + 1}_tau_peak"] = s.tau_peak
        out[f"separation{i + 1}_gap_peak"] = s.gap_peak
        out[f"separation{i + 1}_window"] = None if s.window is None else list(s.window)   # tau range where visible
    if sched is not None:
        t = ph.in_time(sched)                              # NaN where tau is outside the schedule's range
        for key in ("t_trivial", "t_manifold_gap", "t_consolidation", "t_speciation"):
            out[key] = _finite_or_none(getattr(t, key))
        for i, w in enumerate(t.separation_windows):
            out[f"separation{i + 1}_t_window"] = None if w is None else [_finite_or_none(v) for v in w]
    return out


def _finite_or_none(v):
    return None if v is None or math.isnan(v) else v


def collapse(p):
    """Collapse noise variance tau_C = variance/(P^(2/d) - 1) of the empirical score of ``n_points``
    points in ``dim`` dimensions (and its time under ``schedule``)."""
    sched = _schedule(p)
    tau = st.collapse_tau(int(p.pop("n_points")), float(p.pop("dim")), float(p.pop("variance", 1.0)))
    return dict(tau_collapse=tau, time=_time(sched, tau))


def spectrum(p):
    """Support, atoms and gaps of the multi-block law of C = F diag(v) F^T (``fractions`` m_k/D,
    ``variances`` v_k)."""
    law = st.rmt.Silverstein(_floats(p.pop("fractions"), "fractions"), _floats(p.pop("variances"), "variances"))
    out = {}
    for i, (lo, hi) in enumerate(law.support()):
        out[f"bulk{i + 1}"] = [lo, hi]
    for i, (x, w) in enumerate(law.atoms):
        out[f"atom{i + 1}"] = [x, w]
    for i, g in enumerate(law.gaps()):
        out[f"gap{i + 1}"] = [g.lo, g.hi]
    return out


QUANTITIES = dict(bbp=bbp, emergence=emergence, gap=gap, phases=phases, collapse=collapse, spectrum=spectrum)
#: the keys each quantity takes (an unknown key is an error listing these)
KEYS = dict(bbp=("spike", "spikes", "tau", "aspect"), emergence=("spikes", "aspect", "schedule"),
            gap=("a", "b", "threshold"), phases=("blocks", "dim", "threshold", "schedule"),
            collapse=("n_points", "dim", "variance", "schedule"), spectrum=("fractions", "variances"))
_OLD_KEYS = dict(bbp=("noise",))                           # old spellings handled inside the quantity
#: old key -> new key, per quantity (accepted with a DeprecationWarning for one release)
RENAMED_KEYS = dict(bbp=dict(snr="spike"), emergence=dict(eigenvalue="spikes"), spectrum=dict(weights="fractions"))


def predict(quantity: str, params: dict) -> dict:
    """Evaluate ``quantity`` with string ``params``; unknown or missing parameters are clear errors."""
    if quantity not in QUANTITIES:
        close = difflib.get_close_matches(quantity, QUANTITIES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpectralTheoryError(f"unknown quantity {quantity!r}{hint} (known: {', '.join(QUANTITIES)})")
    p = dict(params)
    valid = KEYS[quantity]
    for key in p:
        if key not in valid + _OLD_KEYS.get(quantity, ()) + tuple(RENAMED_KEYS.get(quantity, {})):
            close = difflib.get_close_matches(key, valid + tuple(RENAMED_KEYS.get(quantity, {})), n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise SpectralTheoryError(f"`predict {quantity}`: unknown parameter `{key}`{hint}; "
                                      f"it takes {', '.join(valid)}")
    for old, new in RENAMED_KEYS.get(quantity, {}).items():
        if old in p:
            if new in p:
                raise SpectralTheoryError(f"`predict {quantity}`: got both `{old}` (deprecated) and `{new}`")
            warn_renamed(old, new, f"predict {quantity}")
            p[new] = p.pop(old)
    try:
        out = QUANTITIES[quantity](p)
    except KeyError as e:
        raise SpectralTheoryError(f"`predict {quantity}` needs parameter {e.args[0]}=... "
                                  f"(it takes {', '.join(KEYS[quantity])})") from None
    except ValueError as e:
        if isinstance(e, SpectralTheoryError):
            raise
        raise SpectralTheoryError(f"`predict {quantity}`: {e}") from None
    if p:
        raise SpectralTheoryError(f"`predict {quantity}` does not take parameter(s) {', '.join(sorted(p))}")
    return out


def predict_cli(args) -> int:
    """``spectral-theory predict QUANTITY key=value ...``: print a closed-form prediction; returns the exit code."""
    if args.quantity == "help":
        for name, fn in QUANTITIES.items():
            print(f"{name:<10} {' '.join(plain(fn.__doc__).split())} Keys: {', '.join(KEYS[name])}.")
        return 0
    params = {}
    for item in args.params:
        if "=" not in item:
            raise SpectralTheoryError(f"parameters are key=value; got {item!r}")
        k, v = item.split("=", 1)
        params[k.strip()] = v.strip()
    with warnings.catch_warnings(record=True) as caught:          # a command-line user sees old keys flagged
        warnings.simplefilter("always", DeprecationWarning)
        out = predict(args.quantity, params)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        width = max(map(len, out))
        for k, v in out.items():
            print(f"{k:<{width}}  {_shown(v)}")
    return 0


def _shown(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(map(_shown, v)) + "]"
    return "n/a" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)
