"""The worker's entry point: `celery -A futurisys.jobs.worker worker -B` (see scripts/worker.sh)."""

from __future__ import annotations

import os

from celery.signals import worker_ready

from futurisys import create_app
from futurisys.config import Config

# A worker's statements are chunks and summaries: bounded by their own limit, not by a web request's.
flask_app = create_app(
    {"DB_STATEMENT_TIMEOUT": float(os.environ.get("JOB_STATEMENT_TIMEOUT", Config.JOB_STATEMENT_TIMEOUT))}
)
celery = flask_app.extensions["celery"]


@worker_ready.connect
def _recover_at_start(sender=None, **_):
    """A worker that starts sends again the jobs left silent (e.g. by the worker it replaces)."""
    with flask_app.app_context():
        from futurisys.jobs import runs

        runs.recover(flask_app.config["JOB_STALE_SECONDS"])
