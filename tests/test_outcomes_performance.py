"""« Performance réelle »: the realised figures against scikit-learn on the same rows, cohorts, the page itself."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sklearn.metrics import brier_score_loss, precision_score, recall_score, roc_auc_score

from futurisys.domain.formatting import NNBSP  # pages are typeset: compared here with plain spaces
from futurisys.extensions import model_store
from futurisys.outcomes import clock, metrics, report
from tests.outcome_rows import NOW, VOLUNTARY, history
from tests.support import logged_in, table_locked


def test_realised_figures_agree_with_scikit_learn_on_the_same_rows():
    rng = np.random.default_rng(7)
    proba = rng.beta(2, 5, 400)
    target = (rng.random(400) < proba).astype(int)
    flagged = proba >= 0.4
    found = metrics.realised(target, proba, flagged)
    assert found["recall"].value == pytest.approx(recall_score(target, flagged))
    assert found["precision"].value == pytest.approx(precision_score(target, flagged))
    assert found["roc_auc"].value == pytest.approx(roc_auc_score(target, proba))
    assert found["brier"].value == pytest.approx(brier_score_loss(target, proba))
    top = np.argsort(-proba)[:40]
    assert found["top_precision"].value == pytest.approx(target[top].mean()) and found["top_precision"].n == 40
    counts = np.histogram(proba, bins=10, range=(0, 1))[0]
    index = np.minimum((proba * 10).astype(int), 9)
    ece = sum(
        counts[b] / 400 * abs(proba[index == b].mean() - target[index == b].mean()) for b in range(10) if counts[b]
    )
    assert found["calibration_error"].value == pytest.approx(ece)
    for estimate in found.values():
        assert estimate.low <= estimate.value <= estimate.high
    # Wilson's interval for 8 of 10 (Agresti & Coull's worked values).
    assert metrics.wilson(8, 10).low == pytest.approx(0.4902, abs=1e-4)
    assert metrics.wilson(8, 10).high == pytest.approx(0.9433, abs=1e-4)
    assert metrics.roc_auc(np.array([1, 1]), np.array([0.2, 0.3])).value is None


def test_cohorts_mature_month_by_month_and_match_the_metrics_on_their_rows(db):
    history()
    built = report.build(db.session, "v1", 12, NOW, VOLUNTARY)
    assert [c.mature for c in built.cohorts] == [True] * 7 + [False] * 13  # Nov. 2024 to May 2025 matured
    first = built.cohorts[0]
    assert first.total == 30  # the second evaluation of M0-0 that month is not counted
    assert first.realised["recall"].n == first.departures and first.counts.get("en_attente", 0) == 0
    assert all(c.realised is None and c.expected["recall"] is not None for c in built.cohorts[7:])
    assert sum(built.maturity.values()) == 600 and built.maturity["sans_reference"] == 0
    assert built.overall["brier"].n == sum(
        c.counts.get("parti", 0) + c.counts.get("reste", 0) for c in built.cohorts[:7]
    )
    assert report.build(db.session, "v1", 3, NOW, VOLUNTARY).mature_cohorts[-1].month.isoformat() == "2026-02-01"


def test_the_page_shows_cohorts_greyed_when_too_small(app, client, db, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    history(months=16, per_month=6)
    logged_in(app, client, "admin")
    page = client.get("/admin/performance", query_string={"version": "v1", "horizon": "12"})
    text = page.get_data(as_text=True).replace(NNBSP, " ")
    assert page.status_code == 200
    assert "effectif insuffisant" in text and "pas encore mûr" in text and "attendu si calibré" in text
    assert "Diagramme de fiabilité" in text
    assert client.get("/admin/performance", query_string={"horizon": "7"}).status_code == 422
    assert client.get("/admin/performance").status_code == 200


def test_model_card_and_dashboard_show_the_realised_figures_beside_the_cross_validated_ones(
    app, client, db, monkeypatch
):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    logged_in(app, client, "admin")
    card = client.get("/admin/model").get_data(as_text=True).replace(NNBSP, " ")
    assert "Performance réelle dans votre entreprise" in card and "encore mûre" in card
    version = model_store.predictor.version
    history(months=10, per_month=20, version=version)
    for path in ("/admin/model", "/admin/dashboard"):
        page = client.get(path).get_data(as_text=True).replace(NNBSP, " ")
        assert "Validation croisée" in page and "prédictions mûres de la version" in page
        assert f"/admin/performance?version={version}" in page
    with db.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM outcome_summaries"))
    app.config["OUTCOMES_PAGE_BUDGET"] = 0  # nothing summarised within the page: left to the job engine
    assert "en cours de calcul" in client.get("/admin/dashboard").get_data(as_text=True).replace(NNBSP, " ")


def test_a_month_longer_to_summarise_than_the_pages_budget_is_left_pending_not_a_503(
    app, client, db, monkeypatch, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("the page's budget is PostgreSQL's statement limit")
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setitem(app.config, "OUTCOMES_PAGE_BUDGET", 0.3)
    history(months=4, per_month=6)
    logged_in(app, client, "admin")
    # Another session holds the departures: each month's count waits on the lock until the page's budget is spent.
    with table_locked(app.config["SQLALCHEMY_DATABASE_URI"], "departures"):
        page = client.get("/admin/performance", query_string={"version": "v1", "horizon": "3"})
    assert page.status_code == 200
    assert "en cours de calcul" in page.get_data(as_text=True)
    assert db.session.scalar(sa.text("SELECT count(*) FROM outcome_summaries")) == 0
    again = client.get("/admin/performance", query_string={"version": "v1", "horizon": "3"})
    assert again.status_code == 200 and "en cours de calcul" not in again.get_data(as_text=True)
