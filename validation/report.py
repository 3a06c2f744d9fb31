"""The report folder of ``spectral-theory validate``.

``DIR/results.json``
    ``{"meta": {...}, "experiments": [record, ...]}``; a record is
    :meth:`validation.experiment.ExperimentResult.to_dict` (name, claim, source, preset, verdict,
    critical value, parameters, notes, checks with tolerance and verdict, figures as data) plus
    ``error`` (traceback of an experiment that failed to run, else null).  Strict JSON: non-finite
    numbers are written as null.  Reproducible: the same seed, preset and code give the same bytes
    (sorted keys, shortest round-trip float repr, and nothing that depends on the run: no timings,
    dates, command line or worker layout).  :func:`load_results` reads it back.
``DIR/run.json``
    what does depend on the run: ``meta`` (created, command, workers, scheduler, python, wall_seconds),
    ``seconds`` (per experiment) and ``timings`` (what experiments measured of their own speed).
``DIR/figures/<figure>.png``
    each figure specification rendered with matplotlib (theory curves over simulated histograms or
    points with error bars); skipped without matplotlib (optional extra ``plot``).
``DIR/report.md``
    per experiment: claim, source, verdict, timing, parameters, the checks (prediction, measurement +-
    standard error, tolerance, verdict, the finite-size note) and the embedded figures.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import time
from pathlib import Path

from spectral_theory._checks import SpectralTheoryError

from .store import as_path

RESULTS, RUN, REPORT, FIGURES = "results.json", "run.json", "report.md", "figures"
#: meta fields and record fields that describe the run, not its results (written to run.json)
RUN_META = ("created", "command", "workers", "scheduler", "python", "wall_seconds")
RUN_RECORD = ("seconds", "timings")


def _atomic_write(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)                     # a reader never sees half a file


def write_report(out_dir, records, meta=None) -> dict:
    """Write results.json, the PNG figures (if matplotlib imports) and report.md into ``out_dir``.

    Returns the paths written: ``results``, ``report``, ``figures`` (list, empty without matplotlib).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = dict(meta or {})
    try:
        from spectral_theory import __version__ as version
    except ImportError:                       # pragma: no cover
        version = "unknown"
    meta.setdefault("version", version)
    meta.setdefault("created", time.strftime("%Y-%m-%d %H:%M:%S %z"))
    meta.setdefault("python", platform.python_version())
    records = json.loads(_json(records))       # the report shows what results.json holds (sorted keys)
    results = out / RESULTS
    _atomic_write(results, _json(dict(meta={k: v for k, v in meta.items() if k not in RUN_META},
                                      experiments=[{k: v for k, v in r.items() if k not in RUN_RECORD}
                                                   for r in records])))
    _atomic_write(out / RUN, _json(dict(meta={k: meta.get(k) for k in RUN_META},
                                        seconds={r["name"]: r.get("seconds") for r in records},
                                        timings={r["name"]: r["timings"] for r in records if r.get("timings")})))
    figures = _render_changed(records, out / FIGURES)
    report = out / REPORT
    _atomic_write(report, markdown(records, meta, {p.stem for p in figures}))
    return dict(results=results, report=report, figures=figures)


def _json(obj) -> str:
    # sorted keys and Python's shortest round-trip float repr: equal content, equal bytes
    return json.dumps(obj, indent=1, sort_keys=True, allow_nan=False) + "\n"


