"""Rendering of the experiments' figure specifications (:class:`validation.experiment.Figure` as data).

matplotlib is optional (extra ``plot``) and imported only inside :func:`render_figures`; without it
nothing is drawn and the caller still writes the table and the JSON.

Drawing conventions, so that a figure reads the same in every experiment:

* ``line`` series are theory (or interpolated) curves: plain lines, no markers; ``points`` are
  measurements: markers with their error bars; ``band`` is a sampled range; ``hist`` a density histogram.
* Series sharing a ``group`` (a theory curve and the points that measure it) share one colour and one
  legend entry (labelled by the group, with grey "theory" and "measured" key entries); series without
  a group get their own colour and entry.  A group or label keeps its colour in every panel.
* Reference lines (``vline``/``hline``, e.g. phase boundaries) cycle through distinct line styles and
  dark colours, each with its legend entry, one style per label in every panel of a figure; an
  unlabelled one continues the style of the one before it (the two ends of a window).
* Heat maps have one tick per cell row/column (only values that exist).
* At most :data:`MAX_COLUMNS` panels per row; more wrap into a grid.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_COLUMNS = 3
_GROUPED = ("line", "step", "points")           # kinds whose group shares one legend entry
FORMATS = ("png", "pdf", "svg")


@dataclass(frozen=True)
class Style:
    """Sizes of one figure style: a panel is ``panel_width x panel_height`` inches."""

    name: str
    panel_width: float
    panel_height: float
    font_size: float
    line_width: float
    marker_size: float
    dpi: int


STYLES = {
    # a 3-panel row is 9 in wide (1,800 px at 200 dpi): a full text width when scaled to a paper page
    "paper": Style("paper", 3.0, 2.8, 8.0, 1.3, 3.5, 200),
    # larger type and strokes for slides; a 3-panel row is 12 in wide (1,800 px at 150 dpi)
    "talk": Style("talk", 4.0, 3.6, 12.0, 2.2, 6.0, 150),
}

# reference lines: (colour, dash pattern), distinct from each other and from the data colours
_REFERENCE_STYLES = [("0.15", (0, (5, 2))), ("tab:red", (0, (1, 1.5))), ("0.45", (0, (6, 2, 1, 2))),
                     ("tab:purple", (0, (3, 1, 1, 1, 1, 1))), ("tab:brown", (0, (9, 3)))]


def check_formats(formats) -> tuple:
    """Normalise ``"png,pdf"`` or a sequence to a tuple of known formats (SpectralTheoryError otherwise)."""
    from spectral_theory import SpectralTheoryError
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    formats = tuple(dict.fromkeys(f.lower().lstrip(".") for f in formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise SpectralTheoryError(f"figure formats must be among {', '.join(FORMATS)}; got {bad or 'none'}")
    return formats


def style(name: str) -> Style:
    """The figure style called ``name`` (a key of ``STYLES``: panel size, font size, line width, marker
    size and dpi for a paper or a talk); a clear error naming the known styles otherwise."""
    from spectral_theory import SpectralTheoryError
    if name not in STYLES:
        raise SpectralTheoryError(f"figure style must be one of {', '.join(STYLES)}; got {name!r}")
    return STYLES[name]


def render_figures(records, folder, formats=("png",), style_name: str = "paper") -> list:
    """Render every figure of every record to ``folder/<name>.<format>`` for each format.

    Returns the PNG paths written (the vector files sit next to them), or [] if matplotlib is missing.
    """
    formats, st = check_formats(formats), style(style_name)
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as MplFigure
    except ImportError:
        return []
    folder = Path(folder)
    written = []
    rc = {"font.size": st.font_size, "axes.titlesize": st.font_size, "axes.labelsize": st.font_size,
          "legend.fontsize": st.font_size * 0.78, "xtick.labelsize": st.font_size * 0.9,
          "ytick.labelsize": st.font_size * 0.9, "lines.linewidth": st.line_width,
          "lines.markersize": st.marker_size, "figure.titlesize": st.font_size * 1.15,
          "svg.fonttype": "none", "pdf.fonttype": 42}
    with matplotlib.rc_context(rc):
        for rec in records:
            for spec in rec.get("figures") or []:
                folder.mkdir(parents=True, exist_ok=True)
                fig = draw_figure(spec, st, MplFigure)
                FigureCanvasAgg(fig)
                for fmt in formats:
                    path = folder / f"{spec['name']}.{fmt}"
                    fig.savefig(path, dpi=st.dpi, metadata=_metadata(fmt))
                    if fmt == "png" or (fmt == formats[0] and "png" not in formats):
                        written.append(path)
    return written


def _metadata(fmt):
    # no creation dates in vector files: the same run writes the same bytes
    return {"pdf": {"CreationDate": None}, "svg": {"Date": None}}.get(fmt)


def draw_figure(spec, st: Style, figure_class):
    """One matplotlib figure of a specification (panels in a grid of at most MAX_COLUMNS columns)."""
    panels = spec["panels"]
    rows = -(-len(panels) // MAX_COLUMNS)
    cols = -(-len(panels) // rows)                 # 4 panels as 2 x 2, not 3 + 1
    line = st.font_size / 72 * 1.25                # one text line, inches
    legend_room = max(_legend_rows(_legend_labels(panel)) * line * 0.8 + line for panel in panels)
    legend_room = legend_room if max(len(_legend_labels(panel)) for panel in panels) > 4 else 0.0
    fig = figure_class(figsize=(st.panel_width * cols, (st.panel_height + legend_room) * rows + 2 * line),
                       layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    references, colours = {}, {}                   # one style and colour per label across the panels
    for ax, panel in zip(axes, panels):
        draw_panel(ax, panel, st, references, colours)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(spec.get("title", spec["name"]))
    return fig


def _legend_labels(panel) -> list:
    """The legend texts :func:`_legend` will draw for a panel (to size the room under it)."""
    series = panel.get("series", [])
    own = [s["label"] for s in series if s.get("label") and s["kind"] != "heatmap"
           and not (s.get("group") and s["kind"] in _GROUPED)]
    groups = list(dict.fromkeys(s["group"] for s in series if s.get("group") and s["kind"] in _GROUPED))
    kinds = {s["kind"] for s in series if s.get("group") and s["kind"] in _GROUPED}
    return own + groups + (["theory", "measured"] if "points" in kinds and kinds & {"line", "step"} else [])


def _legend_columns(labels) -> int:
    """Two legend columns under a panel when the texts are short enough to fit its width side by side."""
    return 2 if max(map(len, labels), default=0) <= 20 else 1


def _legend_rows(labels) -> int:
    return -(-len(labels) // _legend_columns(labels))


def _colours(series, keys) -> list:
    """Colour per series: one per group (theory and its measurements alike), else per label, shared by
    the panels of a figure through ``keys``; series with neither get a colour of their own."""
    from matplotlib import rcParams
    cycle = rcParams["axes.prop_cycle"].by_key()["color"]
    out = []
    for s in series:
        if s["kind"] in ("vline", "hline", "heatmap"):
            out.append(None)
            continue
        key = s.get("group") or s.get("label") or object()
        keys.setdefault(key, cycle[len(keys) % len(cycle)])
        out.append(keys[key])
    return out


def draw_panel(ax, panel, st: Style, references=None, colours=None):
    """Draw one panel of a figure specification on the matplotlib axes ``ax`` in style ``st``.

    The series kinds are line, points (with error bars), hist, step, vline/hline (reference lines), band and
    heatmap. Series of one group share a colour and one legend entry; ``colours`` (group -> colour) and
    ``references`` (label -> dash style index) are shared across the panels of a figure so that a label keeps
    its colour and dash pattern in every panel.
    """
    import numpy as np
    series = panel.get("series", [])
    colours = _colours(series, {} if colours is None else colours)
    references = {} if references is None else references
    reference = 0
    grouped = {}                                   # group -> legend handles of its line/points series
    for s, colour in zip(series, colours):
        kind, label, group = s["kind"], s.get("label") or None, s.get("group") or None
        x, y, yerr = (_floats(s.get(k)) for k in ("x", "y", "yerr"))
        if group and kind in _GROUPED:
            label = None                           # the group's legend entry stands for it
        handle = None
        if kind == "line":
            (handle,) = ax.plot(x, y, color=colour, label=label, zorder=2)
        elif kind == "points":
            handle = ax.errorbar(x, y, yerr=yerr, fmt="o", color=colour, capsize=1.5,
                                 elinewidth=0.8 * st.line_width, markeredgewidth=0, label=label, zorder=3)
        elif kind == "hist":
            xs = x[np.isfinite(x)]
            if xs.size:
                ax.hist(xs, bins=min(80, max(10, int(len(xs) ** 0.5))), density=True, alpha=0.45,
                        color=colour, label=label)
        elif kind == "step":
            (handle,) = ax.step(x, y, where="mid", color=colour, label=label)
        elif kind in ("vline", "hline"):
            if label is not None:
                reference = references.setdefault(label, len(references))
            c, dash = _REFERENCE_STYLES[reference % len(_REFERENCE_STYLES)]
            draw = ax.axvline if kind == "vline" else ax.axhline
            for v in (x if kind == "vline" else (y if y is not None and len(y) else x)):
                draw(v, color=c, ls=dash, lw=0.8 * st.line_width, label=label, zorder=1)
                label = None
        elif kind == "band":
            ax.fill_between(x, y, yerr, alpha=0.25, color=colour, lw=0, label=label)
        elif kind == "heatmap":
            mesh = ax.pcolormesh(x, y, _floats(s["z"]), shading="nearest", cmap="viridis")
            ax.figure.colorbar(mesh, ax=ax, label=label)
            ax.set_xticks(_cell_ticks(x))
            ax.set_yticks(_cell_ticks(y))
        members = grouped.setdefault(group, {}) if group else {}
        if handle is not None and group and kind not in members:
            members[kind] = handle                 # one line and one marker per group in the legend
    if panel.get("logx"):
        ax.set_xscale("log")
    if panel.get("logy"):
        ax.set_yscale("log")
    ax.set_title(_wrap(panel.get("title", ""), int(st.panel_width * 72 / (0.7 * st.font_size))))
    ax.set_xlabel(panel.get("xlabel", ""))
    ax.set_ylabel(panel.get("ylabel", ""))
    _legend(ax, grouped, st)


def _legend(ax, grouped, st: Style):
    """Legend: the ungrouped entries, one entry per group (its line and marker together), and a grey
    key saying which of them is theory and which is measured."""
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D
    handles, labels = ax.get_legend_handles_labels()
    kinds = set()
    for group, members in grouped.items():
        if members:
            handles.append(tuple(members.values()))
            labels.append(group)
            kinds |= set(members)
    if "points" in kinds and kinds & {"line", "step"}:
        handles += [Line2D([], [], color="0.35"), Line2D([], [], color="0.35", marker="o", ls="none")]
        labels += ["theory", "measured"]
    if not labels:
        return
    handler = {tuple: HandlerTuple(ndivide=None)}
    if len(labels) <= 4:
        ax.legend(handles, labels, framealpha=0.85, handler_map=handler)
    else:                                          # long legends go under the axes, not over the data
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                  ncols=_legend_columns(labels), frameon=False, handler_map=handler)


def _wrap(text: str, width: int) -> str:
    """Break a title into lines of at most ``width`` characters at spaces outside ``$...$`` math."""
    words, inside = [], False
    for token in text.split(" "):
        if inside:
            words[-1] += " " + token
        else:
            words.append(token)
        inside ^= token.count("$") % 2 == 1
    lines = [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    return "\n".join(lines)


def _floats(values):
    """A series' numbers as floats; JSON nulls (non-finite values) become nan (gaps in a line)."""
    if values is None:
        return None
    import numpy as np
    return np.array([[np.nan if v is None else v for v in row] if isinstance(row, list) else
                     (np.nan if row is None else row) for row in values], dtype=float)


def _cell_ticks(values, most: int = 10) -> list:
    """Tick positions at existing cell centres only (every k-th one when there are many)."""
    values = list(values)
    step = -(-len(values) // most)
    return values[::step]


__all__ = ["render_figures", "draw_figure", "draw_panel", "check_formats", "style", "STYLES", "FORMATS",
           "MAX_COLUMNS", "Style"]
