"""The engine's tasks: thin wrappers run by the worker inside the Flask app's context (see engine.FlaskTask)."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from futurisys.jobs import lots
from futurisys.jobs.engine import DELETE_OLD_FILES, RECOVER, RUN_LOT


@shared_task(name=RUN_LOT)
def run_lot(job_id: str) -> str | None:
    """Score a lot (resuming after its last committed chunk)."""
    return lots.run_lot(job_id)


@shared_task(name=RECOVER)
def recover() -> list[str]:
    """Send again the unfinished jobs whose worker went silent."""
    return lots.recover(current_app.config["JOB_STALE_SECONDS"])


@shared_task(name=DELETE_OLD_FILES)
def delete_old_files() -> int:
    """Delete the stored files of lots past their retention (the evaluations stay)."""
    return lots.delete_old_files(current_app.config["LOT_RETENTION_DAYS"])
