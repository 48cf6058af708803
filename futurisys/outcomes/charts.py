"""SVG of « Performance réelle »: a figure per cohort (realised with its interval, expected dashed beside)."""

from __future__ import annotations

from markupsafe import Markup, escape

from futurisys.domain import formatting

INK, REALISED, EXPECTED, MUTED, GRID = "#1f2933", "#b8442c", "#1f5f8b", "#7b8794", "#d9dee3"
WIDTH, LEFT, RIGHT, TOP, PLOT_HEIGHT, BOTTOM = 360, 44, 10, 10, 150, 46
FONT = 12


def cohort_chart(label: str, points: list[dict]) -> Markup:
    """One column per cohort: `realised` (value, low, high, greyed) as a dot with its interval, `expected` as a
    hollow square on a dashed line, side by side. Values are proportions (0 to 1)."""
    count = max(len(points), 1)
    step = (WIDTH - LEFT - RIGHT) / count
    height = TOP + PLOT_HEIGHT + BOTTOM

    def py(value: float) -> float:
        return TOP + (1 - value) * PLOT_HEIGHT

    body = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{LEFT - 5}" y="{py(tick) + 4:.1f}" text-anchor="end">{formatting.number(tick * 100)} %</text>'
        )
    dashed = []
    for k, point in enumerate(points):
        centre = LEFT + step * (k + 0.5)
        realised, expected = point.get("realised"), point.get("expected")
        if realised is not None and realised.value is not None:
            x = centre - min(6, step / 5)
            color = MUTED if point.get("greyed") else REALISED
            body.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{py(realised.high):.1f}" y2="{py(realised.low):.1f}" '
                f'stroke="{color}" stroke-width="2"/>'
            )
            body.append(f'<circle cx="{x:.1f}" cy="{py(realised.value):.1f}" r="4" fill="{color}"/>')
        if expected is not None:
            x = centre + min(6, step / 5)
            dashed.append(f"{x:.1f},{py(expected):.1f}")
            body.append(
                f'<rect x="{x - 3.5:.1f}" y="{py(expected) - 3.5:.1f}" width="7" height="7" fill="#fff" '
                f'stroke="{EXPECTED}" stroke-width="1.5"/>'
            )
        if count <= 12 or k % max(1, count // 8) == 0:
            body.append(
                f'<text x="{centre:.1f}" y="{TOP + PLOT_HEIGHT + 16}" text-anchor="end" '
                f'transform="rotate(-40 {centre:.1f} {TOP + PLOT_HEIGHT + 16})">{escape(point["label"])}</text>'
            )
    if len(dashed) > 1:
        body.insert(
            10,
            f'<polyline points="{" ".join(dashed)}" fill="none" stroke="{EXPECTED}" stroke-width="1.5" '
            'stroke-dasharray="5 4"/>',
        )
    body.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + PLOT_HEIGHT}" y2="{TOP + PLOT_HEIGHT}" stroke="{INK}"/>'
    )
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(label)}" font-size="{FONT}" font-family="system-ui, sans-serif" fill="{INK}">'
    )
    return Markup(head + "".join(body) + "</svg>")
