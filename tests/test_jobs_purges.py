"""Purges on the job engine: asked in the administration, run by the engine's task in batches with progress, legal
holds kept, journaled, cancellable, resumable; the engine's periodic stats and retention tasks; a real worker."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

import futurisys.jobs.tasks  # noqa: F401 — registers the tasks on every Celery app
from futurisys.compliance import journal
from futurisys.compliance.models import EmployeeFlag, JournalEntry
from futurisys.domain.formatting import NNBSP
from futurisys.extensions import db
from futurisys.jobs.engine import APPLY_RETENTION, RECOVER, REFRESH_STATS, RUN_PURGE
from futurisys.jobs.models import Job
from futurisys.storage import retention, stats
from futurisys.storage.models import Input, Prediction, utcnow
from tests.support import JOBS_REDIS_URL, logged_in, make_app, worker
from tests.test_compliance_oversight import _insert_inputs
from tests.test_jobs_tasks import task, update
from tests.test_jobs_worker import wait_for

AGES = [1, 5, 40, 100, 400]  # days: a 30-day purge takes the last three


def text(response) -> str:
    return response.get_data(as_text=True).replace(NNBSP, " ")


def ask(client, days="30", confirm="y"):
    return client.post("/admin/purges", data={"days": days, "confirm": confirm})


def job_id_of(response) -> str:
    assert response.status_code == 303, text(response)[:2000]
    return re.fullmatch(r"/admin/purges/([\w-]+)", response.headers["Location"]).group(1)


def left(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Input)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Prediction)),
        )


def test_a_purge_asked_by_an_admin_runs_on_the_engine_keeps_holds_and_is_journaled(app, client):
    logged_in(app, client, "admin")
    ids, _ = _insert_inputs(app, AGES, lambda i: "MAT-HOLD" if i == 4 else f"MAT-{i}")
    with app.app_context():
        db.session.add(
            EmployeeFlag(
                employee_key=journal.pseudonym("MAT-HOLD"), legal_hold=True, objection=False, updated_at=utcnow()
            )
        )
        db.session.commit()
    job_id = job_id_of(ask(client))
    assert left(app) == (5, 5)  # nothing deleted inside the request
    waiting = client.get(f"/admin/purges/{job_id}")
    assert waiting.status_code == 200 and "En attente" in text(waiting) and 'id="barre-lot"' in text(waiting)
    assert task(app, RUN_PURGE, job_id) == "termine"
    assert left(app) == (3, 3)  # the 40- and 100-day-old ones; the held 400-day-old one stays
    with app.app_context():
        assert set(db.session.scalars(sa.select(Input.id))) == {ids[0], ids[1], ids[4]}
        entry = db.session.scalars(sa.select(JournalEntry).where(JournalEntry.action == "purge")).one()
        assert entry.username == "admin" and '"evaluations": 2' in entry.detail and '"predictions": 2' in entry.detail
    state = client.get(f"/admin/purges/{job_id}/etat.json").get_json()
    assert state["termine"] and state["lignes_evaluees"] == 2 and state["a_evaluer"] == 2 and state["pourcent"] == 100
    page = text(client.get(f"/admin/purges/{job_id}"))
    assert "Purge terminée" in page and "gel juridique" in page
    assert job_id in text(client.get("/admin/purges"))
    assert task(app, RUN_PURGE, job_id) is None  # finished: a second delivery does nothing


@pytest.mark.parametrize(
    ("days", "confirm", "message"),
    [("30", "", "Cochez la case pour confirmer la purge."), ("0", "y", "Entre 1 et 36 500 jours."), ("x", "y", "")],
)
def test_a_purge_form_with_errors_shows_them_and_sends_nothing(app, client, days, confirm, message):
    logged_in(app, client, "admin")
    response = ask(client, days, confirm)
    assert response.status_code == 422 and 'aria-invalid="true"' in text(response) and message in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_purges_are_for_admins_only(app, client):
    logged_in(app, client, "hr")
    assert ask(client).status_code == 403
    assert client.get("/admin/purges").status_code == 403
    assert client.get("/admin/purges/inconnue").status_code == 403


def test_an_unknown_purge_or_a_lot_is_not_a_purge(app, client):
    logged_in(app, client, "admin")
    assert client.get("/admin/purges/inconnue").status_code == 404
    assert client.get("/admin/purges/inconnue/etat.json").status_code == 404


def test_cancelling_a_waiting_purge_stops_it_before_it_deletes_anything(app, client):
    logged_in(app, client, "admin")
    _insert_inputs(app, AGES, lambda i: f"MAT-{i}")
    job_id = job_id_of(ask(client))
    assert client.post(f"/admin/purges/{job_id}/annuler").status_code == 303
    assert task(app, RUN_PURGE, job_id) is None
    assert left(app) == (5, 5)
    assert "Purge arrêtée" in text(client.get(f"/admin/purges/{job_id}"))


def test_a_purge_cancelled_while_running_stops_at_its_next_progress_write(app, client):
    logged_in(app, client, "admin")
    _insert_inputs(app, AGES, lambda i: f"MAT-{i}")
    job_id = job_id_of(ask(client))
    update(app, job_id, status="en_cours", cancel_requested=True)  # a run held it; the lease was revoked since
    assert task(app, RUN_PURGE, job_id) == "annule"
    assert left(app) == (5, 5)


def test_a_purge_cut_off_resumes_and_counts_what_the_earlier_run_deleted(app, client):
    logged_in(app, client, "admin")
    _insert_inputs(app, AGES, lambda i: f"MAT-{i}")
    job_id = job_id_of(ask(client))
    # An earlier run counted 5, deleted 2 of them and died: its heartbeat went stale and recovery sent it again.
    update(
        app,
        job_id,
        status="en_cours",
        total=5,
        done=2,
        phase="suppression",
        lease="a-dead-worker",
        heartbeat_at=utcnow() - timedelta(minutes=5),
        detail={"date_limite": (utcnow() - timedelta(days=30)).isoformat(), "predictions": 2},
    )
    assert task(app, RECOVER) == [job_id]
    assert task(app, RUN_PURGE, job_id) == "termine"
    assert left(app) == (2, 2)
    state = client.get(f"/admin/purges/{job_id}/etat.json").get_json()
    assert state["lignes_evaluees"] == 5
    with app.app_context():
        assert db.session.get(Job, job_id).detail["predictions"] == 5


def test_a_purge_failing_every_time_is_given_up_with_a_message(app, client):
    logged_in(app, client, "admin")
    job_id = job_id_of(ask(client))
    update(app, job_id, attempts=app.config["JOB_MAX_ATTEMPTS"])
    assert task(app, RUN_PURGE, job_id) == "echoue"
    assert "a échoué à plusieurs reprises" in text(client.get(f"/admin/purges/{job_id}"))


def test_the_purge_rests_between_batches_in_proportion_to_their_time(app, monkeypatch):
    """pause_ratio: after each batch, a rest of ratio × the batch's time (so /predict keeps its share)."""
    _insert_inputs(app, [100] * 5, lambda i: f"MAT-{i}")
    rests = []
    monkeypatch.setattr(retention.time, "sleep", rests.append)
    with app.app_context():
        result = retention.purge_older_than(db.engine, utcnow() - timedelta(days=30), 60, batch_size=2, pause_ratio=3)
    assert result == retention.PurgeResult(5, 5)
    assert len(rests) == 3 and all(rest > 0 for rest in rests)  # batches of 2, 2 and 1