def load_results(path) -> tuple:
    """Read a ``results.json`` (or the folder holding it); return ``(meta, records)``.

    The run's own data from ``run.json`` beside it, when present, is merged back: the meta fields
    (created, command, ...) into ``meta``, ``seconds`` and ``timings`` into each record.
    """
    p = as_path(path, "path")
    if p.is_dir():
        p = p / RESULTS
    try:
        data = json.loads(p.read_text())
        meta, records = data["meta"], data["experiments"]
        if not isinstance(meta, dict) or not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise TypeError("`meta` must be an object and `experiments` a list of objects")
    except OSError as e:
        raise SpectralTheoryError(f"`path`: cannot read the results file {str(p)!r}: {e.strerror or e}") from e
    except (ValueError, KeyError, TypeError) as e:           # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise SpectralTheoryError(f"`{p}` is not a results.json of spectral-theory validate "
                                  f"({type(e).__name__}: {e})") from e
    run_file = p.with_name(RUN)
    if run_file.is_file():
        try:
            run = json.loads(run_file.read_text())
            meta = {**meta, **run["meta"]}
            records = [dict(r, seconds=run["seconds"].get(r.get("name")),
                            timings=run.get("timings", {}).get(r.get("name"), {})) for r in records]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise SpectralTheoryError(f"`{run_file}` is not a run.json of spectral-theory validate "
                                      f"({type(e).__name__}: {e})") from e
    return meta, records


# ---- figures -----------------------------------------------------------------------------------
_DIGESTS = ".digests.json"   # figure name -> digest of what its file was drawn from


def _render_changed(records, folder, *options) -> list:
    """:func:`render_figures` for the figures whose file is missing or was drawn from other data.

    Rendering is most of a fully stored rerun's time (about 1 s per figure); a figure is redrawn only
    if its specification, the rendering options, the renderer's source or matplotlib's version
    changed (their SHA-256 is kept in ``folder/.digests.json``).  Returns every figure's path.
    """
    try:
        mpl = importlib.metadata.version("matplotlib")
    except importlib.metadata.PackageNotFoundError:
        return []
    folder = Path(folder)
    renderer = hashlib.sha256(Path(render_figures.__code__.co_filename).read_bytes()).hexdigest()
    try:
        old = json.loads((folder / _DIGESTS).read_text())
    except (OSError, ValueError):
        old = {}
    digests, kept, stale = {}, [], []
    for rec in records:
        for spec in rec.get("figures") or []:
            text = json.dumps([spec, options, mpl, renderer], sort_keys=True, allow_nan=True)
            digests[spec["name"]] = hashlib.sha256(text.encode()).hexdigest()
            path = folder / f"{spec['name']}.png"
            if old.get(spec["name"]) == digests[spec["name"]] and path.is_file():
                kept.append(path)
            else:
                stale.append(spec)
    written = render_figures([dict(figures=stale)], folder, *options) if stale else []
    done = {p.stem for p in kept + written}
    if done:
        _atomic_write(folder / _DIGESTS, json.dumps({k: v for k, v in digests.items() if k in done}, sort_keys=True))
    return kept + written


