"""Server-side SVG charts (pygal) for the admin pages: no JavaScript, nothing fetched by the browser."""
from __future__ import annotations

import re

import pygal
from markupsafe import Markup
from pygal.style import Style

STYLE = Style(
    background="transparent", plot_background="transparent", foreground="#1f2933", foreground_strong="#1f2933",
    foreground_subtle="#9aa5b1", font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=13, major_label_font_size=13, value_font_size=12, value_label_font_size=12,
    colors=("#1f5f8b", "#b8442c", "#2f7d4f", "#7a4f9a", "#8a6d1f"),
)
# js=[]: pygal would otherwise add a <script src> pointing to its CDN for tooltips.
COMMON = {"style": STYLE, "js": [], "disable_xml_declaration": True, "show_legend": False, "width": 760,
          "height": 300, "margin": 12, "print_values": False, "truncate_label": -1, "no_data_text": "Aucune donnée"}


# pygal always embeds its tooltip settings as an inline script: unused without its JavaScript, refused by the CSP.
_INLINE_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def _svg(chart) -> Markup:
    return Markup(_INLINE_SCRIPT.sub("", chart.render(is_unicode=True)))


def _count_axis(values) -> dict:
    """Whole-number ticks for counts (pygal would label 0.2, 0.4… when the counts are small)."""
    top = max([v for v in values if v is not None] or [1])
    return {"min_scale": 1, "max_scale": int(max(1, min(top, 10))), "value_formatter": lambda v: f"{v:.0f}"}


def bars(labels: list[str], values: list[float], *, percent: bool = False, rotate: int = 0,
         horizontal: bool = False, series: str = "", counts: bool = False) -> Markup:
    """A single-series bar chart (vertical by default)."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    options = dict(COMMON, x_label_rotation=rotate)
    if horizontal:
        options["height"] = max(300, 26 * len(labels) + 60)
        labels, values = labels[::-1], values[::-1]  # pygal draws the first bar at the bottom: keep the order
    if percent:
        options.update(range=(0, 100), value_formatter=lambda v: f"{v:.0f} %")
    elif counts:
        options.update(_count_axis(values))
    chart = kind(**options)
    chart.x_labels = labels
    chart.add(series, values)
    return _svg(chart)


def stacked(labels: list[str], named_series: dict[str, list[float]], *, rotate: int = 0) -> Markup:
    """Stacked bars with a legend (e.g. predictions per day, split by label)."""
    totals = [sum(day) for day in zip(*named_series.values())]
    chart = pygal.StackedBar(**dict(COMMON, show_legend=True, legend_at_bottom=True, x_label_rotation=rotate,
                                    show_minor_x_labels=len(labels) <= 31, **_count_axis(totals)))
    chart.x_labels = labels
    if len(labels) > 31:
        chart.x_labels_major = labels[:: max(len(labels) // 12, 1)]
    for name, values in named_series.items():
        chart.add(name, values)
    return _svg(chart)
