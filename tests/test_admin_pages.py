"""Dashboard, drift and model card pages with real figures."""

import re
from datetime import timedelta

import pytest

from futurisys.admin.insights import IMPORTANCE_KEY
from futurisys.storage.models import utcnow
from tests.payloads import FEATURES
from tests.support import logged_in, restamp, store


@pytest.fixture
def admin(app, client):
    return logged_in(app, client)


def test_dashboard_aggregates_and_draws_svg_without_fetching_anything(app, admin, reference_features):
    for record in reference_features[0][:8]:
        store(app, record, source="form")
    old = store(app, FEATURES, source="api")
    restamp(app, old, created_at=utcnow() - timedelta(days=60), model_version="fx-ancien")
    page = admin.get("/admin/dashboard").get_data(as_text=True)
    assert re.search(r'<span class="kpi-value">8</span> prédictions', page)  # default window: 30 days
    # One model version in the window: a sentence instead of a one-bar chart; every chart named by its caption.
    assert page.count("<svg") == 3 and "Formulaire RH" in page and "fx-ancien" not in page
    assert "Une seule version du modèle" in page and "<title>Pygal</title>" not in page
    assert "<title>Répartition des probabilités de départ</title>" in page
    assert not re.search(r'(src|href)="https?://', page)
    everything = admin.get("/admin/dashboard?window=all").get_data(as_text=True)
    assert re.search(r'<span class="kpi-value">9</span> prédictions', everything) and "fx-ancien" in everything
    assert everything.count("<svg") == 4  # two versions: their chart is drawn
    assert '<th scope="row">API</th><td>1</td>' in everything
    for page in ("dashboard", "drift"):
        unknown = admin.get(f"/admin/{page}?window=1an")
        assert unknown.status_code == 400 and "Fenêtre inconnue" in unknown.get_data(as_text=True)


def test_a_span_longer_than_three_months_is_drawn_week_by_week(app, admin, reference_features):
    from futurisys.admin.dashboard import DAILY_BARS_UP_TO, dashboard_figures
    from futurisys.extensions import db

    now = utcnow()
    for k, record in enumerate(reference_features[0][:6]):
        restamp(app, store(app, record, source="form"), created_at=now - timedelta(days=[0, 0, 1, 50, 120, 121][k]))
    with app.test_request_context():
        period, labels, series, rows = dashboard_figures(None)["per_period"]
        db.session.remove()
    assert period == "semaine" and all(row[0].startswith("semaine du ") for row in rows)
    # Each bar is a week from Monday: about a fifth of the 122 daily bars, and the counts all kept.
    assert 122 // 7 <= len(labels) <= 122 // 7 + 2 < DAILY_BARS_UP_TO
    assert sum(series["Part"]) + sum(series["Reste"]) == 6 and max(map(sum, zip(*series.values(), strict=True))) >= 2
    page = admin.get("/admin/dashboard?window=all").get_data(as_text=True)
    assert "Prédictions par semaine" in page and "Prédictions par jour" not in page
    assert "Prédictions par jour" in admin.get("/admin/dashboard").get_data(as_text=True)  # 30 days: day by day


def test_dashboard_without_predictions(admin):
    assert "Aucune prédiction sur cette période." in admin.get("/admin/dashboard").get_data(as_text=True)


def test_drift_says_when_there_are_too_few_inputs(app, admin):
    assert "Aucune entrée sur cette période" in admin.get("/admin/drift").get_data(as_text=True)
    store(app, FEATURES)
    page = admin.get("/admin/drift?window=7d").get_data(as_text=True)
    assert "Trop peu d'entrées récentes (1, moins de 100)" in page and "Dérive forte</strong>" not in page
    assert page.count("<tr>") > 30  # the 30 features are still listed, as indicative figures


def test_drift_flags_shifted_features(app, admin, reference_features):
    young = [{**r, "heure_supplementaires": True} for r in reference_features[0][:120]]
    for record in young:
        store(app, record, source="batch")
    store(app, FEATURES, source="whatif")  # what-ifs are left out of the comparison
    page = admin.get("/admin/drift?window=30d").get_data(as_text=True)
    assert "120 entrées récentes comparées" in page
    row = re.search(r'<tr class="drift-fort">\s*<th scope="row">Heures supplémentaires', page)
    assert row, "overtime for everybody must be flagged as a strong drift"
    assert '<th scope="row">Oui</th>' in page and "Femme" in page  # category shares with French labels


def test_model_card_shows_the_bundle_and_caches_importance(app, admin):
    page = admin.get("/admin/model").get_data(as_text=True)
    with app.app_context():
        from futurisys.extensions import model_store

        meta = model_store.predictor.metadata
    for text in (
        meta["version"],
        meta["training_data_md5"],
        meta["threshold_rule"],
        "ROC AUC (moyenne)",
        "xgboost",
        "Importance globale",
        "Heures supplémentaires",
    ):
        assert text in page, text
    cached = app.extensions[IMPORTANCE_KEY][meta["version"]]
    # The protected attributes the model ignores weigh exactly nothing; every other feature counts.
    assert len(cached) == 30 and cached[0][1] >= cached[26][1] > 0
    assert {name for name, value in cached[27:]} == {"genre", "statut_marital", "age"}
    app.extensions[IMPORTANCE_KEY][meta["version"]] = [("revenu_mensuel", 9.87654)]  # a second request reuses it
    assert "9,8765" in admin.get("/admin/model").get_data(as_text=True)
