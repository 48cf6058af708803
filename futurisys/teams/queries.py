"""The evaluations « Vue équipes » counts: the latest of each employee reference in a period, tallied per cell.

Only real evaluations with an employee reference count (the HR form and lots; never what-ifs, which describe no
real moment, nor API calls). Each reference counts once, by its latest evaluation in the period; each month of the
trend counts each reference once too, by its latest evaluation of that (UTC) month. The database adds everything
up: what comes back is one row per cell and shown percentage, whatever the number of evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from futurisys.domain.risk import RiskScale, shown_percent
from futurisys.extensions import db
from futurisys.outcomes.horizon import utc_day, utc_month
from futurisys.outcomes.models import Departure
from futurisys.recourse.models import EngagedAction
from futurisys.storage.models import Input, Prediction
from futurisys.teams.table import Tally

#: Evaluations of a real moment of an employee's career.
REAL_EVALUATIONS = ("form", "lot")
#: The heatmap's rows, by choice, and how their values read; the columns are always the departments.
ROW_CHOICES = {"poste": "Poste", "niveau": "Niveau hiérarchique"}
NOT_GIVEN = "Non renseigné"


@dataclass(frozen=True)
class Scope:
    """Which evaluations: a period [start, end), whose rows, and the account they must be written by (None: all)."""

    start: datetime
    end: datetime
    rows: str = "poste"
    author_id: int | None = None


def _where(scope: Scope, referenced: bool = True, alias=Input) -> list:
    where = [
        alias.public_id.is_not(None),
        alias.source.in_(REAL_EVALUATIONS),
        alias.employee_ref.is_not(None) if referenced else alias.employee_ref.is_(None),
        alias.created_at >= scope.start,
        alias.created_at < scope.end,
    ]
    if scope.author_id is not None:
        where.append(alias.user_id == scope.author_id)
    return where


#: The manager level is an optional field of the raw HR record (the model does not use it): read from its JSON.
LEVEL = Input.stored_raw["niveau_hierarchique_poste"].as_string()


def _row_column(rows: str):
    return Input.poste if rows == "poste" else LEVEL


def _whole(dialect: str, expression):
    """`floor(expression + 0.5)` as an integer: the half-up whole percentage every page shows."""
    if dialect == "postgresql":
        return sa.cast(sa.func.floor(expression + 0.5), sa.Integer)
    return sa.cast(expression + 0.5, sa.Integer)  # SQLite truncates toward zero: the floor of a positive number


def row_label(rows: str, value) -> str:
    """How a row's value reads (« Niveau 3 », the job title, « Non renseigné »)."""
    if value is None or value == "":
        return NOT_GIVEN
    return f"Niveau {value}" if rows == "niveau" else str(value)


def _references():
    """Every employee reference with an evaluation, each found by one probe of the index (a "skip scan").

    PostgreSQL reads an index in order but has no skip scan of its own: this recursive query asks for the first
    reference after the previous one, so its cost follows the number of employees, not of evaluations.
    """
    evaluated = (Input.public_id.is_not(None), Input.employee_ref.is_not(None))
    first = sa.select(Input.employee_ref).where(*evaluated).order_by(Input.employee_ref).limit(1).scalar_subquery()
    references = sa.select(first.label("ref")).cte("refs", recursive=True)
    following = (
        sa.select(Input.employee_ref)
        .where(*evaluated, Input.employee_ref > references.c.ref)
        .order_by(Input.employee_ref)
        .limit(1)
        .scalar_subquery()
    )
    return references.union_all(sa.select(following).where(references.c.ref.is_not(None)))


def _latest_of_each(scope: Scope, windows=None):
    """One row per reference (and per window of `windows`, a VALUES of [start, end) bounds and a month): its
    latest evaluation in the scope, with its department, row value, date, probability and threshold."""
    dialect = db.engine.dialect.name
    columns = (
        Input.id.label("input_id"),
        Input.employee_ref,
        Input.departement,
        _row_column(scope.rows).label("row_value"),
        Input.created_at,
    )
    latest_first = (Input.created_at.desc(), Input.id.desc())
    if dialect != "postgresql":  # the embedded SQLite: a window over the scope's evaluations
        month = [] if windows is None else [utc_month(dialect, Input.created_at).label("month")]
        partition = [Input.employee_ref, *(column.element for column in month)]
        rank = sa.func.row_number().over(partition_by=partition, order_by=latest_first).label("rank")
        ranked = sa.select(*columns, *month, rank).where(*_where(scope)).subquery()
        latest = sa.select(ranked).where(ranked.c.rank == 1).subquery()
    else:
        references = _references()
        where = [Input.employee_ref == references.c.ref, *_where(scope)]
        month = []
        if windows is not None:
            where += [Input.created_at >= windows.c.start, Input.created_at < windows.c.end]
            month = [windows.c.month]
        probe = sa.select(*columns).where(*where).order_by(*latest_first).limit(1).lateral("latest")
        sources = references if windows is None else references.join(windows, sa.true())
        latest = (
            sa.select(*[probe.c[c.name] for c in columns], *month)
            .select_from(sources)
            .join(probe, sa.true())
            .where(references.c.ref.is_not(None))
            .subquery()
        )
    scored = sa.select(latest, Prediction.prediction_proba.label("proba"), Prediction.threshold).join(
        Prediction, Prediction.input_id == latest.c.input_id
    )
    return scored.subquery()