def render_figures(records, folder) -> list:
    """Render every figure of every record to ``folder/<name>.png``; [] if matplotlib is missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as MplFigure
    except ImportError:
        return []
    folder = Path(folder)
    written = []
    for rec in records:
        for spec in rec.get("figures") or []:
            folder.mkdir(parents=True, exist_ok=True)
            panels = spec["panels"]
            fig = MplFigure(figsize=(5.2 * len(panels), 4.0), layout="constrained")
            FigureCanvasAgg(fig)
            axes = fig.subplots(1, len(panels), squeeze=False)[0]
            for ax, panel in zip(axes, panels):
                _draw_panel(ax, panel)
            fig.suptitle(spec.get("title", spec["name"]))
            path = folder / f"{spec['name']}.png"
            fig.savefig(path, dpi=110)
            written.append(path)
    return written


def _draw_panel(ax, panel):
    for s in panel.get("series", []):
        kind, x, y, yerr, label = s["kind"], s.get("x"), s.get("y"), s.get("yerr"), s.get("label") or None
        if kind == "line":
            ax.plot(x, y, lw=1.8, label=label)
        elif kind == "points":
            ax.errorbar(x, y, yerr=yerr, fmt="o", ms=4, capsize=2, label=label)
        elif kind == "hist":
            xs = [v for v in x if v is not None]
            if xs:
                ax.hist(xs, bins=min(80, max(10, int(len(xs) ** 0.5))), density=True, alpha=0.45, label=label)
        elif kind == "step":
            ax.step(x, y, where="mid", label=label)
        elif kind == "vline":
            for v in x:
                ax.axvline(v, color="0.4", ls=":", lw=1, label=label)
                label = None
        elif kind == "hline":
            for v in (y if y is not None else x):
                ax.axhline(v, color="0.4", ls=":", lw=1, label=label)
                label = None
        elif kind == "band":
            ax.fill_between(x, y, yerr, alpha=0.25, label=label)
        elif kind == "heatmap":
            mesh = ax.pcolormesh(x, y, s["z"], shading="nearest", cmap="viridis")
            ax.figure.colorbar(mesh, ax=ax, label=label)
    if panel.get("logx"):
        ax.set_xscale("log")
    if panel.get("logy"):
        ax.set_yscale("log")
    ax.set_title(panel.get("title", ""), fontsize=10)
    ax.set_xlabel(panel.get("xlabel", ""))
    ax.set_ylabel(panel.get("ylabel", ""))
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=8)


# ---- markdown ----------------------------------------------------------------------------------
def _num(v):
    return "n/a" if v is None else f"{v:.4g}"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(records, meta, rendered=()) -> str:
    """The report.md text (figures embedded when their PNG was rendered)."""
    counts = {}
    for r in records:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    lines = ["# spectral-theory validation report", "",
             f"Preset `{meta.get('preset')}`, seed {meta.get('seed')}, package version {meta.get('version')}, "
             f"{meta.get('created', '')}; wall time {meta.get('wall_seconds', float('nan')):.1f} s.", "",
             "Verdicts: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) + ".  A check agrees when "
             "|measured - predicted| <= z x standard error + the stated finite-size bound, z the two-sided "
             "normal quantile at family level 0.01 with a Bonferroni correction over the experiment's checks.", "",
             "| experiment | verdict | checks | seconds |", "|---|---|---|---|"]
    for r in records:
        lines.append(f"| [{r['name']}](#{r['name'].replace('_', '-').lower()}) | {r['verdict']} | "
                     f"{len(r['checks'])} | {r['seconds']:.1f} |")
    for r in records:
        lines += ["", f"## {r['name']}", "", f"**Claim.** {r['claim']}", "", f"**Source.** {r['source']}", "",
                  f"**Verdict: {r['verdict']}** ({r['seconds']:.1f} s, preset {r['preset']}"
                  + (f", z = {r['critical_value']:.3g}" if r.get("critical_value") else "") + ")."]
        if r.get("error"):
            lines += ["", "The experiment failed to run:", "", "```", r["error"].rstrip(), "```"]
            continue
        if r.get("parameters"):
            lines += ["", "**Parameters.** " + ", ".join(f"`{k}` = {_cell(json.dumps(v))}" for k, v in r["parameters"].items())]
        lines += ["", "| quantity | prediction | measurement +- s.e. | finite-size bound | tolerance | verdict | note |",
                  "|---|---|---|---|---|---|---|"]
        for c in r["checks"]:
            lines.append(f"| {_cell(c['quantity'])} | {_num(c['predicted'])} | {_num(c['measured'])} +- "
                         f"{_num(c['stderr'])} | {_num(c['finite_size'])} | {_num(c['tolerance'])} | "
                         f"{c['verdict']} | {_cell(c.get('note', ''))} |")
        if r.get("notes"):
            lines += ["", r["notes"]]
        for spec in r.get("figures") or []:
            if spec["name"] in rendered:
                lines += ["", f"![{spec.get('title', spec['name'])}]({FIGURES}/{spec['name']}.png)"]
    return "\n".join(lines) + "\n"


__all__ = ["write_report", "load_results", "render_figures", "markdown"]
