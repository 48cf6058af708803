"""Lots on a real Celery worker process: Redis broker (and the embedded SQLite transport), `kill -9` mid-lot then
recovery with every line stored once, cancel, another account's 404, an app restart between upload and download."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import time

import pytest
import sqlalchemy as sa

from futurisys.domain.schema import RAW_NAMES
from futurisys.extensions import db
from futurisys.jobs.models import Job
from futurisys.storage.models import Input
from tests.payloads import IDS, employee, export_cell, raw_csv
from tests.support import JOBS_REDIS_URL, logged_in, login, make_app, make_user, worker

REDIS_URL = JOBS_REDIS_URL
WAIT = 120  # seconds: a bound on how long a lot may take here, never a pause


def big_export(lines: int) -> bytes:
    """An HR export of `lines` employees (the five sample employees over and over, each with its own number)."""
    cells = {i: [export_cell(name, employee(i)[name]) for name in RAW_NAMES] for i in IDS}
    return raw_csv([[f"E{n:06d}", *cells[IDS[n % len(IDS)]]] for n in range(lines)])


def kill_9(process: subprocess.Popen) -> None:
    """`kill -9` the worker and its beat: no chance to give anything back."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def job_row(app, job_id: str) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge_all()
        db.session.remove()
        return job


def wait_for(app, job_id: str, condition, what: str) -> Job:
    """Poll the job's row until `condition(job)` holds (bounded by WAIT): the worker's progress is the event."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        job = job_row(app, job_id)
        if condition(job):
            return job
        time.sleep(0.05)  # polling interval of a condition, not a wait on timing
    raise AssertionError(f"{what}: not reached in {WAIT} s (job {job_row(app, job_id).__dict__})")


def upload(client, content: bytes, name: str = "export.csv") -> str:
    response = client.post("/lot", data={"fichier": (io.BytesIO(content), name)}, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return re.fullmatch(r"/lots/([\w-]+)", response.headers["Location"]).group(1)


def stored_lines(app, job_id: str) -> tuple[int, int]:
    """(rows stored for the lot, distinct lot lines among them)."""
    with app.app_context():
        return db.session.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(Input.lot_line))).where(Input.lot_id == job_id)
        ).one()


@pytest.fixture
def redis_app(app, database_url, bundle_dir):
    """The app sending its jobs to this run's Redis database (flushed afterwards); `app` empties the tables."""
    import redis

    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    redis_app = make_app(database_url, bundle_dir, CELERY_BROKER_URL=REDIS_URL)
    yield redis_app
    broker.flushdb()
    broker.close()
    with redis_app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_kill_9_mid_lot_then_recovery_stores_every_line_once(redis_app, database_url, bundle_dir, tmp_path):
    client = logged_in(redis_app, redis_app.test_client(), "hr")
    lines = 12_000
    job_id = upload(client, big_export(lines))
    first = worker(database_url, bundle_dir, tmp_path, REDIS_URL, LOT_CHUNK_LINES=500)
    process = first.__enter__()
    try:
        wait_for(redis_app, job_id, lambda job: job.done >= 500, "first chunk committed")
        # Hold the job's row: the worker's next chunk waits on it, so the kill lands mid-lot, whatever the speed.
        with redis_app.app_context(), db.engine.connect() as holder:
            done = holder.execute(sa.text("SELECT done FROM jobs WHERE id = :id FOR UPDATE"), {"id": job_id}).scalar()
            assert 0 < done < lines
            kill_9(process)
            holder.rollback()
    finally:
        first.__exit__(None, None, None)
    assert stored_lines(redis_app, job_id) == (done, done)  # whole chunks only, nothing half-written
    with worker(database_url, bundle_dir, tmp_path, REDIS_URL, LOT_CHUNK_LINES=500):
        job = wait_for(redis_app, job_id, lambda job: job.status == "termine", "lot finished after the restart")
    assert job.attempts >= 2 and job.done == lines
    assert stored_lines(redis_app, job_id) == (lines, lines)
    result = client.get(f"/lots/{job_id}/resultat.csv")
    rows = list(csv.reader(io.StringIO(result.get_data().decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == lines + 1 and [row[0] for row in rows[1:]] == [f"E{n:06d}" for n in range(lines)]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_upload_restart_download_cancel_and_other_accounts(redis_app, database_url, bundle_dir, tmp_path):
    client = logged_in(redis_app, redis_app.test_client(), "hr")
    job_id = upload(client, raw_csv(), "équipe.csv")
    status = client.get(f"/lots/{job_id}/etat.json").get_json()
    assert status["statut"] == "en_attente" and status["termine"] is False  # no worker yet: it waits, stored
    # A restart of the app between upload and download: a new app (a replica) serves the lot from the database.
    restarted = make_app(database_url, bundle_dir, CELERY_BROKER_URL=REDIS_URL)
    again = restarted.test_client()
    assert login(again, "hr").status_code == 302
    with worker(database_url, bundle_dir, tmp_path, REDIS_URL):
        wait_for(redis_app, job_id, lambda job: job.status == "termine", "lot finished")
    page = again.get(f"/lots/{job_id}").get_data(as_text=True)
    assert "Télécharger le fichier évalué" in page and "Salariés à risque" in page
    download = again.get(f"/lots/{job_id}/resultat.csv")
    assert download.status_code == 200 and "equipe_predictions.csv" in download.headers["Content-Disposition"]
    rows = download.get_data().decode("utf-8-sig").splitlines()
    assert len(rows) == len(IDS) + 1 and rows[1].startswith("É-001;")
    assert "équipe.csv" in again.get("/lots").get_data(as_text=True)
    # Another HR account: 404 on the page and the files; anonymous: the login page.
    make_user(redis_app, "autre", "hr")
    other = redis_app.test_client()
    assert login(other, "autre").status_code == 302
    for path in ("", "/etat.json", "/resultat.csv", "/erreurs.csv"):
        assert other.get(f"/lots/{job_id}{path}").status_code == 404
    assert "équipe.csv" not in other.get("/lots").get_data(as_text=True)
    anonymous = redis_app.test_client().get(f"/lots/{job_id}")
    assert anonymous.status_code == 302 and "/connexion" in anonymous.headers["Location"]
    # Cancel, before a worker takes it: nothing stored, the upload deleted.
    cancelled = upload(client, raw_csv())
    assert client.post(f"/lots/{cancelled}/annuler").status_code == 303
    assert job_row(redis_app, cancelled).status == "annule"
    with worker(database_url, bundle_dir, tmp_path, REDIS_URL):
        last = upload(client, raw_csv())
        wait_for(redis_app, last, lambda job: job.status == "termine", "a later lot finished")
    assert job_row(redis_app, cancelled).status == "annule" and stored_lines(redis_app, cancelled) == (0, 0)
    with restarted.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_cancel_while_running_removes_what_the_lot_stored(redis_app, database_url, bundle_dir, tmp_path):
    client = logged_in(redis_app, redis_app.test_client(), "hr")
    job_id = upload(client, big_export(6_000))
    with worker(database_url, bundle_dir, tmp_path, REDIS_URL, LOT_CHUNK_LINES=500):
        wait_for(redis_app, job_id, lambda job: job.done >= 500, "first chunk committed")
        with redis_app.app_context(), db.engine.connect() as holder:
            # The worker waits on the row while the cancel lands: it sees it at its next chunk, whatever the speed.
            holder.execute(sa.text("SELECT 1 FROM jobs WHERE id = :id FOR UPDATE"), {"id": job_id})
            holder.execute(sa.text("UPDATE jobs SET cancel_requested = true WHERE id = :id"), {"id": job_id})
            holder.commit()
        job = wait_for(redis_app, job_id, lambda job: job.status == "annule", "lot cancelled")
    assert job.done < 6_000 and stored_lines(redis_app, job_id) == (0, 0)
    assert client.get(f"/lots/{job_id}/resultat.csv").status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_embedded_transport_runs_a_lot_on_sqlite(app, database_url, bundle_dir, tmp_path):
    """The default installation: SQLite for the data and kombu's SQLAlchemy transport on an SQLite file."""
    broker = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    embedded = make_app(database_url, bundle_dir, CELERY_BROKER_URL=broker)
    client = logged_in(embedded, embedded.test_client(), "hr")
    job_id = upload(client, raw_csv())
    with worker(database_url, bundle_dir, tmp_path, broker):
        job = wait_for(embedded, job_id, lambda job: job.status == "termine", "lot finished")
    assert job.done == len(IDS) and stored_lines(embedded, job_id) == (len(IDS), len(IDS))
    assert len(client.get(f"/lots/{job_id}/resultat.csv").get_data().splitlines()) == len(IDS) + 1
    with embedded.app_context():
        for engine in db.engines.values():
            engine.dispose()
