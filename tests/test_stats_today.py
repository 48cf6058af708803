"""The daily stats also hold today up to a few minutes ago: the dashboard and drift pages read raw only what came
since the last refresh, and still give the raw rows' figures through an admin delete, an erasure and a purge."""

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from futurisys.admin.insights import recent_counts
from futurisys.compliance import rights
from futurisys.extensions import db, model_store
from futurisys.storage import retention, stats
from futurisys.storage.models import Input, Prediction
from futurisys.storage.predictions import predict_and_store_many
from tests.support import logged_in
from tests.test_stats import figures, raw_figures

REF = "MAT-TODAY-1"


@pytest.fixture
def clock(app, monkeypatch):
    """Noon of the current day in the stats' calendar, as the stats' clock: today's morning is well settled."""
    with app.app_context():
        connection = db.session.connection()
        noon = stats.day_start(connection, stats.today(connection)) + timedelta(hours=12)
        db.session.remove()
    monkeypatch.setattr(stats, "utcnow", lambda: noon)
    return noon


@pytest.fixture
def today_rows(app, clock, reference_features):
    """30 predictions: 10 of yesterday, 10 of this morning (3 of them about employee REF), 10 of a minute ago."""
    records = reference_features[0][:30]
    with app.test_request_context():
        predict_and_store_many(
            model_store.predictor,
            [(r, None) for r in records],
            source="api",
            request_id="d",
            started=time.perf_counter(),
        )
        ids = db.session.scalars(sa.select(Input.id).order_by(Input.id)).all()
        ages = [timedelta(days=1, hours=k) for k in range(10)]
        ages += [timedelta(hours=k + 1) for k in range(10)] + [timedelta(seconds=30 + k) for k in range(10)]
        for k, (input_id, age) in enumerate(zip(ids, ages, strict=True)):
            values = {"created_at": clock - age}
            db.session.execute(
                sa.update(Input)
                .where(Input.id == input_id)
                .values(**values, employee_ref=REF if k in (10, 11, 12) else None)
            )
            db.session.execute(sa.update(Prediction).where(Prediction.input_id == input_id).values(**values))
        db.session.commit()
    return ids


def today_counted(app) -> int:
    """How many of today's predictions the daily stats hold."""
    with app.app_context():
        connection = db.session.connection()
        day = stats.today(connection)
        found = db.session.scalar(sa.select(sa.func.sum(stats.DAILY.c.n)).where(stats.DAILY.c.day == day))
        db.session.remove()
    return int(found or 0)


def same_as_raw(app, since) -> None:
    with app.app_context():
        assert (figures(since), recent_counts(since)) == raw_figures(since)
        db.session.remove()


def test_today_is_counted_up_to_the_settling_delay_and_pages_match_the_raw_rows(app, client, clock, today_rows):
    with app.app_context():
        connection = db.session.connection()
        morning = stats.day_start(connection, stats.today(connection))
        db.session.remove()
        last = stats.refresh(db.engine, 60)
        reach = stats.counted(db.session.connection())
        db.session.remove()
    assert last == reach.last_day - timedelta(days=1)
    assert reach.raw_from == clock - stats.SETTLE  # the pages read raw only the last minutes
    assert today_counted(app) == 10  # this morning's rows, not those of a minute ago
    for since in (None, morning, clock - timedelta(hours=5)):
        same_as_raw(app, since)

    # An admin delete of a row counted this morning, then the erasure of an employee with rows this morning.
    admin = logged_in(app, client)
    with app.app_context():
        doomed = db.session.scalar(sa.select(Prediction.id).where(Prediction.input_id == today_rows[15]))
        db.session.remove()
    assert admin.post(f"/admin/predictions/{doomed}/suppression", data={"confirm": "y"}).status_code == 302
    assert today_counted(app) == 9
    with app.test_request_context():
        assert rights.erase(REF)["inputs"] == 3
        db.session.remove()
    assert today_counted(app) == 6
    for since in (None, morning):
        same_as_raw(app, since)

    # A purge whose cut-off falls inside today's counted part recounts that part from what remains.
    with app.app_context():
        result = retention.purge_older_than(db.engine, clock - timedelta(hours=5, minutes=30), 60, batch_size=4)
    assert result.predictions == 10 + 4  # yesterday's, and this morning's four older than the cut-off
    assert today_counted(app) == 2
    for since in (None, morning):
        same_as_raw(app, since)


def test_a_refresh_the_next_day_counts_the_whole_day_over_the_part_counted(app, clock, today_rows, monkeypatch):
    with app.app_context():
        stats.refresh(db.engine, 60)
        day = stats.today(db.session.connection())
        db.session.remove()
    assert today_counted(app) == 10
    monkeypatch.setattr(stats, "utcnow", lambda: clock + timedelta(days=1))
    with app.app_context():
        last = stats.refresh(db.engine, 60)
        whole = db.session.scalar(sa.select(sa.func.sum(stats.DAILY.c.n)).where(stats.DAILY.c.day == day))
        reach = stats.counted(db.session.connection())
        db.session.remove()
    assert last == day
    assert whole == 20  # this morning's rows and those of a minute ago: the whole day, over the part counted before
    assert reach.last_day == day + timedelta(days=1) and reach.raw_from == clock + timedelta(days=1) - stats.SETTLE
    same_as_raw(app, None)