def test_the_periodic_tasks_apply_retention_and_count_the_daily_stats(app):
    _insert_inputs(app, [3, 800], lambda i: f"MAT-{i}")
    report = task(app, APPLY_RETENTION)
    assert report["classes"][0]["lignes_supprimees"] == {"inputs": 1, "predictions": 1}  # 800 days > 24 months
    assert left(app) == (1, 1)
    with app.app_context():
        assert db.session.scalars(sa.select(JournalEntry).where(JournalEntry.action == "retention")).all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM stats_refreshes"))
    counted = task(app, REFRESH_STATS)  # from the first stored day, three days ago
    with app.app_context():
        # Complete through yesterday at the latest (today is still open), in the stats' calendar: Paris days on
        # PostgreSQL, so from 23:00 UTC (22:00 in summer) their today is already the next UTC day's.
        assert counted < stats.today(db.session.connection()).isoformat()
        assert db.session.scalar(sa.text("SELECT count(*) FROM stats_refreshes")) >= 1


def test_the_beat_schedules_the_stats_and_the_retention(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["refresh-daily-stats"]["task"] == REFRESH_STATS
    assert schedule["apply-retention"]["task"] == APPLY_RETENTION
    assert schedule["apply-retention"]["schedule"] == timedelta(seconds=app.config["RETENTION_APPLY_EVERY"])


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_real_worker_runs_a_purge_from_the_admin_page(database_url, bundle_dir, tmp_path, app):
    import redis

    broker = redis.Redis.from_url(JOBS_REDIS_URL)
    broker.flushdb()
    redis_app = make_app(database_url, bundle_dir, CELERY_BROKER_URL=JOBS_REDIS_URL)
    try:
        client = logged_in(redis_app, redis_app.test_client(), "admin")
        _insert_inputs(redis_app, AGES, lambda i: f"MAT-{i}")
        job_id = job_id_of(ask(client))
        with worker(database_url, bundle_dir, tmp_path, JOBS_REDIS_URL):
            wait_for(redis_app, job_id, lambda job: job.finished, "purge finished")
        assert client.get(f"/admin/purges/{job_id}/etat.json").get_json()["statut"] == "termine"
        assert left(redis_app) == (2, 2)
    finally:
        broker.flushdb()
        broker.close()
        with redis_app.app_context():
            for engine in db.engines.values():
                engine.dispose()
