"""Figure rendering (validation.figures): sizes, labels, formats, colours, from synthetic specs covering
every series kind and from the real figure specs of a quick run of a few cheap experiments."""
from dataclasses import asdict

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.colors import to_rgba                                     # noqa: E402
from matplotlib.figure import Figure as MplFigure                        # noqa: E402

from spectral_theory import SpectralTheoryError                          # noqa: E402
from validation import figures, report, suite                            # noqa: E402
from validation.experiment import Figure, Series, registry               # noqa: E402

CHEAP = ("spiked_mean_projection", "spectral_gap_peak_window", "spiked_emergence_order", "molrg_jacobian_rank",
         "spiked_overlaps")
MAX_ASPECT, MAX_WIDTH_PX = 3.0, 2400


def _synthetic():
    x = np.linspace(0.1, 3, 30)
    every_kind = dict(title="every kind", xlabel="$x$", ylabel="$y$", series=[
        Series("line", x, np.exp(-x), label="theory", group="$a=1$"),
        Series("points", x[::5], np.exp(-x[::5]) + 0.01, np.full(6, 0.02), label="measured", group="$a=1$"),
        Series("line", x, np.exp(-2 * x), label="theory 2", group="$a=2$"),
        Series("points", x[::5], np.exp(-2 * x[::5]), np.full(6, 0.02), label="measured 2", group="$a=2$"),
        Series("hist", np.random.default_rng(0).exponential(size=500), label="samples"),
        Series("step", x, np.floor(x), label="count"),
        Series("band", x, np.exp(-x) - 0.1, np.exp(-x) + 0.1, label="band"),
        Series("vline", [1.0], label="boundary 1"), Series("vline", [2.0], label="boundary 2"),
        Series("hline", [], [0.5], label="level")])
    heat = dict(title="heat map", xlabel="$N_k$", ylabel="$d$", series=[
        Series("heatmap", [1, 2, 3, 4], [2, 4, 6], z=np.arange(12).reshape(3, 4) / 11, label="p")])
    panels = [every_kind, heat] + [dict(title=f"panel {i}", xlabel="u", ylabel="v",
                                        series=[Series("line", x, x**i, label="curve")]) for i in range(5)]
    return [dict(name="synthetic", claim="synthetic figures", source="tests", preset="quick", seconds=0.0,
                 verdict="agree", checks=[], parameters={}, notes="", error=None,
                 figures=[asdict(Figure("synthetic_grid", "Seven panels", panels, caption="A caption.")),
                          asdict(Figure("synthetic_one", "One panel", [every_kind]))])]


@pytest.fixture(scope="module")
def records():
    return _synthetic() + [suite.run_experiment(n, "quick", 3) for n in CHEAP]


def test_cheap_experiments_are_registered_and_have_figures(records):
    reg = registry()
    assert all(n in reg for n in CHEAP)
    assert all(r["figures"] for r in records)


def test_every_declared_format_is_written_and_sizes_fit(records, tmp_path):
    written = figures.render_figures(records, tmp_path, "png")
    specs = [s for r in records for s in r["figures"]]
    assert sorted(p.name for p in written) == sorted(f"{s['name']}.png" for s in specs)
    vector = figures.render_figures(records[:1], tmp_path / "vector", "pdf,svg")     # the vector formats
    assert sorted(p.suffix for p in vector) == [".pdf", ".pdf"]                      # first format when no PNG
    for s in records[0]["figures"]:
        for fmt in ("pdf", "svg"):
            assert (tmp_path / "vector" / f"{s['name']}.{fmt}").stat().st_size > 1000
    import matplotlib.image as mpimg
    for s in specs:
        h, w = mpimg.imread(tmp_path / f"{s['name']}.png").shape[:2]
        assert w <= MAX_WIDTH_PX and w / h <= MAX_ASPECT, (s["name"], w, h)
        assert figures.STYLES["paper"].dpi >= 150


