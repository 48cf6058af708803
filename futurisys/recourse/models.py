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
