"""The evaluations « Vue équipes » counts: the latest of each employee reference in a period, tallied per cell.

Only real evaluations with an employee reference count (the HR form and lots; never what-ifs, which describe no
real moment, nor API calls). Each reference counts once, by its latest evaluation in the period; each month of the
trend counts each reference once too, by its latest evaluation of that (UTC) month. The database adds everything
up: what comes back is one row per cell and shown percentage, whatever the number of evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from futurisys.domain.risk import RiskScale, shown_percent
from futurisys.extensions import db
from futurisys.outcomes.horizon import utc_day, utc_month
from futurisys.outcomes.models import Departure
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


def _where(scope: Scope, referenced: bool = True) -> list:
    where = [
        Input.public_id.is_not(None),
        Input.source.in_(REAL_EVALUATIONS),
        Input.employee_ref.is_not(None) if referenced else Input.employee_ref.is_(None),
        Input.created_at >= scope.start,
        Input.created_at < scope.end,
    ]
    if scope.author_id is not None:
        where.append(Input.user_id == scope.author_id)
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


def period_tallies(scope: Scope, high_from: float, voluntary: frozenset[str], today: date) -> dict:
    """{(row label, department): Tally} of the latest evaluation of each reference in the scope."""
    dialect = db.engine.dialect.name
    rank = sa.func.row_number().over(
        partition_by=Input.employee_ref, order_by=(Input.created_at.desc(), Input.id.desc())
    )
    ranked = (
        sa.select(
            Input.employee_ref,
            Input.departement,
            _row_column(scope.rows).label("row_value"),
            Input.created_at,
            Prediction.prediction_proba.label("proba"),
            Prediction.threshold,
            rank.label("rank"),
        )
        .join(Prediction, Prediction.input_id == Input.id)
        .where(*_where(scope))
        .subquery()
    )
    departed = sa.exists().where(
        Departure.employee_ref == ranked.c.employee_ref,
        Departure.kind.in_(sorted(voluntary)),
        Departure.departure_date > utc_day(dialect, ranked.c.created_at),
        Departure.departure_date <= today,
    )
    shown = _whole(dialect, ranked.c.proba * 100).label("shown")
    shown_threshold = _whole(dialect, ranked.c.threshold * 100).label("shown_threshold")
    query = (
        sa.select(
            ranked.c.row_value,
            ranked.c.departement,
            shown,
            shown_threshold,
            sa.func.count().label("n"),
            sa.func.sum(ranked.c.proba).label("risk_sum"),
            sa.func.sum(sa.case((departed, 1), else_=0)).label("departed"),
        )
        .where(ranked.c.rank == 1)
        .group_by(ranked.c.row_value, ranked.c.departement, shown, shown_threshold)
    )
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


def monthly_tallies(scope: Scope) -> dict[date, dict]:
    """{month: {(row label, department): Tally}} of the latest evaluation of each reference in each UTC month."""
    dialect = db.engine.dialect.name
    month = utc_month(dialect, Input.created_at)
    rank = sa.func.row_number().over(
        partition_by=(Input.employee_ref, month), order_by=(Input.created_at.desc(), Input.id.desc())
    )
    ranked = (
        sa.select(
            month.label("month"),
            Input.departement,
            _row_column(scope.rows).label("row_value"),
            Prediction.prediction_proba.label("proba"),
            rank.label("rank"),
        )
        .join(Prediction, Prediction.input_id == Input.id)
        .where(*_where(scope))
        .subquery()
    )
    query = (
        sa.select(
            ranked.c.month,
            ranked.c.row_value,
            ranked.c.departement,
            sa.func.count().label("n"),
            sa.func.sum(ranked.c.proba).label("risk_sum"),
        )
        .where(ranked.c.rank == 1)
        .group_by(ranked.c.month, ranked.c.row_value, ranked.c.departement)
    )
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
    """Whether any evaluation of the scope gives a manager level (the optional field): the rows may then be levels."""
    query = sa.select(Input.id).where(*_where(scope), LEVEL.is_not(None)).limit(1)
    return db.session.scalar(query) is not None


def has_departures() -> bool:
    """Whether any departure is recorded: the realised departure rate is shown only then."""
    return db.session.scalar(sa.select(Departure.id).limit(1)) is not None
