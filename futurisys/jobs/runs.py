"""One attempt at running a job: it holds the job's lease, and every progress write checks that it still does.

Shared by every kind of job (lots, purges): a run claims the job when it is free (new, or revoked by the recovery
task), writes its progress and heartbeat in the same transactions as its work, and stops with LeaseLost as soon as
another run took the job over or someone asked to cancel it.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from futurisys.extensions import db
from futurisys.jobs.engine import TASK_OF_KIND
from futurisys.jobs.models import RUNNING, WAITING, Job, new_job_id
from futurisys.storage.models import utcnow
from futurisys.storage.sqlite_writes import write_turn

JOBS = Job.__table__
log = logging.getLogger(__name__)


def insert_job(connection, kind: str, *, user_id: int | None, request_id: str, **values) -> str:
    """Insert a new job of `kind`, waiting for a worker, in the caller's transaction; its unguessable id."""
    job_id = new_job_id()
    now = utcnow()
    row = {
        "id": job_id,
        "kind": kind,
        "status": WAITING,
        "checked": 0,
        "done": 0,
        "errors": 0,
        "user_id": user_id,
        "file_bytes": 0,
        "request_id": request_id,
        "created_at": now,
        "heartbeat_at": now,
        "attempts": 0,
        "cancel_requested": False,
    }
    connection.execute(JOBS.insert(), {**row, **values})
    return job_id


def send(job_id: str, kind: str = "lot") -> bool:
    """Hand the job to the engine; when the broker is unreachable, the recovery task sends it later."""
    try:
        current_app.extensions["celery"].send_task(TASK_OF_KIND[kind], args=[job_id])
    except Exception:  # noqa: BLE001 — any broker failure: the job is stored, and stale jobs are sent again
        log.warning("job %s not sent: broker unreachable, the recovery task will send it", job_id)
        return False
    return True


def recover(stale_seconds: float) -> list[str]:
    """Unfinished jobs silent for `stale_seconds`: their lease is revoked and they are sent again."""
    now = utcnow()
    with write_turn(current_app), db.engine.begin() as connection:
        stale = connection.execute(
            sa.select(JOBS.c.id, JOBS.c.kind).where(
                JOBS.c.status.in_((WAITING, RUNNING)), JOBS.c.heartbeat_at < now - timedelta(seconds=stale_seconds)
            )
        ).all()
        if stale:
            ids = [row.id for row in stale]
            connection.execute(JOBS.update().where(JOBS.c.id.in_(ids)).values(lease=None, heartbeat_at=now))
    for job_id, kind in stale:
        log.info("job %s silent for over %g s: sent again", job_id, stale_seconds)
        send(job_id, kind)
    return [job_id for job_id, _ in stale]


class LeaseLost(Exception):
    """Another run took the job over (this one was too slow to beat), or the job was cancelled: stop here."""


class JobRun:
    """One attempt at running a job, holding its lease."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.lease = secrets.token_hex(16)
        self.engine = db.engine
        self.config = current_app.config

    def claim(self) -> dict | None:
        """Take the job when it is free (new, or revoked by the recovery task); its row, else None."""
        now = utcnow()
        with write_turn(current_app), self.engine.begin() as connection:
            taken = connection.execute(
                JOBS.update()
                .where(JOBS.c.id == self.job_id, JOBS.c.status.in_((WAITING, RUNNING)), JOBS.c.lease.is_(None))
                .values(
                    lease=self.lease,
                    status=RUNNING,
                    heartbeat_at=now,
                    attempts=JOBS.c.attempts + 1,
                    started_at=sa.func.coalesce(JOBS.c.started_at, now),
                )
            ).rowcount
            if not taken:
                return None
            return dict(connection.execute(sa.select(JOBS).where(JOBS.c.id == self.job_id)).mappings().one())

    def beat(self, connection, **values) -> None:
        """Write progress (and the heartbeat) in the caller's transaction; LeaseLost when the job is not ours."""
        row = connection.execute(
            JOBS.update()
            .where(JOBS.c.id == self.job_id, JOBS.c.lease == self.lease)
            .values(heartbeat_at=utcnow(), **values)
            .returning(JOBS.c.cancel_requested)
        ).first()
        if row is None or row.cancel_requested:
            raise LeaseLost()

    def beat_alone(self, **values) -> None:
        """`beat` in a transaction of its own."""
        with write_turn(current_app), self.engine.begin() as connection:
            self.beat(connection, **values)

    def cancelled_here(self) -> bool:
        """After a lost lease: whether the job was cancelled while this run (or none) held it."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(JOBS.c.cancel_requested, JOBS.c.lease, JOBS.c.status).where(JOBS.c.id == self.job_id)
            ).first()
        return bool(
            row is not None
            and row.cancel_requested
            and row.lease in (self.lease, None)
            and row.status in (WAITING, RUNNING)
        )
