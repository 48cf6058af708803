"""The Celery application bound to a Flask app (Flask's documented pattern): tasks run inside an app context."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from celery import Celery, Task

#: Task names, sent by name: the web process never imports the worker's task code.
RUN_LOT = "futurisys.jobs.run_lot"
RECOVER = "futurisys.jobs.recover"
DELETE_OLD_FILES = "futurisys.jobs.delete_old_files"
RUN_PURGE = "futurisys.jobs.run_purge"
REFRESH_STATS = "futurisys.jobs.refresh_stats"
APPLY_RETENTION = "futurisys.jobs.apply_retention"
REFRESH_OUTCOMES = "futurisys.jobs.refresh_outcomes"
RUN_TRAINING = "futurisys.jobs.run_training"
#: The task that runs each kind of job (what the recovery task sends again).
TASK_OF_KIND = {"lot": RUN_LOT, "purge": RUN_PURGE, "training": RUN_TRAINING}


def _every(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def broker_url(config, instance_path: str) -> str:
    """Redis when CELERY_BROKER_URL or REDIS_URL is set, else kombu's SQLAlchemy transport on an SQLite file."""
    given = config.get("CELERY_BROKER_URL") or config.get("REDIS_URL")
    if given:
        return given
    return f"sqla+sqlite:///{Path(instance_path) / 'celery-broker.sqlite'}"


def celery_init_app(app) -> Celery:
    """A Celery app whose tasks run in `app`'s context, configured from `app.config`; kept in `app.extensions`."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    config = app.config
    broker = broker_url(config, app.instance_path)
    transport_options = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
    if not broker.startswith("sqla+"):
        # kombu's SQLAlchemy transport hands this option to create_engine(), which refuses it (kombu 5.7).
        transport_options["polling_interval"] = 0.5
    celery = Celery(app.import_name, task_cls=FlaskTask, set_as_current=False)
    celery.conf.update(
        broker_url=broker,
        broker_connection_retry_on_startup=True,
        # A web request must not hang on a broker that is down: the job is saved first and sent again later.
        broker_connection_timeout=2,
        broker_transport_options=transport_options,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
        # At-least-once: a task is acknowledged once it ran, and given back if its worker dies. Celery does not
        # always give it back after a `kill -9` (see README): the recovery task below sends stale jobs again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,  # the job's state lives in the project's database, not in a result backend
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        timezone="UTC",
        include=["futurisys.jobs.tasks"],
        beat_schedule={
            "recover-stale-jobs": {"task": RECOVER, "schedule": timedelta(seconds=config["JOB_RECOVER_EVERY"])},
            "delete-old-lot-files": {"task": DELETE_OLD_FILES, "schedule": timedelta(hours=1)},
            # The dashboard's daily stats and the retention classes: what `predictions stats` and
            # `retention apply` do by hand, each in bounded batches.
            "refresh-daily-stats": {"task": REFRESH_STATS, "schedule": _every(config["STATS_REFRESH_EVERY"])},
            "apply-retention": {"task": APPLY_RETENTION, "schedule": _every(config["RETENTION_APPLY_EVERY"])},
            "refresh-outcome-summaries": {"task": REFRESH_OUTCOMES, "schedule": _every(config["STATS_REFRESH_EVERY"])},
        },
    )
    app.extensions["celery"] = celery
    return celery
