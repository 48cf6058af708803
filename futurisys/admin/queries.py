"""The history's SQL: filters, sort orders and the local-time helpers the admin pages share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from futurisys.domain.risk import at_least_percent, below_percent
from futurisys.domain.schema import LEAVES, STAYS
from futurisys.extensions import db
from futurisys.storage.keyset import estimate_rows, keyset_page
from futurisys.storage.models import Input, Prediction

#: Admins read and filter dates in French local time; the database stores UTC.
LOCAL_TZ = ZoneInfo("Europe/Paris")
PRED, INPUT = Prediction.__table__, Input.__table__
JOINED = PRED.join(INPUT, INPUT.c.id == PRED.c.input_id)
#: Each sort: its key columns (the keyset's, ending in the unique id) and whether it runs downwards.
SORT_KEYS = {
    "date_desc": ((PRED.c.created_at, PRED.c.id), True),
    "date_asc": ((PRED.c.created_at, PRED.c.id), False),
    "proba_desc": ((PRED.c.prediction_proba, PRED.c.id), True),
    "proba_asc": ((PRED.c.prediction_proba, PRED.c.id), False),
}
_ORDER = {
    sort: tuple(c.desc() if descending else c.asc() for c in columns)
    for sort, (columns, descending) in SORT_KEYS.items()
}
#: Up to this many matching rows the page counts them exactly (a bounded index read); beyond, it estimates.
EXACT_COUNT_LIMIT = 1000


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
    """Predictions with their input, filtered and sorted (ORM entities)."""
    return _history_base(filters).order_by(*_ORDER[sort])


def _history_base(filters: dict):
    return (
        sa.select(Prediction)
        .join(Prediction.input)
        .options(contains_eager(Prediction.input))
        .where(*conditions(filters))
    )


def history_page(filters: dict, sort: str, per_page: int, after: str | None = None, before: str | None = None):
    """One keyset page of the history: the rows after the `after` key (or before `before`) in `sort` order."""
    columns, descending = SORT_KEYS[sort]
    names = [column.name for column in columns]
    return keyset_page(
        db.session,
        _history_base(filters),
        columns,
        descending=descending,
        key_of=lambda prediction: tuple(getattr(prediction, name) for name in names),
        per_page=per_page,
        after=after,
        before=before,
    )


@dataclass(frozen=True)
class Totals:
    """How many predictions match, per label; `exact` False when they are the planner's estimates."""

    per_label: dict[str, int]
    exact: bool

    @property
    def total(self) -> int:
        return sum(self.per_label.values())


def label_counts(filters: dict) -> dict[str, int]:
    """How many matching predictions per label, counted over every matching row (exports, tests, small tables)."""
    query = (
        sa.select(PRED.c.prediction_label, sa.func.count())
        .select_from(JOINED)
        .where(*conditions(filters))
        .group_by(PRED.c.prediction_label)
    )
    return dict(db.session.execute(query).all())


def history_totals(filters: dict) -> Totals:
    """Per-label counts that never scan the table: exact up to EXACT_COUNT_LIMIT matching rows, estimated beyond.

    The bounded count reads at most EXACT_COUNT_LIMIT + 1 rows of an index; past it, PostgreSQL's planner estimates
    each label's rows from its statistics (no row read). SQLite, the small embedded default, counts exactly.
    """
    where = conditions(filters)
    if db.engine.dialect.name != "postgresql":
        return Totals(label_counts(filters), True)
    capped = (
        sa.select(PRED.c.prediction_label).select_from(JOINED).where(*where).limit(EXACT_COUNT_LIMIT + 1).subquery()
    )
    found = dict(
        db.session.execute(
            sa.select(capped.c.prediction_label, sa.func.count()).group_by(capped.c.prediction_label)
        ).all()
    )
    if sum(found.values()) <= EXACT_COUNT_LIMIT:
        return Totals(found, True)
    labels = [filters["label"]] if "label" in filters else [LEAVES, STAYS]
    estimates = {
        label: estimate_rows(
            db.session, sa.select(PRED.c.id).select_from(JOINED).where(*where, PRED.c.prediction_label == label)
        )
        for label in labels
    }
    return Totals(estimates, False)


def model_versions() -> list[str]:
    """The model versions that made at least one stored prediction, newest name last.

    A loose index scan (one index probe per version, by recursive CTE): `SELECT DISTINCT` would read every row.
    """
    version = PRED.c.model_version
    seed = sa.select(sa.func.min(version).label("v")).cte("versions", recursive=True)
    following = sa.select(sa.select(sa.func.min(version)).where(version > seed.c.v).scalar_subquery()).where(
        seed.c.v.is_not(None)
    )
    versions = seed.union_all(following)
    return sorted(v for v in db.session.scalars(sa.select(versions.c.v)) if v is not None)


def export_select(columns: list, filters: dict, sort: str):
    """Core select of `columns` over predictions joined to inputs, with the history's filters and order."""
    return sa.select(*columns).select_from(JOINED).where(*conditions(filters)).order_by(*_ORDER[sort])
