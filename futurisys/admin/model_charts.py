"""Server-side SVG for the model card: a feature's effect curve over its training distribution, reliability diagram."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from markupsafe import Markup, escape

from futurisys.domain.formatting import number

FONT = 12  # px: the smallest text on the card's charts
INK, RISK_UP, RISK_DOWN, MUTED, GRID = "#1f2933", "#b8442c", "#1f5f8b", "#9aa5b1", "#d9dee3"
WIDTH, LEFT, RIGHT, TOP = 360, 56, 14, 10
CURVE_HEIGHT, GAP, HISTOGRAM_HEIGHT, BOTTOM = 130, 10, 38, 34


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label)}" font-size="{FONT}" '
        f'font-family="system-ui, sans-serif" fill="{INK}">'
    )
    return Markup(head + "".join(body) + "</svg>")


def _ticks(low: float, high: float, count: int = 4, integral: bool = False) -> list[float]:
    """About `count` round tick values covering [low, high] (whole numbers only when `integral`)."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** np.floor(np.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if raw <= m * step)
    if integral:
        step = max(1.0, float(np.ceil(step)))
    # + 0.0 turns -0.0 into 0.0, which would otherwise be written "-0".
    return [float(v) + 0.0 for v in np.round(np.arange(np.ceil(low / step) * step, high + step * 1e-9, step), 9)]


def _decimals(ticks: Sequence[float]) -> int:
    return next((d for d in range(4) if all(abs(round(t, d) - t) < 1e-9 for t in ticks)), 3)


def line_panel(
    xs: Sequence[float],
    ys: Sequence[float],
    label: str,
    *,
    histogram: Sequence[tuple[float, float]] = (),
    bar_width: float = 1.0,
    y_range: tuple[float, float] | None = None,
    x_range: tuple[float, float] | None = None,
    diagonal: bool = False,
    zero_line: bool = True,
    markers: bool = False,
    integral: bool = False,
) -> Markup:
    """A curve (y against x) above bars of the training distribution ((centre, count), `bar_width` wide)."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    x_low, x_high = x_range or (float(xs.min()), float(xs.max()))
    if x_high == x_low:
        x_high = x_low + 1
    y_low, y_high = y_range or (min(float(ys.min()), 0.0), max(float(ys.max()), 0.0))
    if y_high - y_low < 0.2:
        y_low, y_high = y_low - 0.1, y_high + 0.1
    plot_width = WIDTH - LEFT - RIGHT
    height = TOP + CURVE_HEIGHT + (GAP + HISTOGRAM_HEIGHT if len(histogram) else 0) + BOTTOM

    def px(x):
        return LEFT + (x - x_low) / (x_high - x_low) * plot_width

    def py(y):
        return TOP + (y_high - y) / (y_high - y_low) * CURVE_HEIGHT

    body = []
    y_ticks = [t for t in _ticks(y_low, y_high) if y_low - 1e-9 <= t <= y_high + 1e-9]
    for tick in y_ticks:
        body.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_width}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="{GRID}"/>'
        )
        body.append(
            f'<text x="{LEFT - 6}" y="{py(tick) + 4:.1f}" text-anchor="end">{number(tick, _decimals(y_ticks))}</text>'
        )
    if zero_line and y_low < 0 < y_high:
        body.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_width}" y1="{py(0):.1f}" y2="{py(0):.1f}" '
            f'stroke="{INK}" stroke-width="1"/>'
        )
    if diagonal:
        body.append(
            f'<line x1="{px(x_low):.1f}" y1="{py(x_low):.1f}" x2="{px(x_high):.1f}" y2="{py(x_high):.1f}" '
            f'stroke="{MUTED}" stroke-dasharray="4 3"/>'
        )
    points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=False))
    body.append(f'<polyline points="{points}" fill="none" stroke="{RISK_UP}" stroke-width="2"/>')
    if markers or len(xs) == 1:
        body += [
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{RISK_UP}"/>'
            for x, y in zip(xs, ys, strict=False)
        ]
    bottom = TOP + CURVE_HEIGHT
    if len(histogram):
        top, tallest = bottom + GAP, max(count for _, count in histogram) or 1
        width = bar_width / (x_high - x_low) * plot_width
        for centre, count in histogram:
            bar = count / tallest * HISTOGRAM_HEIGHT
            body.append(
                f'<rect x="{px(centre) - width / 2 + 0.5:.1f}" y="{top + HISTOGRAM_HEIGHT - bar:.1f}" '
                f'width="{max(width - 1, 0.5):.1f}" height="{bar:.1f}" fill="{MUTED}"/>'
            )
        bottom = top + HISTOGRAM_HEIGHT
    body.append(f'<line x1="{LEFT}" x2="{LEFT + plot_width}" y1="{bottom}" y2="{bottom}" stroke="{INK}"/>')
    x_ticks = _ticks(x_low, x_high, integral=integral)
    for tick in x_ticks:
        body.append(
            f'<text x="{px(tick):.1f}" y="{bottom + 16}" text-anchor="middle">{number(tick, _decimals(x_ticks))}</text>'
        )
    return _svg(WIDTH, height, label, body)


def category_panel(labels: Sequence[str], effects: Sequence[float], shares: Sequence[float], label: str) -> Markup:
    """One horizontal bar per category from the zero line (red raises the risk, blue lowers it), with its share."""
    row, label_width, share_width = 24, 172, 44
    plot_left, plot_width = label_width + 8, WIDTH - label_width - 8 - share_width - RIGHT
    reach = max([abs(e) for e in effects] + [0.1])
    zero = plot_left + plot_width / 2
    body = [f'<text x="{WIDTH - RIGHT}" y="{FONT + 2}" text-anchor="end" fill="{MUTED}">part</text>']
    for k, (name, effect, share) in enumerate(zip(labels, effects, shares, strict=False)):
        y = TOP + 10 + k * row
        length = abs(effect) / reach * plot_width / 2
        x = zero if effect >= 0 else zero - length
        body.append(f'<text x="{label_width}" y="{y + 15}" text-anchor="end">{escape(name)}</text>')
        body.append(
            f'<rect x="{x:.1f}" y="{y + 4}" width="{max(length, 0.5):.1f}" height="{row - 8}" '
            f'fill="{RISK_UP if effect >= 0 else RISK_DOWN}"/>'
        )
        body.append(f'<text x="{WIDTH - RIGHT}" y="{y + 15}" text-anchor="end">{number(share * 100)}\u00a0%</text>')
    height = TOP + 10 + len(labels) * row + 8
    body.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{TOP + 6}" y2="{height - 4}" stroke="{INK}"/>')
    return _svg(WIDTH, height, label, body)
