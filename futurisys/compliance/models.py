"""Tables of the compliance package: the access journal, its settings, per-employee flags, human decisions."""

from __future__ import annotations

import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.storage.models import utcnow

#: What HR may record after an evaluation (key → French label).
DECISION_ACTIONS = {
    "aucune_action": "Aucune action",
    "entretien": "Entretien",
    "action_retention": "Action de rétention",
}


class JournalEntry(db.Model):
    """One access or change, append-only: the database refuses UPDATE and DELETE (triggers, see the migration).

    No employee reference is stored in clear: `employee_key` is its keyed pseudonym (HMAC), so an erasure leaves
    a pseudonymous tombstone here. `hash` chains each entry to the previous one (`flask journal verify`).
    """

    __tablename__ = "access_journal"
    id = sa.Column(sa.Integer, primary_key=True)
    seq = sa.Column(sa.Integer, nullable=False, unique=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    user_id = sa.Column(sa.Integer, nullable=True, index=True)  # no foreign key: accounts may go, the trace stays
    username = sa.Column(sa.String(64), nullable=True)
    role = sa.Column(sa.String(16), nullable=True)
    action = sa.Column(sa.String(32), nullable=False, index=True)
    employee_key = sa.Column(sa.String(64), nullable=True, index=True)
    input_id = sa.Column(sa.Integer, nullable=True)
    address = sa.Column(sa.String(64), nullable=True)
    detail = sa.Column(sa.Text, nullable=True)  # JSON text, never a personal value in clear
    prev_hash = sa.Column(sa.String(64), nullable=False)
    hash = sa.Column(sa.String(64), nullable=False)


class Setting(db.Model):
    """One compliance setting set by an admin (the defaults live in code: compliance.settings.DEFAULTS)."""

    __tablename__ = "compliance_settings"
    key = sa.Column(sa.String(64), primary_key=True)
    value = sa.Column(sa.Text, nullable=False)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    updated_by = sa.Column(sa.String(64), nullable=True)


class EmployeeFlag(db.Model):
    """Legal hold and objection of one employee, keyed by the reference's pseudonym (they outlive an erasure)."""

    __tablename__ = "employee_flags"
    employee_key = sa.Column(sa.String(64), primary_key=True)
    legal_hold = sa.Column(sa.Boolean, nullable=False, default=False)
    objection = sa.Column(sa.Boolean, nullable=False, default=False)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    updated_by = sa.Column(sa.String(64), nullable=True)


class Decision(db.Model):
    """What HR decided after an evaluation, by whom and when (human oversight)."""

    __tablename__ = "evaluation_decisions"
    id = sa.Column(sa.Integer, primary_key=True)
    input_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("inputs.id", ondelete="CASCADE", name="fk_evaluation_decisions_input_id_inputs"),
        nullable=False,
        index=True,
    )
    action = sa.Column(sa.String(32), nullable=False)
    follows_model = sa.Column(sa.Boolean, nullable=False)
    comment = sa.Column(sa.Text, nullable=True)
    user_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_evaluation_decisions_user_id_users"),
        nullable=True,
        index=True,
    )
    username = sa.Column(sa.String(64), nullable=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    __table_args__ = (
        sa.CheckConstraint(
            "action IN ('aucune_action', 'entretien', 'action_retention')", name="ck_evaluation_decisions_action"
        ),
    )
