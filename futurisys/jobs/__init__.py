"""The job engine (Celery): long work in the background, its state in the project's database."""

from __future__ import annotations

from futurisys.jobs import models  # noqa: F401 — the tables, for the metadata and the migrations check
from futurisys.jobs.engine import celery_init_app


def init_app(app) -> None:
    """Bind the Celery app and register the lots' pages."""
    from futurisys.jobs.routes import bp

    celery_init_app(app)
    app.register_blueprint(bp)
