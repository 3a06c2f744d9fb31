"""The validation suite: run registered experiments, print the verdict table, write the report.

``spectral-theory validate [NAMES] [--quick|--full] [--out DIR] [--workers N] [--scheduler ADDR]
[--seed S] [--quiet]`` calls :func:`validate_cli`; ``spectral-theory list`` calls :func:`list_cli`.

* Seeds: experiment ``name`` runs on ``SeedSequence(seed, spawn_key=h(name))`` with ``h`` four 32-bit
  words of SHA-256(name) (:func:`experiment_seed`), so its stream depends on ``--seed`` and its own
  name only: adding or removing experiments changes nothing else, and any worker layout gives the
  same numbers.
* Execution: one task per experiment through :func:`validation.sweep.run_sweep` (a local process pool
  with ``--workers``, a Dask cluster with ``--scheduler``; the long experiments tagged ``trained`` are
  submitted first), stored in ``DIR/validation.sqlite`` as each
  experiment finishes, so an interrupted ``validate`` resumes: rerunning skips experiments already
  finished with the same seed, preset and code (a hash of the experiment module's source and of the
  spectral_theory and validation packages is a task parameter, so editing either reruns it).
* Output: a table (experiment, quantity, prediction, measurement +- standard error, tolerance,
  detectable error, verdict) with per-experiment timing and power summary; ``DIR/results.json``, ``DIR/report.md`` and PNG figures
  (:mod:`validation.report`).  The exit status is 1 if any experiment disagrees or fails, else 0.
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import inspect
import math
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import spectral_theory
from spectral_theory.checks import SpectralTheoryError, integer

from .report import _num
from .sweep import run_sweep
from .experiment import AGREE, DISAGREE, INCONCLUSIVE, Context, ExperimentResult, broken_modules, registry

ERROR = "error"
QUICK_BUDGET_SECONDS = 15.0       # per experiment: the whole quick suite must finish in 2 minutes
STORE_NAME = "validation.sqlite"


# ---- seeds and names ---------------------------------------------------------------------------
def experiment_seed(seed: int, name: str) -> np.random.SeedSequence:
    """The experiment's own stream: ``SeedSequence(seed, spawn_key=sha256(name)[:16] as 4 uint32)``."""
    if not isinstance(name, str):
        raise SpectralTheoryError(f"`name` must be an experiment name (str); got {name!r:.60}")
    words = np.frombuffer(hashlib.sha256(name.encode()).digest()[:16], dtype="<u4")
    return np.random.SeedSequence(integer(seed, "seed", minimum=0), spawn_key=tuple(int(w) for w in words))


