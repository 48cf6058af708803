"""The engine's tasks: thin wrappers run by the worker inside the Flask app's context (see engine.FlaskTask)."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from futurisys.jobs import lots, purges, runs
from futurisys.jobs.engine import (
    APPLY_RETENTION,
    DELETE_OLD_FILES,
    RECOVER,
    REFRESH_OUTCOMES,
    REFRESH_STATS,
    RUN_LOT,
    RUN_PURGE,
    RUN_TRAINING,
)


@shared_task(name=RUN_LOT)
def run_lot(job_id: str) -> str | None:
    """Score a lot (resuming after its last committed chunk)."""
    return lots.run_lot(job_id)


@shared_task(name=RUN_PURGE)
def run_purge(job_id: str) -> str | None:
    """Delete the evaluations older than the purge's cut-off, in batches."""
    return purges.run_purge(job_id)


@shared_task(name=RUN_TRAINING)
def run_training(job_id: str) -> str | None:
    """Train a model version on the chosen data and compare it with the active one."""
    from futurisys.registry import training

    return training.run_training(job_id)


@shared_task(name=RECOVER)
def recover() -> list[str]:
    """Send again the unfinished jobs whose worker went silent."""
    return runs.recover(current_app.config["JOB_STALE_SECONDS"])


@shared_task(name=DELETE_OLD_FILES)
def delete_old_files() -> int:
    """Delete the stored files of lots past their retention (the evaluations stay)."""
    return lots.delete_old_files(current_app.config["LOT_RETENTION_DAYS"])


@shared_task(name=REFRESH_STATS)
def refresh_stats() -> str:
    """Count the days not counted yet into the dashboard's daily stats; the last day complete (ISO)."""
    from futurisys.extensions import db
    from futurisys.storage import stats

    return stats.refresh(db.engine, current_app.config["MAINTENANCE_STATEMENT_TIMEOUT"]).isoformat()


@shared_task(name=APPLY_RETENTION)
def apply_retention() -> dict:
    """Delete what each retention class keeps too long (legal holds kept), journaled like the CLI's run."""
    from futurisys.compliance import retention

    return retention.apply()


@shared_task(name=REFRESH_OUTCOMES)
def refresh_outcomes() -> int:
    """Summarise the months « Performance réelle » reads (each version, each horizon) and count the known outcomes
    « Modèles » offers a training; how many months were summarised."""
    from futurisys.outcomes.performance import refresh_summaries
    from futurisys.registry.datasets import refresh_known_counts

    summarised = refresh_summaries()
    refresh_known_counts()
    return summarised
