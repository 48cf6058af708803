"""« Modèles »: the known outcomes a training may use are counted in SQL (the same employees and leavers as the
training's own rows), kept, forgotten when a departure changes them, and left to the job engine when the count
would take longer than the page's budget."""

from __future__ import annotations

from datetime import timedelta

import pytest

from futurisys.extensions import db
from futurisys.jobs.tasks import refresh_outcomes
from futurisys.outcomes.record import Actor, NewDeparture, record_departures
from futurisys.registry import datasets
from futurisys.storage.models import utcnow
from tests.outcome_rows import VOLUNTARY, add_departures, add_predictions, clear
from tests.support import logged_in, table_locked
from tests.test_registry import text

KIND = next(iter(VOLUNTARY))
LABEL = "Issues constatées dans le service"


@pytest.fixture
def outcomes(app):
    """Employees with several evaluations each, some left (voluntarily), some too recent, some unreferenced."""
    long_ago, recent = utcnow() - timedelta(days=500), utcnow() - timedelta(days=20)
    rows = []
    for i in range(30):
        rows.append({"created_at": long_ago, "employee_ref": f"K-{i:03d}", "proba": 0.2})
        rows.append({"created_at": long_ago + timedelta(days=40), "employee_ref": f"K-{i:03d}", "proba": 0.3})
        if i % 3 == 0:
            rows.append({"created_at": recent, "employee_ref": f"K-{i:03d}", "proba": 0.4})  # not matured yet
    rows += [{"created_at": long_ago, "employee_ref": None, "proba": 0.5} for _ in range(5)]
    rows += [{"created_at": recent, "employee_ref": f"NEW-{i}", "proba": 0.6} for i in range(4)]
    with app.app_context():
        add_predictions(rows)
        add_departures([(f"K-{i:03d}", (long_ago + timedelta(days=60)).date(), KIND) for i in range(0, 30, 4)])
    yield
    with app.app_context():
        clear()


def test_the_count_in_sql_is_what_the_training_rows_hold(app, outcomes):
    with app.app_context():
        rows = datasets.matured_outcomes()
        with db.engine.connect() as connection:
            counts = datasets.count_known_outcomes(connection)
    assert (counts.employees, counts.leavers) == (len(rows.target), rows.leavers)
    assert counts.employees == 30 and 0 < counts.leavers < 30


def test_the_page_keeps_its_count_and_recounts_after_a_departure(app, client, outcomes):
    logged_in(app, client, "admin")
    with app.app_context():
        expected = datasets.matured_outcomes()
    page = text(client.get("/admin/modeles/"))
    counted = (
        f"{LABEL} : {len(expected.target)} lignes dont {expected.leavers} départs <span class='muted'>(comptées le"
    )
    assert counted.replace("'", '"') in page
    with app.app_context():
        assert datasets.stored_known_counts().employees == len(expected.target)
        when = (utcnow() - timedelta(days=400)).date()
        record_departures([NewDeparture("K-001", when, KIND)], "form", Actor(username="test"))
        assert datasets.stored_known_counts() is None  # forgotten with the summaries
        after = datasets.matured_outcomes()
    assert after.leavers == expected.leavers + 1
    page = text(client.get("/admin/modeles/"))
    assert f"{LABEL} : {len(after.target)} lignes dont {after.leavers} départs" in page


def test_a_count_over_the_pages_budget_is_left_to_the_job_engine(app, client, outcomes, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the page's budget is PostgreSQL's statement limit")
    app.config["OUTCOMES_PAGE_BUDGET"] = 0.2
    logged_in(app, client, "admin")
    # Another session holds the predictions: the page's count waits on the lock until its budget is spent.
    with table_locked(app.config["SQLALCHEMY_DATABASE_URI"], "predictions"):
        answer = client.get("/admin/modeles/")
    assert answer.status_code == 200
    assert f"{LABEL} : pas encore comptées" in text(answer)
    with app.app_context():
        assert datasets.stored_known_counts() is None
        refresh_outcomes()  # what the job engine runs (hourly, and when a page asks)
        expected = datasets.matured_outcomes()
    # The page no longer tries itself for a while, but shows what the job engine counted.
    page = text(client.get("/admin/modeles/"))
    assert f"{LABEL} : {len(expected.target)} lignes dont {expected.leavers} départs" in page
