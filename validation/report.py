"""The report folder of ``spectral-theory validate``.

``DIR/results.json``
    ``{"meta": {...}, "experiments": [record, ...]}``; a record is
    :meth:`validation.experiment.ExperimentResult.to_dict` (name, claim, source, preset, seconds,
    verdict, critical value, parameters, notes, checks with tolerance and verdict, figures as data) plus
    ``error`` (traceback of an experiment that failed to run, else null).  Strict JSON: non-finite
    numbers are written as null.  :func:`load_results` reads it back.
``DIR/figures/<figure>.png`` (and ``.pdf``/``.svg`` when asked for)
    each figure specification rendered by :mod:`validation.figures` (theory curves over simulated
    histograms or points with error bars); skipped without matplotlib (optional extra ``plot``).
``DIR/report.md``
    per experiment: claim, source, verdict, timing, parameters, the checks (prediction, measurement +-
    standard error, tolerance, verdict, the finite-size note) and the embedded figures with their
    captions and links to the vector files.
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS, REPORT, FIGURES = "results.json", "report.md", "figures"


def _atomic_write(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)                     # a reader never sees half a file


def write_report(out_dir, records, meta=None, formats=("png",), style="paper") -> dict:
    """Write results.json, the figures (if matplotlib imports) and report.md into ``out_dir``.

    ``formats`` (png, pdf, svg) and ``style`` ("paper" or "talk") are passed to
    :func:`validation.figures.render_figures`.  Returns the paths written: ``results``, ``report``,
    ``figures`` (the PNGs, or the first format's files without PNG; empty without matplotlib).
    """
    from .figures import check_formats, render_figures
    formats = check_formats(formats)
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
    results = out / RESULTS
    _atomic_write(results, json.dumps(dict(meta=meta, experiments=list(records)), indent=1, allow_nan=False))
    figures = render_figures(records, out / FIGURES, formats, style)
    report = out / REPORT
    _atomic_write(report, markdown(records, meta, {p.stem for p in figures}, formats))
    return dict(results=results, report=report, figures=figures)


def load_results(path) -> tuple:
    """Read a ``results.json`` (or the folder holding it); return ``(meta, records)``."""
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS
    data = json.loads(p.read_text())
    return data["meta"], data["experiments"]


# ---- markdown ----------------------------------------------------------------------------------
def _num(v):
    return "n/a" if v is None else f"{v:.4g}"


def _detectable(c):
    from .suite import format_detectable
    return format_detectable(c)


def _power_line(p):
    """' N checks, Q qualitative, median detectable error M%' (empty without a summary)."""
    if not p:
        return ""
    med = p.get("median_detectable_error")
    return (f" {p['checks']} checks, {p['qualitative']} qualitative, {p['zero_predictions']} with a zero prediction"
            + ("" if med is None else f"; median detectable error {100 * med:.3g}% (largest "
               f"{100 * p['max_detectable_error']:.3g}%)") + ".")


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(records, meta, rendered=(), formats=("png",)) -> str:
    """The report.md text: figures embedded (PNG) and linked (vector formats) when rendered, each
    followed by its caption."""
    counts = {}
    for r in records:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    lines = ["# spectral-theory validation report", "",
             f"Preset `{meta.get('preset')}`, seed {meta.get('seed')}, package version {meta.get('version')}, "
             f"{meta.get('created', '')}; wall time {meta.get('wall_seconds', float('nan')):.1f} s.", "",
             "Verdicts: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) + ".  A check agrees when "
             "|measured - predicted| <= z x standard error + the stated finite-size bound, z the two-sided "
             "normal quantile at family level 0.01 with a Bonferroni correction over the experiment's checks. "
             "Detectable error: the tolerance over |prediction| (the relative error of the prediction the check "
             "detects half the time; for a zero prediction the tolerance, absolute); a check that cannot detect "
             "a 50% error is qualitative (not counted as agreement)." + _power_line(meta.get("power")), "",
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
        if r.get("compares"):
            lines += ["", "**Compares.** " + ", ".join(f"`{c}`" for c in r["compares"])]
        if r.get("power"):
            lines += ["", "**Power.**" + _power_line(r["power"])]
        if r.get("parameters"):
            lines += ["", "**Parameters.** " + ", ".join(f"`{k}` = {_cell(json.dumps(v))}" for k, v in r["parameters"].items())]
        lines += ["", "| quantity | prediction | measurement +- s.e. | finite-size bound | tolerance | detectable "
                      "| verdict | note |", "|---|---|---|---|---|---|---|---|"]
        for c in r["checks"]:
            lines.append(f"| {_cell(c['quantity'])} | {_num(c['predicted'])} | {_num(c['measured'])} +- "
                         f"{_num(c['stderr'])} | {_num(c['finite_size'])} | {_num(c['tolerance'])} | "
                         f"{_detectable(c)} | {c['verdict']} | {_cell(c.get('note', ''))} |")
        if r.get("notes"):
            lines += ["", r["notes"]]
        for spec in r.get("figures") or []:
            if spec["name"] in rendered:
                lines += [""] + _figure_lines(spec, formats)
    return "\n".join(lines) + "\n"


def _figure_lines(spec, formats) -> list:
    name, title = spec["name"], spec.get("title", spec["name"])
    files = [f"[{fmt.upper()}]({FIGURES}/{name}.{fmt})" for fmt in formats if fmt != "png"]
    lines = [f"![{title}]({FIGURES}/{name}.png)"] if "png" in formats else []
    text = " ".join(t for t in (f"*{title}.*" if "png" not in formats else "", spec.get("caption", "")) if t)
    if files:
        text += (" " if text else "") + "Vector: " + ", ".join(files) + "."
    return lines + (["", text] if lines and text else [text] if text else [])


__all__ = ["write_report", "load_results", "markdown"]
