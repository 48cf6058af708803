"""The engine's periodic tasks, run in-process through the Celery app: recovery of stalled jobs, retention of the
lots' files, giving up after too many attempts; and the worker's entry point."""

import importlib
import io
import sys
from datetime import timedelta

import sqlalchemy as sa

import futurisys.jobs.tasks  # noqa: F401 — registers the tasks on every Celery app
from futurisys import config
from futurisys.config import Config
from futurisys.extensions import db
from futurisys.jobs.engine import DELETE_OLD_FILES, RECOVER, RUN_LOT
from futurisys.jobs.models import Job
from futurisys.storage.models import Input, utcnow
from tests.payloads import IDS, raw_csv
from tests.support import logged_in


def task(app, name: str, *args):
    """Run the engine's task `name` in this process, as a worker would (inside the app's context)."""
    return app.extensions["celery"].tasks[name].apply(args=args).get()


def lot(app, client) -> str:
    response = client.post(
        "/lot", data={"fichier": (io.BytesIO(raw_csv()), "x.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 303
    return response.headers["Location"].rsplit("/", 1)[1]


def update(app, job_id: str, **values) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.update(Job).where(Job.id == job_id).values(**values))


def test_old_lots_lose_their_files_but_keep_their_evaluations(app, client):
    logged_in(app, client, "hr")
    old, recent = lot(app, client), lot(app, client)
    assert task(app, RUN_LOT, old) == task(app, RUN_LOT, recent) == "termine"
    update(app, old, created_at=utcnow() - timedelta(days=31))
    assert task(app, DELETE_OLD_FILES) == 1
    assert client.get(f"/lots/{old}/resultat.csv").status_code == 404
    assert "supprimés à la fin de leur durée de conservation" in client.get(f"/lots/{old}").get_data(as_text=True)
    assert client.get(f"/lots/{recent}/resultat.csv").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Input).where(Input.lot_id == old)) == len(IDS)
    assert task(app, DELETE_OLD_FILES) == 0  # done once


def test_a_silent_job_is_taken_back_and_resumed(app, client):
    logged_in(app, client, "hr")
    job_id = lot(app, client)
    update(app, job_id, status="en_cours", lease="a-dead-worker", heartbeat_at=utcnow() - timedelta(minutes=5))
    assert task(app, RUN_LOT, job_id) is None  # the lease is held: not ours
    assert task(app, RECOVER) == [job_id]
    assert task(app, RECOVER) == []  # its heartbeat was renewed when it was sent again
    assert task(app, RUN_LOT, job_id) == "termine"


def test_a_job_failing_every_time_is_given_up(app, client):
    logged_in(app, client, "hr")
    job_id = lot(app, client)
    update(app, job_id, attempts=app.config["JOB_MAX_ATTEMPTS"])
    assert task(app, RUN_LOT, job_id) == "echoue"
    page = client.get(f"/lots/{job_id}").get_data(as_text=True)
    assert "a échoué à plusieurs reprises" in page


def test_the_worker_entry_point_builds_its_app_and_recovers_at_start(app, database_url, bundle_dir, monkeypatch):
    # The settings a worker reads from its environment when futurisys.config is imported.
    monkeypatch.setattr(Config, "SQLALCHEMY_DATABASE_URI", config.database_url(database_url))
    monkeypatch.setattr(Config, "MODEL_DIR", str(bundle_dir))
    monkeypatch.setattr(Config, "CELERY_BROKER_URL", "memory://")
    monkeypatch.setenv("JOB_STATEMENT_TIMEOUT", "30")
    monkeypatch.delitem(sys.modules, "futurisys.jobs.worker", raising=False)  # built anew for this database
    worker = importlib.import_module("futurisys.jobs.worker")
    assert worker.flask_app.config["DB_STATEMENT_TIMEOUT"] == 30
    assert worker.celery is worker.flask_app.extensions["celery"]
    worker._recover_at_start()
    with worker.flask_app.app_context():
        for engine in db.engines.values():
            engine.dispose()
