"""What became of each prediction over a horizon of H months: a query, recomputed from the departures every time.

*parti*: a voluntary departure in (prediction day, prediction day + H]; *censuré*: another exit came first within
H; *resté*: H has elapsed with no departure; *en attente*: H has not elapsed yet; *sans référence*: no employee
reference to look departures up by. Departures dated after "now" are not known yet. What-if simulations are
never outcomes (they describe no real moment). Several evaluations of one employee in the same month by the same
model version count once (the first): `counted`. Months and days are UTC. No Flask here; "now" is an argument.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from futurisys.outcomes.clock import as_utc, shift_months
from futurisys.outcomes.models import Departure
from futurisys.storage.models import Input, Prediction

HORIZONS = (3, 6, 12)
DEFAULT_HORIZON = 12
PARTI, RESTE, CENSURE, EN_ATTENTE, SANS_REFERENCE = "parti", "reste", "censure", "en_attente", "sans_reference"
STATUS_LABELS = {
    PARTI: "parti",
    RESTE: "resté",
    CENSURE: "censuré",
    EN_ATTENTE: "en attente",
    SANS_REFERENCE: "sans référence",
}

INPUTS, PREDICTIONS, DEPARTURES = Input.__table__, Prediction.__table__, Departure.__table__


def matured_before(now: datetime, horizon: int) -> datetime:
    """Predictions made at or before this instant have seen their whole horizon (`now` minus H months)."""
    return shift_months(as_utc(now), -horizon)


def first_immature_month(now: datetime, horizon: int) -> date:
    """The first cohort month not wholly matured (the month of `matured_before`): every earlier one has."""
    return matured_before(now, horizon).date().replace(day=1)


def utc_day(dialect: str, column, months: int = 0):
    """The UTC calendar day of a timestamp column, moved `months` months."""
    if dialect == "postgresql":
        moment = sa.func.timezone("UTC", column)
        if months:
            moment = moment + sa.literal_column(f"interval '{int(months)} months'")
        return sa.cast(moment, sa.Date)
    return sa.func.date(column, f"+{int(months)} months") if months else sa.func.date(column)


def utc_month(dialect: str, column):
    """The first day of a timestamp's UTC month (a date on PostgreSQL, 'YYYY-MM-01' on SQLite)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc("month", sa.func.timezone("UTC", column)), sa.Date)
    return sa.func.strftime("%Y-%m-01", column)


def _scope(query, model_version, since, until):
    """`query` restricted to real predictions (no what-ifs) of a version and a time range."""
    query = query.where(INPUTS.c.source != "whatif")
    if model_version is not None:
        query = query.where(PREDICTIONS.c.model_version == model_version)
    if since is not None:
        query = query.where(PREDICTIONS.c.created_at >= since)
    if until is not None:
        query = query.where(PREDICTIONS.c.created_at < until)
    return query


def _first_departures(dialect: str, horizon: int, today: date, kinds, scope):
    """Per prediction with departures in its horizon: the first voluntary one's date, and the first other one's.

    A join grouped by prediction (hashed by the database), not a subquery per prediction: 100,000 index probes
    per query cost seconds where one pass over the departures costs a fraction of it.
    """
    day = DEPARTURES.c.departure_date
    joined = PREDICTIONS.join(INPUTS, INPUTS.c.id == PREDICTIONS.c.input_id).join(
        DEPARTURES,
        sa.and_(
            DEPARTURES.c.employee_ref == INPUTS.c.employee_ref,
            day > utc_day(dialect, PREDICTIONS.c.created_at),
            day <= utc_day(dialect, PREDICTIONS.c.created_at, horizon),
            day <= today,
        ),
    )
    voluntary = DEPARTURES.c.kind.in_(kinds)
    query = (
        sa.select(
            PREDICTIONS.c.id.label("prediction_id"),
            sa.func.min(sa.case((voluntary, day))).label("left_on"),
            sa.func.min(sa.case((sa.not_(voluntary), day))).label("other_on"),
        )
        .select_from(joined)
        .group_by(PREDICTIONS.c.id)
    )
    return scope(query).subquery("first_departures")


def outcomes(
    dialect: str,
    horizon: int,
    now: datetime,
    voluntary,
    *,
    model_version: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """A subquery of every prediction (what-ifs aside) with its cohort month, `counted` flag and outcome `status`.

    `since`/`until` bound the predictions' time (until excluded): give them as month starts so that `counted`
    (first of its employee, month and version) is never decided on part of a month.
    """
    if horizon not in HORIZONS:
        raise ValueError(f"horizon must be one of {HORIZONS}")
    now = as_utc(now)

    def scope(query):
        return _scope(query, model_version, since, until)

    firsts = _first_departures(dialect, horizon, now.date(), sorted(voluntary), scope)
    left, other = firsts.c.left_on, firsts.c.other_on
    reference = INPUTS.c.employee_ref
    status = sa.case(
        (reference.is_(None), SANS_REFERENCE),
        (sa.and_(left.is_not(None), sa.or_(other.is_(None), left <= other)), PARTI),
        (other.is_not(None), CENSURE),
        (PREDICTIONS.c.created_at <= matured_before(now, horizon), RESTE),
        else_=EN_ATTENTE,
    )
    month = utc_month(dialect, PREDICTIONS.c.created_at)
    rank = sa.func.row_number().over(
        partition_by=(PREDICTIONS.c.model_version, reference, month),
        order_by=(PREDICTIONS.c.created_at, PREDICTIONS.c.id),
    )
    query = sa.select(
        PREDICTIONS.c.id.label("prediction_id"),
        PREDICTIONS.c.model_version,
        PREDICTIONS.c.created_at,
        PREDICTIONS.c.prediction_proba.label("proba"),
        PREDICTIONS.c.prediction_label.label("label"),
        reference.label("employee_ref"),
        month.label("cohort"),
        sa.case((reference.is_(None), True), else_=rank == 1).label("counted"),
        status.label("status"),
    ).select_from(
        PREDICTIONS.join(INPUTS, INPUTS.c.id == PREDICTIONS.c.input_id).outerjoin(
            firsts, firsts.c.prediction_id == PREDICTIONS.c.id
        )
    )
    return scope(query).subquery("outcomes")


def cohort_date(value) -> date:
    """A cohort month as a date, whatever the database gave back."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
