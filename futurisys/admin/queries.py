"""The history's SQL: filters, sort orders and the local-time helpers the admin pages share."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from futurisys.extensions import db
from futurisys.models import Input, Prediction
from futurisys.risk import at_least_percent, below_percent

#: Admins read and filter dates in French local time; the database stores UTC.
LOCAL_TZ = ZoneInfo("Europe/Paris")
PRED, INPUT = Prediction.__table__, Input.__table__
JOINED = PRED.join(INPUT, INPUT.c.id == PRED.c.input_id)
_ORDER = {
    "date_desc": (PRED.c.created_at.desc(), PRED.c.id.desc()),
    "date_asc": (PRED.c.created_at.asc(), PRED.c.id.asc()),
    "proba_desc": (PRED.c.prediction_proba.desc(), PRED.c.id.desc()),
    "proba_asc": (PRED.c.prediction_proba.asc(), PRED.c.id.asc()),
}


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime (SQLite gives back naive UTC ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_time(value: datetime) -> datetime:
    """A stored datetime in French local time."""
    return as_utc(value).astimezone(LOCAL_TZ)


def local_midnight(day: date) -> datetime | None:
    """The UTC instant at which `day` starts in French local time; None when it falls outside Python's datetimes."""
    try:
        return datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)
    except OverflowError:  # 0001-01-01 in Paris starts in year 0 UTC
        return None


def _day_after(day: date) -> date | None:
    return day + timedelta(days=1) if day < date.max else None


def conditions(filters: dict) -> list:
    """SQL conditions on predictions `PRED` joined to inputs `INPUT` for validated history filters."""
    where = []
    # A bound beyond what datetimes can hold excludes nothing: the filter is dropped (clamped) rather than failing.
    start = local_midnight(filters["date_from"]) if "date_from" in filters else None
    if start is not None:
        where.append(PRED.c.created_at >= start)
    day_after = _day_after(filters["date_to"]) if "date_to" in filters else None
    end = local_midnight(day_after) if day_after is not None else None
    if end is not None:
        where.append(PRED.c.created_at < end)
    if "label" in filters:
        where.append(PRED.c.prediction_label == filters["label"])
    # The percentages compare with the figure every page shows (rounded half up): "≥ 40 %" keeps 0.3995.
    if "proba_min" in filters:
        where.append(PRED.c.prediction_proba * 100 >= at_least_percent(filters["proba_min"]))
    if "proba_max" in filters:
        where.append(PRED.c.prediction_proba * 100 < below_percent(filters["proba_max"]))
    if "source" in filters:
        where.append(INPUT.c.source == filters["source"])
    if "employee_ref" in filters:
        where.append(INPUT.c.employee_ref == filters["employee_ref"])
    if "model_version" in filters:
        where.append(PRED.c.model_version == filters["model_version"])
    return where


def history_select(filters: dict, sort: str):
    """Predictions with their input, filtered and sorted (ORM entities, for the paginated page)."""
    return (
        sa.select(Prediction)
        .join(Prediction.input)
        .options(contains_eager(Prediction.input))
        .where(*conditions(filters))
        .order_by(*_ORDER[sort])
    )


def label_counts(filters: dict) -> dict[str, int]:
    """How many matching predictions per label (their sum is the total)."""
    query = (
        sa.select(PRED.c.prediction_label, sa.func.count())
        .select_from(JOINED)
        .where(*conditions(filters))
        .group_by(PRED.c.prediction_label)
    )
    return dict(db.session.execute(query).all())


def model_versions() -> list[str]:
    """The model versions that made at least one stored prediction, newest name last."""
    return sorted(db.session.scalars(sa.select(PRED.c.model_version).distinct()))


def export_select(columns: list, filters: dict, sort: str):
    """Core select of `columns` over predictions joined to inputs, with the history's filters and order."""
    return sa.select(*columns).select_from(JOINED).where(*conditions(filters)).order_by(*_ORDER[sort])
