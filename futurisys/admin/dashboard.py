"""The dashboard: volumes and answers over a window, aggregated in SQL and drawn as SVG."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import render_template

from futurisys import formatting
from futurisys.admin import bp
from futurisys.admin.charts import BANDS, PART, RESTE, bars, stacked
from futurisys.admin.forms import SOURCE_LABELS, read_window
from futurisys.admin.queries import INPUT, JOINED, LOCAL_TZ, PRED
from futurisys.extensions import db, model_store
from futurisys.risk import risk_band
from futurisys.schema import LEAVES, STAYS

HISTOGRAM_BINS = 20


def _day():
    if db.engine.dialect.name == "postgresql":
        return sa.cast(sa.func.timezone(LOCAL_TZ.key, PRED.c.created_at), sa.Date)
    return sa.func.date(PRED.c.created_at)  # SQLite has no time zones: days in UTC there


def _is_part():
    return sa.case((PRED.c.prediction_label == LEAVES, 1), else_=0)


def _grouped(key, where):
    """Count, number of "Part" and mean probability per value of `key`."""
    query = (
        sa.select(key, sa.func.count(), sa.func.sum(_is_part()), sa.func.avg(PRED.c.prediction_proba))
        .select_from(JOINED)
        .where(*where)
        .group_by(key)
        .order_by(key)
    )
    return [(k, n, int(part or 0), float(mean or 0)) for k, n, part, mean in db.session.execute(query)]


def _per_day(where) -> tuple[list[str], dict[str, list[int]], list[tuple]]:
    day = _day().label("day")
    query = (
        sa.select(day, PRED.c.prediction_label, sa.func.count())
        .where(*where)
        .group_by(day, PRED.c.prediction_label)
        .order_by(day)
    )
    counts: dict[date, dict[str, int]] = {}
    for value, label, n in db.session.execute(query):
        value = value if isinstance(value, date) else date.fromisoformat(value)
        counts.setdefault(value, {})[label] = n
    if not counts:
        return [], {}, []
    days, current = [], min(counts)
    while current <= max(counts):  # days without predictions are shown as zero, not skipped
        days.append(current)
        current += timedelta(days=1)
    series = {label: [counts.get(d, {}).get(label, 0) for d in days] for label in (LEAVES, STAYS)}
    rows = [
        (
            formatting.full_day(d),
            formatting.number(series[LEAVES][i] + series[STAYS][i]),
            formatting.number(series[LEAVES][i]),
        )
        for i, d in enumerate(days)
    ]
    return [formatting.day(d) for d in days], series, rows


def _histogram(where) -> list[int]:
    width = 1 / HISTOGRAM_BINS
    bucket = sa.case(
        *[(PRED.c.prediction_proba < (k + 1) * width, k) for k in range(HISTOGRAM_BINS - 1)], else_=HISTOGRAM_BINS - 1
    ).label("bucket")
    found = dict(db.session.execute(sa.select(bucket, sa.func.count()).where(*where).group_by(bucket)).all())
    return [found.get(k, 0) for k in range(HISTOGRAM_BINS)]


@bp.get("/dashboard")
def dashboard():
    """Predictions per day, share of "Part", distribution of probabilities, by source and by model version."""
    window = read_window()
    where = [PRED.c.created_at >= window.since] if window.since is not None else []
    by_source = [(SOURCE_LABELS.get(s, s), n, part, mean) for s, n, part, mean in _grouped(INPUT.c.source, where)]
    by_version = _grouped(PRED.c.model_version, where)
    total, part = sum(row[1] for row in by_source), sum(row[2] for row in by_source)
    day_labels, day_series, day_rows = _per_day(where)
    histogram = _histogram(where)
    predictor = model_store.state().predictor
    threshold = predictor.threshold if predictor is not None else None
    bins = _bins(threshold)
    charts = {
        "per_day": stacked(
            day_labels,
            {LEAVES: day_series.get(LEAVES, []), STAYS: day_series.get(STAYS, [])},
            (PART, RESTE),
            rotate=-45 if len(day_labels) > 7 else 0,
        ),
        "histogram": bars(
            [label for label, _ in bins],
            [{"value": n, "color": BANDS[band.key]} for (_, band), n in zip(bins, histogram, strict=False)],
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
        (label, formatting.number(n), band.label) for (label, band), n in zip(bins, histogram, strict=False)
    ]
    return render_template(
        "admin/dashboard.html",
        window=window,
        total=total,
        part=part,
        charts=charts,
        day_rows=day_rows,
        histogram=histogram_rows,
        threshold=threshold,
        by_version=by_version,
        source_rows=_table(by_source),
        version_rows=_table(by_version),
        group_headers=["Prédictions", "dont « Part »", "Probabilité moyenne"],
    )


def _bins(threshold: float | None) -> list[tuple[str, object]]:
    """Each histogram bin's French label (the threshold's bin marked ▲) and its risk band."""
    out = []
    for k in range(HISTOGRAM_BINS):
        low, high = k / HISTOGRAM_BINS, (k + 1) / HISTOGRAM_BINS
        label = f"{formatting.number(low * 100)}–{formatting.number(high * 100)} %"
        if threshold is not None and low <= threshold < high:
            label = "▲ " + label
        out.append((label, risk_band(low)))
    return out


def _table(grouped) -> list[tuple]:
    return [
        (name, formatting.number(n), formatting.number(part), formatting.percent(mean, 1))
        for name, n, part, mean in grouped
    ]