def resolve_names(names, available) -> list:
    """The requested experiment names (all if none), rejecting unknown ones with close matches."""
    available = sorted(available)
    if not names:
        return available
    unknown = [n for n in names if n not in available]
    if unknown:
        hints = []
        for n in unknown:
            close = difflib.get_close_matches(n, available, n=3, cutoff=0.5)
            hints.append(f"`{n}`" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        raise SpectralTheoryError(f"unknown experiment {'; '.join(hints)}; `spectral-theory list` shows the "
                                  f"{len(available)} registered experiments")
    return list(dict.fromkeys(names))


def check_output_dir(out) -> Path:
    """Create ``out`` if needed and make sure a file can be written there (before anything runs)."""
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise SpectralTheoryError(f"cannot write the report folder `{out}`: {e.strerror or e}") from e
    return path


@functools.cache
def _library_hash() -> str:
    """SHA-256 of the sources of spectral_theory and validation (a stored result is reused only if
    the code that computed it is the same)."""
    h = hashlib.sha256()
    for pkg in (spectral_theory, sys.modules[__package__]):
        root = Path(pkg.__file__).parent
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _source_hash(exp) -> str:
    try:
        src = inspect.getsource(sys.modules[exp.run.__module__])
    except (OSError, TypeError, KeyError):
        src = exp.run.__module__
    return hashlib.sha256((src + _library_hash()).encode()).hexdigest()[:16]


# ---- running -----------------------------------------------------------------------------------
def _clean(obj):
    """JSON-safe copy: non-finite floats become None (strict JSON has no NaN/inf)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def run_experiment(name: str, preset: str, seed: int, progress: bool = False) -> dict:
    """Run one registered experiment on its own stream; return its JSON-safe result record.

    An experiment that raises becomes a record with verdict "error" and the traceback.
    """
    exp = registry()[name]
    ss = experiment_seed(seed, name)
    ctx = Context(preset=preset, rng=np.random.default_rng(ss), seed=ss, workers=1, progress=progress)
    start = time.perf_counter()
    try:
        outcome = exp.run(ctx)
    except Exception:                       # an experiment's bug must not take the suite down
        return dict(name=name, claim=exp.claim, source=exp.source, preset=preset, seconds=time.perf_counter() - start,
                    verdict=ERROR, error=traceback.format_exc(), checks=[], figures=[], parameters={}, notes="")
    record = ExperimentResult(exp, outcome, time.perf_counter() - start, preset).to_dict()
    record["error"] = None
    return _clean(record)


def experiment_task(params: dict, rng) -> dict:
    """Sweep task: one experiment (``params``: name, preset, seed, code).  The sweep's ``rng`` is not
    used: the experiment's stream is :func:`experiment_seed` (seed, name), the same on every route."""
    return run_experiment(params["name"], params["preset"], params["seed"])


def run_experiments(names, preset="quick", seed=0, *, workers=1, scheduler=None, store_dir=None,
                    progress=False) -> tuple:
    """Run the named experiments; return (records in the order of ``names``, number taken from the store).

    Runs through :func:`validation.sweep.run_sweep`: parallel on ``workers`` or a Dask ``scheduler``,
    resumable from ``store_dir`` (one sweep per root seed, so runs with different seeds share a folder).
    """
    reg = registry()
    # longest first (the trained-network experiments train for minutes): otherwise one of them starting
    # last leaves the other workers idle for its whole run
    order = sorted(names, key=lambda n: "trained" not in reg[n].tags)
    points = [dict(name=n, preset=preset, seed=int(seed), code=_source_hash(reg[n])) for n in order]
    store = None if store_dir is None else str(Path(store_dir) / STORE_NAME)
    result = run_sweep(experiment_task, points, seed=int(seed), store=store, workers=workers,
                       scheduler=scheduler, progress=progress, name=f"validate-seed{int(seed)}")
    by_name = {p["name"]: (p, row) for p, row in zip(points, result.rows)}
    records = []
    for p, row in (by_name[n] for n in names):
        if row["result"] is not None:
            rec = dict(row["result"])
        else:
            exp = reg[p["name"]]
            rec = dict(name=p["name"], claim=exp.claim, source=exp.source, preset=preset, seconds=row["seconds"],
                       verdict=ERROR, error=row.get("error"), checks=[], figures=[], parameters={}, notes="")
        records.append(rec)
    return records, result.n_skipped


# ---- the table ---------------------------------------------------------------------------------
def format_detectable(check: dict) -> str:
    """A check's detectable error: "3.1%" (relative), "abs 0.012" (zero prediction), "+ qual."
    when it cannot detect a 50% error (see :mod:`validation.experiment`)."""
    d = check.get("detectable_error")
    if d is None:
        return "n/a"
    text = f"{100 * d:.3g}%" if check.get("relative") else f"abs {d:.2g}"
    return text + (" qual." if check.get("qualitative") else "")


def format_table(records) -> str:
    """Plain-text table: experiment, quantity, prediction, measurement +- s.e., tolerance, detectable
    error, verdict."""
    header = ("experiment", "quantity", "prediction", "measurement +- s.e.", "tolerance", "detectable", "verdict")
    rows = []
    for r in records:
        if r["verdict"] == ERROR:
            last = (r.get("error") or "").strip().splitlines()[-1:] or ["?"]
            rows.append((r["name"], "(failed to run)", "", last[0][:60], "", "", ERROR.upper()))
            continue
        for c in r["checks"]:
            rows.append((r["name"], c["quantity"], _num(c["predicted"]),
                         f"{_num(c['measured'])} +- {_num(c['stderr'])}", _num(c["tolerance"]),
                         format_detectable(c), c["verdict"] if c["verdict"] == AGREE else c["verdict"].upper()))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    widths[1] = min(widths[1], 60)
    line = lambda cells: "  ".join(str(c)[:w].ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]
    return "\n".join(out)


def power_summary(records) -> dict:
    """Over all checks of ``records``: numbers of checks, qualitative checks and zero predictions,
    the median and largest relative detectable error over nonzero predictions, and the largest over
    the quantitative ones."""
    checks = [c for r in records for c in r["checks"] if c.get("detectable_error") is not None]
    rel = [c["detectable_error"] for c in checks if c["relative"]]
    quant = [c["detectable_error"] for c in checks if c["relative"] and not c["qualitative"]]
    return dict(checks=len(checks), qualitative=sum(c["qualitative"] for c in checks),
                zero_predictions=sum(not c["relative"] for c in checks),
                median_detectable_error=float(np.median(rel)) if rel else None,
                max_detectable_error=float(np.max(rel)) if rel else None,
                max_quantitative_detectable_error=float(np.max(quant)) if quant else None)


def format_summary(records, preset) -> str:
    """The terminal table of a run: one row per experiment (verdict, seconds, checks, qualitative checks,
    median detectable error; quick-preset rows over the per-experiment budget are marked), then the totals
    and the power summary."""
    width = max([len(r["name"]) for r in records] + [10]) + 2
    lines = ["", "experiment".ljust(width) + "verdict".ljust(14) + "seconds  checks  qual.  median detectable"]
    for r in records:
        slow = (f"  slow: over the {QUICK_BUDGET_SECONDS:g} s quick budget"
                if preset == "quick" and r["seconds"] > QUICK_BUDGET_SECONDS else "")
        pw = r.get("power") or {}
        med = pw.get("median_detectable_error")
        lines.append(r["name"].ljust(width) + r["verdict"].ljust(14) + f"{r['seconds']:7.1f}"
                     + f"{pw.get('checks', 0):8d}{pw.get('qualitative', 0):7d}  "
                     + ("n/a" if med is None else f"{100 * med:.3g}%").rjust(17) + slow)
    counts = {v: sum(r["verdict"] == v for r in records) for v in (AGREE, INCONCLUSIVE, DISAGREE, ERROR)}
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items() if n) +
                 f"; {sum(r['seconds'] for r in records):.1f} s of experiments")
    p = power_summary(records)
    if p["median_detectable_error"] is not None:
        lines.append(f"power: median detectable error {100 * p['median_detectable_error']:.3g}% over "
                     f"{p['checks'] - p['zero_predictions']} checks with a nonzero prediction; "
                     f"{p['qualitative']} qualitative (cannot detect a 50% error); largest quantitative "
                     f"{100 * (p['max_quantitative_detectable_error'] or 0):.3g}%")
    return "\n".join(lines)


