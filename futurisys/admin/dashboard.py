"""The dashboard: volumes and answers over a window, aggregated in SQL and drawn as SVG."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import render_template

from futurisys.admin import bp
from futurisys.admin.charts import BANDS, PART, RESTE, bars, stacked
from futurisys.admin.forms import SOURCE_LABELS, read_window
from futurisys.domain import formatting
from futurisys.domain.risk import RiskScale, scale_for
from futurisys.domain.schema import LEAVES, STAYS
from futurisys.extensions import db, model_store
from futurisys.storage import stats

NO_BAND = "#5f6b7a"  # bins drawn before a model (and so a threshold) is loaded
HISTOGRAM_STEP = 5  # points of percentage per histogram bin (split at the band boundaries)
DAILY_BARS_UP_TO = 92  # days: a longer span is drawn week by week


def _grouped(groups, key: str):
    """Count, number of "Part" and mean probability per value of the column `key` of the day groups."""
    column, n = groups.c[key], groups.c.n
    query = (
        sa.select(column, sa.func.sum(n), sa.func.sum(stats.is_part(groups.c.prediction_label) * n))
        .add_columns(sa.func.sum(groups.c.proba_sum))
        .group_by(column)
        .order_by(column)
    )
    return [(k, int(n), int(part or 0), float(total or 0) / int(n)) for k, n, part, total in db.session.execute(query)]


def _per_period(groups) -> tuple[str, list[str], dict[str, list[int]], list[tuple]]:
    """Predictions per day, split by label; per week (from Monday) past `DAILY_BARS_UP_TO` days, where daily bars
    would be a pixel wide (and each bar costs its share of the page's time)."""
    query = (
        sa.select(groups.c.day, groups.c.prediction_label, sa.func.sum(groups.c.n))
        .group_by(groups.c.day, groups.c.prediction_label)
        .order_by(groups.c.day)
    )
    counts: dict[date, dict[str, int]] = {}
    for value, label, n in db.session.execute(query):
        value = value if isinstance(value, date) else date.fromisoformat(value)
        counts.setdefault(value, {})[label] = int(n)
    if not counts:
        return "jour", [], {}, []
    first, last = min(counts), max(counts)
    weekly = (last - first).days + 1 > DAILY_BARS_UP_TO
    if weekly:
        by_week: dict[date, dict[str, int]] = {}
        for day, labels in counts.items():
            week = by_week.setdefault(day - timedelta(days=day.weekday()), {})
            for label, n in labels.items():
                week[label] = week.get(label, 0) + n
        counts, first = by_week, first - timedelta(days=first.weekday())
    step = timedelta(days=7 if weekly else 1)
    periods, current = [], first
    while current <= max(counts):  # periods without predictions are shown as zero, not skipped
        periods.append(current)
        current += step
    series = {label: [counts.get(d, {}).get(label, 0) for d in periods] for label in (LEAVES, STAYS)}
    rows = [
        (
            ("semaine du " if weekly else "") + formatting.full_day(d),
            formatting.number(series[LEAVES][i] + series[STAYS][i]),
            formatting.number(series[LEAVES][i]),
        )
        for i, d in enumerate(periods)
    ]
    return "semaine" if weekly else "jour", [formatting.day(d) for d in periods], series, rows


def _edges(scale: RiskScale | None) -> list[int]:
    """Histogram bin edges in shown percentages: every 5 points, plus the band boundaries (each bin in one band)."""
    edges = set(range(0, 100, HISTOGRAM_STEP))
    if scale is not None:
        edges |= {scale.threshold, scale.high_from} - {0, 100, 101}
    return sorted(edges) + [101]


def _per_percent(groups) -> list[int]:
    """Predictions per shown whole percentage, 0 to 100 (the rounding every page uses: 0.1762 counts as 18 %)."""
    found = dict(db.session.execute(sa.select(groups.c.bin, sa.func.sum(groups.c.n)).group_by(groups.c.bin)).all())
    return [int(found.get(k, 0)) for k in range(stats.HISTOGRAM_BINS)]


def _histogram(per_percent: list[int], edges: list[int]) -> list[int]:
    """The per-percentage counts summed into the bins between `edges`."""
    return [sum(per_percent[low:high]) for low, high in zip(edges, edges[1:], strict=False)]


def dashboard_figures(since) -> dict:
    """The dashboard's figures since `since` (all when None), from the daily stats and today's raw rows."""
    groups = stats.prediction_groups(db.session.connection(), since)
    by_source = [(SOURCE_LABELS.get(s, s), n, part, mean) for s, n, part, mean in _grouped(groups, "source")]
    return {
        "by_source": by_source,
        "by_version": _grouped(groups, "model_version"),
        "per_period": _per_period(groups),
        "per_percent": _per_percent(groups),
    }


@bp.get("/dashboard")
def dashboard():
    """Predictions per day, share of "Part", distribution of probabilities, by source and by model version."""
    window = read_window()
    figures = dashboard_figures(window.since)
    by_source, by_version = figures["by_source"], figures["by_version"]
    total = sum(row[1] for row in by_source)
    # What-ifs are hypotheses about an employee already counted: they are left out of the share of departures.
    real = [row for row in by_source if row[0] != SOURCE_LABELS.get("whatif", "whatif")]
    evaluated, part = sum(row[1] for row in real), sum(row[2] for row in real)
    period, day_labels, day_series, day_rows = figures["per_period"]
    predictor = model_store.state().predictor
    threshold = predictor.threshold if predictor is not None else None
    scale = scale_for(threshold) if threshold is not None else None
    edges = _edges(scale)
    histogram = _histogram(figures["per_percent"], edges)
    bins = _bins(edges, scale)
    charts = {
        "per_day": stacked(
            day_labels,
            {LEAVES: day_series.get(LEAVES, []), STAYS: day_series.get(STAYS, [])},
            (PART, RESTE),
            rotate=-45 if len(day_labels) > 7 else 0,
        ),
        "histogram": bars(
            [label for label, _ in bins],
            [
                {"value": n, "color": BANDS[band.key] if band else NO_BAND}
                for (_, band), n in zip(bins, histogram, strict=False)
            ],
            rotate=-60,
            series="Prédictions",
            counts=True,
        ),
        "source_share": bars(
            [r[0] for r in by_source],
            [100 * r[2] / r[1] for r in by_source],
            percent=True,
            series="Départs prévus (%)",
            colors=(PART,),
        ),
        "version_count": bars(
            [r[0] for r in by_version], [r[1] for r in by_version], series="Prédictions", horizontal=True, counts=True
        ),
    }
    histogram_rows = [
        (label, formatting.number(n), band.label if band else "—")
        for (label, band), n in zip(bins, histogram, strict=False)
    ]
    return render_template(
        "admin/dashboard.html",
        window=window,
        total=total,
        evaluated=evaluated,
        part=part,
        charts=charts,
        period=period,
        day_rows=day_rows,
        histogram=histogram_rows,
        threshold=threshold,
        scale=scale,
        by_version=by_version,
        source_rows=_table(by_source),
        version_rows=_table(by_version),
        group_headers=["Prédictions", "dont « Part »", "Probabilité moyenne"],
    )


def _bins(edges: list[int], scale: RiskScale | None) -> list[tuple[str, object]]:
    """Each histogram bin's French label (the bin starting at the alert threshold marked ▲) and its risk band."""
    out = []
    for low, high in zip(edges, edges[1:], strict=False):
        label = f"{low}–{min(high, 100) if high == 101 else high - 1}{formatting.NBSP}%"
        if scale is not None and low == scale.threshold:
            label += " ▲"  # at the end: rotated labels end at their bar
        out.append((label, scale.band_at(low) if scale is not None else None))
    return out


def _table(grouped) -> list[tuple]:
    return [
        (name, formatting.number(n), formatting.number(part), formatting.percent(mean, 1))
        for name, n, part, mean in grouped
    ]
