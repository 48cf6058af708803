"""Tables of recorded departures and of every change made to them (append-only)."""

from __future__ import annotations

import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.outcomes.kinds import CODE_LENGTH
from futurisys.storage.models import EMPLOYEE_REF_LENGTH, utcnow

#: How a departure was recorded: an evaluation's page, the admin CSV import, POST /outcomes.
DEPARTURE_SOURCES = ("form", "csv", "api")
ACTIONS = ("creation", "correction", "suppression")


class Departure(db.Model):
    """An employee's exit: reference, date and type; one row per (reference, date, type)."""

    __tablename__ = "departures"
    id = sa.Column(sa.Integer, primary_key=True)
    employee_ref = sa.Column(sa.String(EMPLOYEE_REF_LENGTH), nullable=False)
    departure_date = sa.Column(sa.Date, nullable=False)
    kind = sa.Column(sa.String(CODE_LENGTH), nullable=False)
    source = sa.Column(sa.String(8), nullable=False)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
    __table_args__ = (
        # Also the index the outcome query probes: the departures of one reference, by date.
        sa.UniqueConstraint("employee_ref", "departure_date", "kind", name="uq_departures_ref_date_kind"),
        sa.CheckConstraint(f"source IN ({', '.join(repr(s) for s in DEPARTURE_SOURCES)})", name="ck_departures_source"),
    )


class DepartureChange(db.Model):
    """One creation, correction or removal of a departure: the values after it (before it for a removal), who, when.

    No foreign key to `departures`: the history of a removed departure stays.
    """

    __tablename__ = "departure_changes"
    id = sa.Column(sa.Integer, primary_key=True)
    departure_id = sa.Column(sa.Integer, nullable=False, index=True)
    action = sa.Column(sa.String(12), nullable=False)
    employee_ref = sa.Column(sa.String(EMPLOYEE_REF_LENGTH), nullable=False)
    departure_date = sa.Column(sa.Date, nullable=False)
    kind = sa.Column(sa.String(CODE_LENGTH), nullable=False)
    previous = sa.Column(sa.JSON(none_as_null=True), nullable=True)
    user_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_departure_changes_user_id_users"),
        index=True,
    )
    # Kept as text too: the account may be deleted later, the history must still say who it was.
    username = sa.Column(sa.String(64), nullable=True)
    api_key_name = sa.Column(sa.String(64), nullable=True)
    changed_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    __table_args__ = (
        sa.CheckConstraint(f"action IN ({', '.join(repr(a) for a in ACTIONS)})", name="ck_departure_changes_action"),
    )


class OutcomeSummary(db.Model):
    """What « Performance réelle » needs of one month of a version's predictions, for one horizon and one set of
    voluntary exit types: counts and sums by outcome, and for a matured month the histogram its figures come from.

    Not a copy of any outcome: a cache of a month's aggregate, forgotten whenever what it rests on changes (a
    departure recorded, corrected or removed; predictions deleted), recomputed from the rows. A matured month stays
    valid; a month still maturing (the current one too) is valid for the UTC day it was computed on.
    """

    __tablename__ = "outcome_summaries"
    id = sa.Column(sa.Integer, primary_key=True)
    model_version = sa.Column(sa.String(64), nullable=False)
    horizon = sa.Column(sa.SmallInteger, nullable=False)
    kinds = sa.Column(sa.String(255), nullable=False)
    month = sa.Column(sa.Date, nullable=False, index=True)
    mature = sa.Column(sa.Boolean, nullable=False)
    valid_on = sa.Column(sa.Date, nullable=False)
    data = sa.Column(sa.JSON, nullable=False)
    __table_args__ = (
        sa.UniqueConstraint("model_version", "horizon", "kinds", "month", name="uq_outcome_summaries_key"),
    )


class KnownOutcomeCount(db.Model):
    """How many employees have a known outcome, and how many of them left, for one set of voluntary exit types:
    what the « Modèles » page offers a training. A cache counted by the job engine (or by the page when the count is
    quick), forgotten with the summaries whenever departures or predictions change.
    """

    __tablename__ = "known_outcome_counts"
    kinds = sa.Column(sa.String(255), primary_key=True)
    employees = sa.Column(sa.Integer, nullable=False)
    leavers = sa.Column(sa.Integer, nullable=False)
    counted_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
