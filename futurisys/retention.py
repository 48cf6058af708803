"""Retention of stored inputs and predictions (personal HR data): purges in bounded batches, at any table size.

Each batch is one short transaction: it finds the next `batch_size` old inputs in `created_at` order (an index
range read that resumes after the previous batch's last key, never re-reading what it deleted), deletes their
predictions and then them. So /predict never waits long behind a purge's locks, an interruption keeps what was done,
and every statement runs under the maintenance limit (its own, not the request's 2 s). Plain functions: the CLI
runs them, the job engine can too (with `progress` to show where it is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from futurisys import stats
from futurisys.db_timeouts import limit_statements, maintenance
from futurisys.models import Input, Prediction
from futurisys.sqlite_writes import write_turn

BATCH_SIZE = 2000
INPUTS, PREDICTIONS = Input.__table__, Prediction.__table__


@dataclass(frozen=True)
class PurgeResult:
    """How many inputs and predictions a purge deleted (or would delete, for a dry run)."""

    inputs: int
    predictions: int


def count_older_than(engine, cutoff: datetime, statement_seconds: float) -> PurgeResult:
    """What a purge of the inputs older than `cutoff` would delete (an index count under the maintenance limit)."""
    old_inputs = sa.select(INPUTS.c.id).where(INPUTS.c.created_at < cutoff)
    with maintenance(statement_seconds), engine.begin() as connection:
        limit_statements(connection, statement_seconds)
        n_inputs = connection.scalar(sa.select(sa.func.count()).select_from(old_inputs.subquery()))
        n_predictions = connection.scalar(
            sa.select(sa.func.count()).select_from(PREDICTIONS).where(PREDICTIONS.c.input_id.in_(old_inputs))
        )
    return PurgeResult(n_inputs, n_predictions)


def purge_older_than(
    engine,
    cutoff: datetime,
    statement_seconds: float,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[PurgeResult], None] | None = None,
) -> PurgeResult:
    """Delete the inputs older than `cutoff` with their predictions, `batch_size` at a time; the totals deleted."""
    n_inputs = n_predictions = 0
    last: tuple | None = None
    key = sa.tuple_(INPUTS.c.created_at, INPUTS.c.id)
    with maintenance(statement_seconds):
        while True:
            with write_turn(current_app), engine.begin() as connection:
                limit_statements(connection, statement_seconds)
                batch = sa.select(INPUTS.c.created_at, INPUTS.c.id).where(INPUTS.c.created_at < cutoff)
                if last is not None:
                    batch = batch.where(key > sa.tuple_(*last))
                rows = connection.execute(batch.order_by(INPUTS.c.created_at, INPUTS.c.id).limit(batch_size)).all()
                if not rows:
                    break
                ids = [row.id for row in rows]
                # Predictions first, explicitly: the result does not depend on the foreign-key cascade being on.
                n_predictions += connection.execute(
                    PREDICTIONS.delete().where(PREDICTIONS.c.input_id.in_(ids))
                ).rowcount
                n_inputs += connection.execute(INPUTS.delete().where(INPUTS.c.id.in_(ids))).rowcount
                last = tuple(rows[-1])
            if progress is not None:
                progress(PurgeResult(n_inputs, n_predictions))
        if n_inputs:
            with write_turn(current_app), engine.begin() as connection:
                limit_statements(connection, statement_seconds)
                stats.forget_before(connection, cutoff)
    return PurgeResult(n_inputs, n_predictions)