# ---- command line ------------------------------------------------------------------------------
def validate_cli(args) -> int:
    """``spectral-theory validate``: run the selected experiments (or the built-in mutants with
    ``--mutants``), write the report, results and figures to ``--out``; returns the exit code (1 if an
    experiment disagrees or fails, or a mutant survives; else 0)."""
    names = resolve_names(getattr(args, "names", None), registry().keys())
    out = check_output_dir(args.out)
    from .figures import check_formats, style
    formats, fig_style = check_formats(getattr(args, "format", "png")), getattr(args, "style", "paper")
    style(fig_style)                               # bad figure options fail before the experiments run
    progress = not getattr(args, "quiet", False)
    started = time.perf_counter()
    # experiments are many small dense problems: one BLAS thread per process, parallelism from --workers
    with threadpool_limits(1):
        records, from_store = run_experiments(names, args.preset, args.seed, workers=args.workers,
                                              scheduler=args.scheduler, store_dir=out, progress=progress)
    wall = time.perf_counter() - started
    if not getattr(args, "names", None):          # the whole suite: modules that failed to import count as failures
        records += [dict(name=f"<module {mod}>", claim="(experiment module failed to import)", source=mod,
                         preset=args.preset, seconds=0.0, verdict=ERROR, error=tb, checks=[], figures=[],
                         parameters={}, notes="") for mod, tb in broken_modules().items()]
    print(format_table(records))
    print(format_summary(records, args.preset))
    if from_store:
        print(f"{from_store} of {len(records)} experiments were already finished in {out / STORE_NAME} "
              "(same seed, preset and code) and were not rerun")
    from .report import write_report
    meta = dict(preset=args.preset, seed=args.seed, workers=args.workers, scheduler=args.scheduler,
                wall_seconds=wall, command=" ".join(sys.argv), power=power_summary(records))
    paths = write_report(out, records, meta, formats=formats, style=fig_style)
    print(f"wall time {wall:.1f} s; report: {paths['report']}" +
          ("" if paths["figures"] or not any(r["figures"] for r in records) else " (no figures: matplotlib is not installed)"))
    return 1 if any(r["verdict"] in (DISAGREE, ERROR) for r in records) else 0


def list_cli(args) -> int:
    """``spectral-theory list``: the registered experiments and derivations (and any experiment module that
    failed to import); returns the exit code."""
    reg = registry()
    print(f"experiments ({len(reg)}):")
    for mod, tb in broken_modules().items():
        print(f"  (module {mod} failed to import: {tb.strip().splitlines()[-1]})")
    width = max((len(n) for n in reg), default=0) + 2
    for name, exp in reg.items():
        print(f"  {name.ljust(width)}{exp.claim}")
    try:
        import derivations
        entries = derivations.catalogue()
    except Exception as e:   # derivations need sympy; the experiments list stands on its own
        print(f"derivations: unavailable ({type(e).__name__}: {e})")
        return 0
    print(f"derivations ({len(entries)}):")
    width = max((len(e.name) for e in entries), default=0) + 2
    for e in entries:
        print(f"  {e.name.ljust(width)}{e.title}")
    return 0


__all__ = ["experiment_seed", "resolve_names", "check_output_dir", "run_experiment", "experiment_task",
           "run_experiments", "format_table", "format_detectable", "format_summary", "power_summary",
           "validate_cli", "list_cli", "ERROR"]
