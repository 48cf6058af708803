"""Monthly outcome summaries: their figures equal those computed from the rows, they add up, they are forgotten
when a departure or a deletion changes a month, and the page leaves what its time budget does not cover to the job
engine's task."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

import futurisys.jobs.tasks  # noqa: F401 — registers the tasks
from futurisys.domain.formatting import NNBSP
from futurisys.jobs.engine import REFRESH_OUTCOMES
from futurisys.outcomes import clock, metrics, report
from futurisys.outcomes.horizon import CENSURE, EN_ATTENTE, PARTI, RESTE, SANS_REFERENCE
from futurisys.outcomes.performance import save
from futurisys.outcomes.summaries import Summary
from tests.outcome_rows import NOW, VOLUNTARY, history
from tests.support import logged_in


def random_rows(seed: int, n: int = 3000):
    rng = np.random.default_rng(seed)
    proba = rng.beta(2, 5, n)
    left = rng.random(n) < proba
    statuses = np.where(left, PARTI, RESTE).astype(object)
    statuses[rng.random(n) < 0.05] = CENSURE
    statuses[rng.random(n) < 0.05] = SANS_REFERENCE
    flags = proba >= 0.3
    return statuses, proba, flags


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_summary_gives_the_figures_of_its_rows(seed):
    statuses, proba, flags = random_rows(seed)
    known = (statuses == PARTI) | (statuses == RESTE)
    from_rows = metrics.realised((statuses[known] == PARTI).astype(int), proba[known], flags[known])
    summary = Summary.from_json(Summary.of_rows(statuses, proba, flags).to_json())  # through the table's JSON
    found = summary.realised()
    for key in ("recall", "precision", "brier", "calibration_error"):  # exact
        assert found[key].value == pytest.approx(from_rows[key].value, rel=1e-9), key
        assert found[key].n == from_rows[key].n
        assert found[key].low == pytest.approx(from_rows[key].low, rel=1e-6), key
    assert found["roc_auc"].value == pytest.approx(from_rows["roc_auc"].value, abs=1e-3)  # ties within 1/10,000
    assert found["top_precision"].n == from_rows["top_precision"].n
    assert found["top_precision"].value == pytest.approx(
        from_rows["top_precision"].value, abs=2 / found["top_precision"].n
    )
    assert summary.counts == {str(s): int((statuses == s).sum()) for s in set(statuses)}
    assert summary.departures == int((statuses == PARTI).sum())
    expected = metrics.expected_from_rows(proba[known], flags[known])
    assert metrics.expected(summary.scored, summary.top_mean())["recall"] == pytest.approx(expected["recall"])
    assert summary.top_mean() == pytest.approx(expected["top_precision"], abs=1e-3)


def test_summaries_add_up_to_the_summary_of_all_their_rows():
    parts = [random_rows(seed, 500) for seed in (4, 5, 6)]
    added = sum((Summary.of_rows(*part) for part in parts), Summary())
    whole = Summary.of_rows(*(np.concatenate(column) for column in zip(*parts, strict=True)))
    assert added.counts == whole.counts and (added.histogram == whole.histogram).all()
    assert added.realised()["brier"].value == pytest.approx(whole.realised()["brier"].value)
    assert Summary().realised() is None


def moment(value) -> datetime:
    """A timestamp read by a raw query (SQLite gives text back)."""
    return clock.as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def figures(built) -> dict:
    return {key: estimate.value for key, estimate in built.overall.items()}


def test_the_report_from_stored_summaries_equals_the_one_from_the_rows(db):
    history()
    fresh = report.build(db.session, "v1", 12, NOW, VOLUNTARY, save=save)
    stored = db.session.scalar(sa.text("SELECT count(*) FROM outcome_summaries"))
    assert stored == len(fresh.cohorts)  # every month, the current one for today
    again = report.build(db.session, "v1", 12, NOW, VOLUNTARY, save=save)
    assert figures(again) == figures(fresh) and again.maturity == fresh.maturity
    assert [(c.month, c.counts) for c in again.cohorts] == [(c.month, c.counts) for c in fresh.cohorts]
    # A maturing month's summary is good for its day only.
    tomorrow = report.build(db.session, "v1", 12, NOW + timedelta(days=1), VOLUNTARY)
    assert tomorrow.maturity[EN_ATTENTE] <= fresh.maturity[EN_ATTENTE]


def test_a_departure_recorded_later_changes_the_figures_it_belongs_to(app, client, db, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    history()
    before = report.build(db.session, "v1", 12, NOW, VOLUNTARY, save=save)
    db.session.rollback()
    stayed = db.session.execute(
        sa.text(
            "SELECT i.employee_ref, p.created_at FROM predictions p JOIN inputs i ON i.id = p.input_id "
            "WHERE i.employee_ref IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM departures d WHERE d.employee_ref = i.employee_ref) ORDER BY p.created_at LIMIT 1"
        )
    ).one()
    logged_in(app, client, "admin")
    day = (moment(stayed.created_at) + timedelta(days=40)).date()
    answer = client.post(
        "/outcomes",
        json=[{"reference_salarie": stayed.employee_ref, "date_depart": day.isoformat(), "motif": "demission"}],
    )
    assert answer.get_json() == {"enregistres": 1, "deja_connus": 0}
    db.session.rollback()
    after = report.build(db.session, "v1", 12, NOW, VOLUNTARY, save=save)
    assert after.maturity[PARTI] > before.maturity[PARTI]  # the stored months it falls in were summarised again
    fresh = report.build(db.session, "v1", 12, NOW, VOLUNTARY)
    assert after.maturity == fresh.maturity and figures(after) == figures(fresh)


def test_deleting_predictions_forgets_their_months(app, client, db):
    history()
    report.build(db.session, "v1", 12, NOW, VOLUNTARY, save=save)
    db.session.rollback()
    oldest = db.session.execute(sa.text("SELECT id, created_at FROM predictions ORDER BY created_at LIMIT 1")).one()
    months_before = db.session.scalar(sa.text("SELECT count(*) FROM outcome_summaries"))
    logged_in(app, client, "admin")
    assert client.post(f"/admin/predictions/{oldest.id}/suppression", data={"confirm": "y"}).status_code == 302
    db.session.rollback()
    first_month = clock.month_start(moment(oldest.created_at))
    left = db.session.scalars(sa.text("SELECT month FROM outcome_summaries")).all()
    assert len(left) == months_before - 1 and all(date.fromisoformat(str(m)[:10]) > first_month for m in left)


def test_the_page_leaves_what_its_budget_does_not_cover_to_the_job_engine(app, client, db, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    history()
    app.config["OUTCOMES_PAGE_BUDGET"] = 0
    logged_in(app, client, "admin")
    page = client.get("/admin/performance", query_string={"version": "v1"})
    assert page.status_code == 200 and "en cours de calcul" in page.get_data(as_text=True).replace(NNBSP, " ")
    assert db.session.scalar(sa.text("SELECT count(*) FROM outcome_summaries")) == 0
    assert app.extensions["celery"].tasks[REFRESH_OUTCOMES].apply().get() > 0
    db.session.rollback()
    built = report.build(db.session, "v1", 12, NOW, VOLUNTARY, budget_s=0)
    assert built.pending_months == []
