"""Charts rendered on the server as SVG (pygal), each with its numbers in a table.

pygal adds a tooltip script to every SVG; it is stripped, since the pages allow no inline scripts
and the numbers are in the table next to the chart anyway.
"""
import math
import sys
from dataclasses import dataclass, field

import numpy as np
import pygal
from markupsafe import Markup
from pygal.etree import etree
from pygal.style import Style

# pygal installs an import hook for its map plugins (unused here) that warns on every later import.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
STYLE = Style(
    font_family=FONT, label_font_family=FONT, major_label_font_family=FONT, value_font_family=FONT,
    value_label_font_family=FONT, tooltip_font_family=FONT, title_font_family=FONT, legend_font_family=FONT,
    no_data_font_family=FONT, background="transparent", plot_background="transparent",
    colors=("#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997"),
    title_font_size=16, label_font_size=13, major_label_font_size=13, legend_font_size=13,
)
COMMON = dict(style=STYLE, js=[], disable_xml_declaration=True, explicit_size=False, print_values=False,
              show_legend=True, legend_at_bottom=True, truncate_legend=-1, truncate_label=-1, margin=12)


@dataclass(frozen=True)
class Chart:
    """An SVG chart and the same numbers as a table (headers, rows)."""

    title: str
    svg: Markup
    headers: list[str]
    rows: list[list] = field(default_factory=list)


def _svg(chart) -> Markup:
    root = chart.render_tree()
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).endswith("script"):
                parent.remove(child)
    return Markup(etree.tostring(root, encoding="unicode"))


def _clean(values):
    """Numbers for the chart and its table: NaN → None, counts stay whole, the rest to 2 decimals."""
    return [None if v is None or (isinstance(v, float) and math.isnan(v))
            else int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else round(float(v), 2)
            for v in values]


def _table(labels, series):
    return [[label] + [values[i] for values in series.values()] for i, label in enumerate(labels)]


def _integer_ticks(top: int) -> list[int]:
    """Whole-number ticks 0 … ≥ top, about five of them: counts have no 0.2 of a person."""
    step = max(1, math.ceil(max(top, 1) / 5))
    return list(range(0, max(top, 1) + step, step))


def _all_counts(series: dict[str, list]) -> bool:
    values = [v for values in series.values() for v in values if v is not None]
    return bool(values) and all(isinstance(v, int) for v in values)


def radar(title: str, labels: list[str], series: dict[str, list], value_range=(1, 5),
          first_header: str = "") -> Chart:
    """One polygon per series over ``labels`` (e.g. competencies); None/NaN values are left out.

    The scale starts at its low end (1 on a 1–5 scale, not 0); rings are labelled except the outer
    one, whose number would sit on the top label; labels stay horizontal (a tiny non-zero rotation,
    since pygal turns 0 into "follow the spoke")."""
    series = {name: _clean(values) for name, values in series.items()}
    low, high = value_range
    rings = [{"value": v, "label": "" if v == high else f"{v:g}"} for v in range(int(low), int(high) + 1)]
    chart = pygal.Radar(title=title, range=value_range, zero=low, y_labels=rings, x_label_rotation=1e-9,
                        fill=False, dots_size=3, width=560, height=440, **COMMON)
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values, allow_interruptions=True)
    return Chart(title, _svg(chart), [first_header, *series], _table(labels, series))


def bars(title: str, labels: list[str], series: dict[str, list], value_range=(0, 100), horizontal=False,
         first_header: str = "") -> Chart:
    """Grouped bars: one group per label, one bar per series."""
    series = {name: _clean(values) for name, values in series.items()}
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    ticks = {}
    if _all_counts(series):
        top = max(v for values in series.values() for v in values if v is not None)
        ticks = {"y_labels": _integer_ticks(max(top, int(value_range[1]) if value_range else 0))}
    chart = kind(title=title, range=value_range, width=640, height=360 if not horizontal else 120 + 28 * len(labels),
                 **ticks, **COMMON)
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    return Chart(title, _svg(chart), [first_header, *series], _table(labels, series))


def histogram(title: str, values, bins: list[float], label: str, first_header: str = "") -> Chart:
    """Counts of ``values`` in the half-open ``bins`` [b0, b1), …, the last one closed."""
    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    counts, edges = np.histogram(data, bins=bins)
    filled = np.flatnonzero(counts)
    if len(filled):  # empty bins before the lowest and after the highest value say nothing
        counts, edges = counts[filled[0]:filled[-1] + 1], edges[filled[0]:filled[-1] + 2]
    labels = [f"{edges[i]:g}–{edges[i + 1]:g}" for i in range(len(counts))]
    chart = pygal.Bar(title=title, width=640, height=320, y_labels=_integer_ticks(int(counts.max(initial=0))),
                      **COMMON)
    chart.x_labels = labels
    chart.add(label, [int(c) for c in counts])
    rows = [[lab, int(c)] for lab, c in zip(labels, counts, strict=True)]
    return Chart(title, _svg(chart), [first_header, label], rows)


def lines(title: str, labels: list[str], series: dict[str, list], first_header: str = "",
          dashed: tuple[str, ...] = ()) -> Chart:
    """One line per series over ``labels`` (e.g. months); None leaves a gap. Series named in
    ``dashed`` (an interval's bounds) are drawn dashed."""
    series = {name: _clean(values) for name, values in series.items()}
    chart = pygal.Line(title=title, width=720, height=360, x_label_rotation=0, show_minor_x_labels=False,
                       x_labels_major_every=3, min_scale=4, max_scale=8, **COMMON)
    chart.x_labels = labels
    for name, values in series.items():
        style = {"stroke_style": {"width": 2, "dasharray": "6, 4"}} if name in dashed else {}
        chart.add(name, values, allow_interruptions=True, **style)
    return Chart(title, _svg(chart), [first_header, *series], _table(labels, series))