def test_talk_style_fits_too(records, tmp_path):
    import matplotlib.image as mpimg
    one = [dict(records[0], figures=records[0]["figures"][:1])] + [r for r in records if r["name"] == "spiked_overlaps"]
    for path in figures.render_figures(one, tmp_path, ("png",), "talk"):
        h, w = mpimg.imread(path).shape[:2]
        assert w <= MAX_WIDTH_PX and w / h <= MAX_ASPECT


def _drawn(spec):
    return figures.draw_figure(spec, figures.STYLES["paper"], MplFigure)


def test_every_axis_is_labelled_and_rows_hold_at_most_three_panels(records):
    for spec in (s for r in records for s in r["figures"]):
        fig = _drawn(spec)
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
        assert len(axes) == len(spec["panels"]), spec["name"]
        for ax in axes:
            assert ax.get_xlabel() and ax.get_ylabel(), (spec["name"], ax.get_title())
        columns = {round(ax.get_position().x0, 3) for ax in axes}
        assert len(columns) <= figures.MAX_COLUMNS, spec["name"]


def test_theory_and_points_of_one_group_share_a_colour():
    spec = _synthetic()[0]["figures"][1]
    ax = _drawn(spec).axes[0]
    lines = [l for l in ax.get_lines() if l.get_linestyle() == "-" and l.get_drawstyle() == "default"
             and len(l.get_xdata()) == 30]
    markers = [l for l in ax.get_lines() if l.get_marker() == "o"]
    assert len(lines) == 2 and len(markers) == 2
    for line, points in zip(lines, markers):
        assert to_rgba(line.get_color()) == to_rgba(points.get_color())
    assert to_rgba(lines[0].get_color()) != to_rgba(lines[1].get_color())
    # the two boundaries are told apart: different dash patterns, both in the legend
    vlines = [l for l in ax.get_lines() if list(l.get_xdata()) in ([1.0, 1.0], [2.0, 2.0])]
    assert len({to_rgba(l.get_color()) for l in vlines}) == 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"boundary 1", "boundary 2", "$a=1$", "$a=2$", "theory", "measured"} <= set(legend)


def test_real_groups_share_colours(records):
    rec = next(r for r in records if r["name"] == "spiked_overlaps")
    spec = next(s for s in rec["figures"] if s["name"] == "spiked_overlap_curves")
    ax = _drawn(spec).axes[2]                                          # rank 4: four groups
    theory = [l for l in ax.get_lines() if l.get_marker() in ("None", "", None) and len(l.get_xdata()) > 50]
    points = [l for l in ax.get_lines() if l.get_marker() == "o"]
    assert len(theory) == len(points) == 4
    assert [to_rgba(l.get_color()) for l in theory] == [to_rgba(p.get_color()) for p in points]


def test_heatmap_ticks_only_at_cells():
    ax = _drawn(_synthetic()[0]["figures"][0]).axes[1]
    assert list(ax.get_xticks()) == [1, 2, 3, 4] and list(ax.get_yticks()) == [2, 4, 6]


def test_measured_points_carry_error_bars(records):
    for rec in records:
        for spec in rec["figures"]:
            for panel in spec["panels"]:
                for s in panel["series"]:
                    if s["kind"] == "points":
                        assert s.get("yerr") is not None, (spec["name"], s["label"])


def test_caption_and_vector_links_in_the_report(records, tmp_path):
    paths = report.write_report(tmp_path, records[:2], dict(preset="quick", seed=3), formats="png,svg")
    md = paths["report"].read_text()
    assert "![Seven panels](figures/synthetic_grid.png)" in md and "A caption." in md
    assert "[SVG](figures/synthetic_grid.svg)" in md
    peak = next(s for s in records[2]["figures"] if s["name"] == "spectral_gap_profile")
    assert "Tracy-Widom" in peak["caption"]


def test_bad_figure_options_raise():
    with pytest.raises(SpectralTheoryError, match="formats"):
        figures.check_formats("png,jpeg")
    with pytest.raises(SpectralTheoryError, match="style"):
        figures.style("poster")
