"""The challenger in the shadow: how often it agreed with the active version, and, once outcomes are known, which
of the two was closer to what happened (never shown to HR, never returned to integrators).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import sqlalchemy as sa
from flask import current_app

from futurisys.extensions import db
from futurisys.registry.models import ModelVersion
from futurisys.storage.models import Prediction

#: The latest shadow-scored predictions the summary reads (a bounded read, whatever the table holds).
SHOWN = 10_000
PREDICTIONS = Prediction.__table__


def agreement(limit: int = SHOWN) -> dict | None:
    """Agreement on the latest `limit` shadow-scored predictions, and Brier scores on those with a known outcome."""
    rows = db.session.execute(
        sa.select(
            PREDICTIONS.c.id,
            PREDICTIONS.c.created_at,
            PREDICTIONS.c.model_version,
            PREDICTIONS.c.prediction_proba,
            PREDICTIONS.c.threshold,
            PREDICTIONS.c.challenger_version,
            PREDICTIONS.c.challenger_proba,
        )
        .where(PREDICTIONS.c.challenger_proba.is_not(None))
        .order_by(PREDICTIONS.c.id.desc())
        .limit(limit)
    ).all()
    if not rows:
        return None
    thresholds = dict(
        db.session.execute(
            sa.select(ModelVersion.version, ModelVersion.bundle_metadata["threshold"].as_float()).where(
                ModelVersion.version.in_({row.challenger_version for row in rows})
            )
        ).all()
    )
    active = np.array([row.prediction_proba for row in rows])
    shadow = np.array([row.challenger_proba for row in rows])
    same = np.array(
        [
            (row.prediction_proba >= row.threshold)
            == (row.challenger_proba >= thresholds.get(row.challenger_version, 0.5))
            for row in rows
        ]
    )
    return {
        "n": len(rows),
        "actifs": sorted({row.model_version for row in rows}),
        "challengers": sorted({row.challenger_version for row in rows}),
        "accord": float(same.mean()),
        "ecart_moyen": float(np.abs(active - shadow).mean()),
        "issues": _outcomes([row.id for row in rows], min(row.created_at for row in rows)),
    }


def _outcomes(ids: list[int], since: datetime) -> dict | None:
    """Brier score of each side on the shadow-scored predictions whose outcome is known (None when none is)."""
    from futurisys.outcomes.clock import as_utc
    from futurisys.outcomes.horizon import DEFAULT_HORIZON, PARTI, RESTE, outcomes
    from futurisys.outcomes.kinds import voluntary_kinds
    from futurisys.storage.models import utcnow

    month = as_utc(since).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    known = outcomes(
        db.engine.dialect.name,
        DEFAULT_HORIZON,
        utcnow(),
        voluntary_kinds(current_app.config["OUTCOMES_VOLUNTARY_KINDS"]),
        since=month,
    )
    found = db.session.execute(
        sa.select(known.c.status, PREDICTIONS.c.prediction_proba, PREDICTIONS.c.challenger_proba)
        .join(PREDICTIONS, PREDICTIONS.c.id == known.c.prediction_id)
        .where(known.c.counted, known.c.status.in_((PARTI, RESTE)), PREDICTIONS.c.challenger_proba.is_not(None))
        .where(PREDICTIONS.c.id >= min(ids))
    ).all()
    if not found:
        return None
    target = np.array([row.status == PARTI for row in found], dtype=float)
    active = np.array([row.prediction_proba for row in found])
    shadow = np.array([row.challenger_proba for row in found])
    return {
        "n": len(found),
        "departs": int(target.sum()),
        "brier_actif": float(np.mean((active - target) ** 2)),
        "brier_challenger": float(np.mean((shadow - target) ** 2)),
    }
