"""The lever catalogue as admins changed it: one row per lever they set (the others keep their default)."""

from __future__ import annotations

import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.storage.models import utcnow


class LeverSetting(db.Model):
    """How one lever may be proposed, as an admin set it."""

    __tablename__ = "lever_settings"
    name = sa.Column(sa.String(64), primary_key=True)
    enabled = sa.Column(sa.Boolean, nullable=False)
    direction = sa.Column(sa.String(8), nullable=False)
    max_change = sa.Column(sa.Float, nullable=False)
    step = sa.Column(sa.Float, nullable=False)
    cost = sa.Column(sa.SmallInteger, nullable=False)
    updated_by = sa.Column(sa.String(64), nullable=True)
    updated_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


class EngagedAction(db.Model):
    """A « Que faire ? » proposal HR marked « action engagée » on an evaluation: what, by whom, when."""

    __tablename__ = "engaged_actions"
    id = sa.Column(sa.Integer, primary_key=True)
    input_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("inputs.id", ondelete="CASCADE", name="fk_engaged_actions_input_id_inputs"),
        nullable=False,
        index=True,
    )
    levers = sa.Column(sa.String(255), nullable=False)  # the levers moved, comma-separated
    description = sa.Column(sa.String(500), nullable=False)  # the proposal in French, as the page showed it
    proba_before = sa.Column(sa.Float, nullable=False)
    proba_after = sa.Column(sa.Float, nullable=False)
    user_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_engaged_actions_user_id_users"),
        nullable=True,
        index=True,
    )
    username = sa.Column(sa.String(64), nullable=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
