"""Server-side SVG charts (pygal) for the admin pages: no JavaScript, nothing fetched by the browser.

Charts are drawn 600 px wide with 15 px text and scale down to their box (static/css/admin.css): a chart is never
wider than its box nor cut off; on a phone its figures are also in the « Voir les données » table beneath it.
"""

from __future__ import annotations

import re

import pygal
from markupsafe import Markup, escape
from pygal.style import Style

from futurisys.domain import formatting

#: The site's colours (static/css/app.css): the risk colour for departures and high risk, as on every page.
PART, RESTE = "#b3261e", "#1f5f8b"
BANDS = {"faible": "#1e7a46", "modere": "#a86d00", "eleve": "#b3261e"}
FONT = 15


def _style(*colors: str) -> Style:
    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="#1f2933",
        foreground_strong="#1f2933",
        foreground_subtle="#9aa5b1",
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=FONT,
        major_label_font_size=FONT,
        value_font_size=FONT,
        value_label_font_size=FONT,
        legend_font_size=FONT,
        title_font_size=FONT,
        tooltip_font_size=FONT,
        colors=colors or (RESTE,),
    )


# js=[]: pygal would otherwise add a <script src> pointing to its CDN for tooltips.
COMMON = {
    "js": [],
    "disable_xml_declaration": True,
    "show_legend": False,
    "width": 600,
    "height": 320,
    "margin": 12,
    "print_values": False,
    "truncate_label": -1,
    "no_data_text": "Aucune donnée",
}


# pygal always embeds its tooltip settings as an inline script: unused without its JavaScript, refused by the CSP.
_INLINE_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def _svg(chart) -> Markup:
    return Markup(_INLINE_SCRIPT.sub("", chart.render(is_unicode=True)))


def _typeset(labels: list[str]) -> list[str]:
    """Axis labels with French spacing (pygal's text is not printed by Jinja, so not typeset by it)."""
    return [formatting.typography(label) for label in labels]


def titled(svg: Markup, caption: str) -> Markup:
    """The chart named by its caption for screen readers (pygal names every untitled chart « Pygal »)."""
    title = escape(formatting.typography(caption))
    return Markup(str(svg).replace("<title>Pygal</title>", f"<title>{title}</title>", 1))


def _count_axis(values) -> dict:
    """Whole-number ticks for counts (pygal would label 0.2, 0.4… when the counts are small), in French."""
    top = max([v for v in values if v is not None] or [1])
    return {"min_scale": 1, "max_scale": int(max(1, min(top, 10))), "value_formatter": formatting.number}


def bars(
    labels: list[str],
    values: list,
    *,
    percent: bool = False,
    rotate: int = 0,
    horizontal: bool = False,
    series: str = "",
    counts: bool = False,
    colors: tuple[str, ...] = (RESTE,),
) -> Markup:
    """A single-series bar chart (vertical by default); a value may be {"value": v, "color": c}."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    options = dict(COMMON, style=_style(*colors), x_label_rotation=rotate)
    if horizontal:
        options["height"] = max(320, 30 * len(labels) + 60)
        labels, values = labels[::-1], values[::-1]  # pygal draws the first bar at the bottom: keep the order
    if percent:
        options.update(range=(0, 100), value_formatter=lambda v: f"{formatting.number(v)}{formatting.NBSP}%")
    elif counts:
        options.update(_count_axis([v["value"] if isinstance(v, dict) else v for v in values]))
    else:
        options.update(value_formatter=lambda v: formatting.short_number(v, 3))
    chart = kind(**options)
    chart.x_labels = _typeset(labels)
    chart.add(formatting.typography(series), values)
    return _svg(chart)


def stacked(
    labels: list[str], named_series: dict[str, list[float]], colors: tuple[str, ...], *, rotate: int = 0
) -> Markup:
    """Stacked bars (e.g. predictions per day, split by label); the legend is the page's, under the chart."""
    totals = [sum(day) for day in zip(*named_series.values(), strict=False)]
    chart = pygal.StackedBar(
        **dict(
            COMMON,
            style=_style(*colors),
            x_label_rotation=rotate,
            show_minor_x_labels=len(labels) <= 14,
            **_count_axis(totals),
        )
    )
    chart.x_labels = _typeset(labels)
    if len(labels) > 14:
        chart.x_labels_major = chart.x_labels[:: max(len(labels) // 7, 1)]
    for name, values in named_series.items():
        chart.add(formatting.typography(name), values)
    return _svg(chart)
