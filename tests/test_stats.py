"""The daily stats give the dashboard and the drift page exactly the figures of the raw rows, before and after a
refresh, a purge in small batches and an admin delete."""

import time
from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from futurisys.admin.dashboard import dashboard_figures
from futurisys.admin.insights import CATEGORICAL, DRIFT_SOURCES, recent_counts, reference_frame
from futurisys.domain.schema import FEATURE_NAMES
from futurisys.extensions import db, model_store
from futurisys.ml import drift
from futurisys.ml.features import derive_features
from futurisys.storage import retention, stats
from futurisys.storage.models import Input, Prediction, utcnow
from futurisys.storage.predictions import predict_and_store_many
from tests.support import logged_in

SOURCES = ("api", "form", "batch", "whatif")


@pytest.fixture
def spread(app, reference_features):
    """80 predictions over the last 10 days and hours (several per day, source and label), then 5 fresh ones."""
    records = reference_features[0][:85]
    with app.test_request_context():
        for n, source in enumerate(SOURCES):
            chunk = records[n * 20 : (n + 1) * 20]
            predict_and_store_many(
                model_store.predictor,
                [(r, None) for r in chunk],
                source=source,
                request_id="s",
                started=time.perf_counter(),
            )
        now = utcnow()
        ids = db.session.scalars(sa.select(Input.id).order_by(Input.id)).all()
        for k, input_id in enumerate(ids):
            when = now - timedelta(days=k % 10, hours=(7 * k) % 24)
            db.session.execute(sa.update(Input).where(Input.id == input_id).values(created_at=when))
            db.session.execute(sa.update(Prediction).where(Prediction.input_id == input_id).values(created_at=when))
        db.session.commit()
        predict_and_store_many(
            model_store.predictor,
            [(r, None) for r in records[80:]],
            source="api",
            request_id="t",
            started=time.perf_counter(),
        )
    return app


def figures(since):
    """Dashboard figures with the means rounded (sums of floats in another order differ in the last bits)."""
    found = dashboard_figures(since)
    for key in ("by_source", "by_version"):
        found[key] = [(k, n, part, round(mean, 9)) for k, n, part, mean in found[key]]
    return found


def psi_table(report):
    return {item.name: (round(item.psi, 9), tuple((b.key, round(b.recent, 9)) for b in item.bins)) for item in report}


def raw_figures(since):
    """The same figures from the raw rows only (the stats' marks removed inside a rolled-back transaction)."""
    db.session.execute(stats.MARKS.delete())
    try:
        return figures(since), recent_counts(since)
    finally:
        db.session.rollback()


def test_stats_equal_the_raw_rows_through_refresh_purge_and_delete(spread, client):
    app = spread
    with app.app_context():
        windows = [None, utcnow() - timedelta(days=3, hours=5)]  # all, and a window that starts mid-day
        expected = {i: raw_figures(since) for i, since in enumerate(windows)}
        assert sum(n for _, n, _, _ in expected[0][0]["by_source"]) == 85
        last = stats.refresh(db.engine, 60)
        # The last whole day before the settling delay (the day before yesterday just after midnight).
        settled_day = stats.calendar_day(db.session.connection(), utcnow() - stats.SETTLE)
        assert last == settled_day - timedelta(days=1)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(stats.DAILY)) > 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(stats.FEATURE_DAILY)) > 0
        # The « all » window reads the whole days summed (the totals), not a row per day and bin.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(stats.TOTALS)) > 0
        assert stats.counted_through(db.session.connection(), stats.TOTALS_MARK) == last
        for i, since in enumerate(windows):
            assert (figures(since), recent_counts(since)) == expected[i]
        # The counts give the PSI pandas computes from the raw feature rows.
        reference = reference_frame()
        rows = db.session.execute(
            sa.select(*(Input.__table__.c[name] for name in FEATURE_NAMES)).where(Input.source.in_(DRIFT_SOURCES))
        ).all()
        raw = drift.drift_report(reference, pd.DataFrame(rows, columns=list(FEATURE_NAMES)), CATEGORICAL)
        counted, n = recent_counts(None)
        assert n == 65 and psi_table(drift.drift_report_from_counts(reference, counted, CATEGORICAL)) == psi_table(raw)

        # A purge in batches of 7 and an admin delete keep the counted days equal to what remains.
        result = retention.purge_older_than(db.engine, utcnow() - timedelta(days=6, hours=12), 60, batch_size=7)
        assert result.inputs == result.predictions > 7
        db.session.remove()
    admin = logged_in(app, client)
    with app.app_context():
        doomed = db.session.scalar(
            sa.select(Prediction.id).where(Prediction.created_at < utcnow() - timedelta(days=2)).limit(1)
        )
        db.session.remove()
    assert admin.post(f"/admin/predictions/{doomed}/suppression", data={"confirm": "y"}).status_code == 302
    with app.app_context():
        for since in windows:
            assert (figures(since), recent_counts(since)) == raw_figures(since)
        assert sum(n for _, n, _, _ in figures(None)["by_source"]) == 85 - result.predictions - 1


def test_a_purge_that_passes_over_held_rows_keeps_them_counted(spread):
    app = spread
    with app.app_context():
        old = db.session.scalars(
            sa.select(Input.id).where(Input.created_at < utcnow() - timedelta(days=7)).order_by(Input.id).limit(3)
        ).all()
        db.session.execute(sa.update(Input).where(Input.id.in_(old)).values(employee_ref="MAT-HOLD"))
        db.session.commit()
        stats.refresh(db.engine, 60)
        result = retention.purge_older_than(
            db.engine,
            utcnow() - timedelta(days=5),
            60,
            batch_size=7,
            held_among=lambda references: [r for r in references if r == "MAT-HOLD"],
        )
        assert result.inputs > 7
        assert db.session.scalar(sa.select(sa.func.count()).where(Input.id.in_(old))) == 3
        for since in (None, utcnow() - timedelta(days=3, hours=5)):
            assert (figures(since), recent_counts(since)) == raw_figures(since)
        assert sum(n for _, n, _, _ in figures(None)["by_source"]) == 85 - result.predictions  # held ones counted


def test_raw_records_store_only_the_fields_the_feature_columns_do_not_hold(app, db):
    from futurisys.domain.schema import SHARED_NAMES
    from futurisys.storage.models import Input
    from tests.payloads import RAW
    from tests.support import store

    store(app, derive_features(RAW), raw=RAW)
    stored = db.session.execute(sa.select(Input.__table__.c.raw_record)).scalar_one()
    assert set(stored) == set(RAW) - set(SHARED_NAMES) and len(stored) == 6
    assert db.session.scalars(sa.select(Input)).one().raw_record == RAW
    # A row written before (all 27 fields stored) reads the same.
    db.session.execute(sa.update(Input.__table__).values(raw_record=RAW))
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalars(sa.select(Input)).one().raw_record == RAW