def _departed(dialect: str, latest, voluntary: frozenset[str], today: date):
    """Whether the employee of a row of `latest` left voluntarily after that evaluation (and by today)."""
    return sa.exists().where(
        Departure.employee_ref == latest.c.employee_ref,
        Departure.kind.in_(sorted(voluntary)),
        Departure.departure_date > utc_day(dialect, latest.c.created_at),
        Departure.departure_date <= today,
    )


def period_tallies(scope: Scope, high_from: float, voluntary: frozenset[str], today: date) -> dict:
    """{(row label, department): Tally} of the latest evaluation of each reference in the scope."""
    dialect = db.engine.dialect.name
    latest = _latest_of_each(scope)
    departed = _departed(dialect, latest, voluntary, today)
    shown = _whole(dialect, latest.c.proba * 100).label("shown")
    shown_threshold = _whole(dialect, latest.c.threshold * 100).label("shown_threshold")
    query = sa.select(
        latest.c.row_value,
        latest.c.departement,
        shown,
        shown_threshold,
        sa.func.count().label("n"),
        sa.func.sum(latest.c.proba).label("risk_sum"),
        sa.func.sum(sa.case((departed, 1), else_=0)).label("departed"),
    ).group_by(latest.c.row_value, latest.c.departement, shown, shown_threshold)
    high_from_shown = shown_percent(high_from)
    tallies: dict = {}
    for row in db.session.execute(query):
        # The band of the page's figure, against the threshold that prediction was scored with (domain.risk).
        scale = RiskScale(row.shown_threshold, max(high_from_shown, row.shown_threshold))
        high = row.n if scale.band_at(row.shown).key == "eleve" else 0
        key = (row_label(scope.rows, row.row_value), row.departement)
        tally = tallies.setdefault(key, Tally())
        tally.add(Tally(row.n, high, float(row.risk_sum), int(row.departed or 0)))
    return tallies


ACTED, NOT_ACTED = "Action engagée", "Sans action engagée"


def action_tallies(scope: Scope, voluntary: frozenset[str], today: date) -> dict:
    """{(ACTED or NOT_ACTED, "Tous"): Tally} of the scope's employees whose latest evaluation is at or above its
    alert threshold: whether a « Que faire ? » proposal was marked « action engagée » on one of their evaluations
    of the period, and whether they left (voluntarily) after that latest evaluation."""
    dialect = db.engine.dialect.name
    latest = _latest_of_each(scope)
    evaluation = aliased(Input)
    acted = (
        sa.exists()
        .where(EngagedAction.input_id == evaluation.id)
        .where(evaluation.employee_ref == latest.c.employee_ref, *_where(scope, alias=evaluation))
    )
    departed = _departed(dialect, latest, voluntary, today)
    acted_flag = sa.case((acted, 1), else_=0).label("acted")
    query = (
        sa.select(
            acted_flag,
            sa.func.count().label("n"),
            sa.func.sum(latest.c.proba).label("risk_sum"),
            sa.func.sum(sa.case((departed, 1), else_=0)).label("departed"),
        )
        .where(_whole(dialect, latest.c.proba * 100) >= _whole(dialect, latest.c.threshold * 100))
        .group_by(acted_flag)
    )
    return {
        (ACTED if row.acted else NOT_ACTED, "Tous"): Tally(row.n, 0, float(row.risk_sum), int(row.departed or 0))
        for row in db.session.execute(query)
    }


def month_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime, date]]:
    """The UTC months [start, end) overlaps, each as its [start, end) part of the period and its first day."""
    windows = []
    month = start.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while month < end:
        following = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
        windows.append((max(month, start), min(following, end), month.date()))
        month = following
    return windows


def monthly_tallies(scope: Scope) -> dict[date, dict]:
    """{month: {(row label, department): Tally}} of the latest evaluation of each reference in each UTC month."""
    windows = month_windows(scope.start, scope.end)
    if not windows:
        return {}
    bounds = sa.values(
        sa.column("start", sa.DateTime(timezone=True)),
        sa.column("end", sa.DateTime(timezone=True)),
        sa.column("month", sa.Date),
        name="windows",
    ).data(windows)
    latest = _latest_of_each(scope, bounds)
    query = sa.select(
        latest.c.month,
        latest.c.row_value,
        latest.c.departement,
        sa.func.count().label("n"),
        sa.func.sum(latest.c.proba).label("risk_sum"),
    ).group_by(latest.c.month, latest.c.row_value, latest.c.departement)
    months: dict[date, dict] = {}
    for row in db.session.execute(query):
        first_day = row.month if isinstance(row.month, date) else date.fromisoformat(row.month)
        key = (row_label(scope.rows, row.row_value), row.departement)
        months.setdefault(first_day, {})[key] = Tally(row.n, 0, float(row.risk_sum), 0)
    return months


def unreferenced_count(scope: Scope) -> int:
    """Evaluations of the scope without an employee reference: not counted, since they cannot be told apart."""
    query = sa.select(sa.func.count()).select_from(Input).where(*_where(scope, referenced=False))
    return db.session.scalar(query) or 0


def has_levels(scope: Scope) -> bool:
    """Whether the latest evaluation of any employee of the scope gives a manager level (the optional field): the
    rows may then be levels. Read among the latest evaluations only: one probe per employee, like the table."""
    latest = _latest_of_each(Scope(scope.start, scope.end, "niveau", scope.author_id))
    query = sa.select(latest.c.input_id).where(latest.c.row_value.is_not(None)).limit(1)
    return db.session.scalar(query) is not None


def has_departures() -> bool:
    """Whether any departure is recorded: the realised departure rate is shown only then."""
    return db.session.scalar(sa.select(Departure.id).limit(1)) is not None
