"""Retention of stored inputs and predictions (personal HR data): purges in bounded batches, at any table size.

Each batch is one short transaction: it finds the next `batch_size` old inputs in `created_at` order (an index
range read that resumes after the previous batch's last key, never re-reading what it deleted), deletes their
predictions and then them. So /predict never waits long behind a purge's locks, an interruption keeps what was done,
and every statement runs under the maintenance limit (its own, not the request's 2 s). Plain functions: the CLI
runs them, the job engine can too (with `progress` to show where it is).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from futurisys.storage import hooks, stats
from futurisys.storage.db_timeouts import limit_statements, maintenance
from futurisys.storage.models import Input, Prediction
from futurisys.storage.sqlite_writes import write_turn

BATCH_SIZE = 2000
INPUTS, PREDICTIONS = Input.__table__, Prediction.__table__
#: Which of some employee references must be kept (legal hold): compliance.rights.held_among in the app.
HeldAmong = Callable[[Iterable[str]], Collection[str]]


@dataclass(frozen=True)
class PurgeResult:
    """How many inputs and predictions a purge deleted (or would delete, for a dry run)."""

    inputs: int
    predictions: int


def count_older_than(
    engine, cutoff: datetime, statement_seconds: float, held_among: HeldAmong | None = None
) -> PurgeResult:
    """What a purge of the inputs older than `cutoff` would delete (an index count under the maintenance limit)."""
    expired = INPUTS.c.created_at < cutoff
    with maintenance(statement_seconds), engine.begin() as connection:
        limit_statements(connection, statement_seconds)
        if held_among is not None:
            references = connection.scalars(
                sa.select(INPUTS.c.employee_ref).where(expired, INPUTS.c.employee_ref.is_not(None)).distinct()
            )
            held = list(held_among(references))
            if held:
                expired = sa.and_(expired, sa.or_(INPUTS.c.employee_ref.is_(None), INPUTS.c.employee_ref.not_in(held)))
        old_inputs = sa.select(INPUTS.c.id).where(expired)
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
    held_among: HeldAmong | None = None,
    pause_ratio: float = 0.0,
) -> PurgeResult:
    """Delete the inputs older than `cutoff` with their predictions, `batch_size` at a time; the totals deleted.

    The inputs of employees `held_among` says are under legal hold are passed over (kept). After each batch the
    purge rests `pause_ratio` times as long as the batch took, so that the database's disk and locks keep serving
    other requests (a 1.0 ratio halves the purge's share of the database's time).
    """
    n_inputs = n_predictions = 0
    last: tuple | None = None
    kept: list[int] = []  # held inputs passed over: never read again, whatever the dates' text form on SQLite
    key = sa.tuple_(INPUTS.c.created_at, INPUTS.c.id)
    with maintenance(statement_seconds):
        while True:
            batch_started = time.perf_counter()
            with write_turn(current_app), engine.begin() as connection:
                limit_statements(connection, statement_seconds)
                batch = sa.select(INPUTS.c.created_at, INPUTS.c.id, INPUTS.c.employee_ref).where(
                    INPUTS.c.created_at < cutoff
                )
                if last is not None:
                    batch = batch.where(key > sa.tuple_(*last))
                if kept:
                    batch = batch.where(INPUTS.c.id.not_in(kept))
                rows = connection.execute(batch.order_by(INPUTS.c.created_at, INPUTS.c.id).limit(batch_size)).all()
                if not rows:
                    break
                last = (rows[-1].created_at, rows[-1].id)
                held = set(held_among({row.employee_ref for row in rows if row.employee_ref})) if held_among else ()
                ids = [row.id for row in rows if row.employee_ref not in held]
                kept += [row.id for row in rows if row.employee_ref in held]
                if not ids:
                    continue
                # Predictions first, explicitly: the result does not depend on the foreign-key cascade being on.
                n_predictions += connection.execute(
                    PREDICTIONS.delete().where(PREDICTIONS.c.input_id.in_(ids))
                ).rowcount
                n_inputs += connection.execute(INPUTS.delete().where(INPUTS.c.id.in_(ids))).rowcount
            if progress is not None:
                progress(PurgeResult(n_inputs, n_predictions))
            if pause_ratio > 0:
                time.sleep((time.perf_counter() - batch_started) * pause_ratio)
        if n_inputs:
            with write_turn(current_app), engine.begin() as connection:
                limit_statements(connection, statement_seconds)
                stats.forget_before(connection, cutoff)
                hooks.predictions_changed(connection, cutoff)
    return PurgeResult(n_inputs, n_predictions)
