"""An admin created with the CLI logs in with Chromium, filters the history, opens a detail and downloads the CSV."""

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.payloads import FEATURES, RAW
from tests.support import PASSWORD, shot, store

pytestmark = pytest.mark.browser


def test_admin_journey(page, live_app, live_server, artifacts_dir, reference_features):
    created = live_app.test_cli_runner().invoke(
        args=["users", "create", "claire", "--role", "admin", "--password", PASSWORD]
    )
    assert created.exit_code == 0, created.output
    for payload in (RAW, FEATURES, reference_features[0][5]):
        assert page.request.post(f"{live_server}/predict", data=payload).ok
    store(live_app, FEATURES, source="form")

    page.goto(f"{live_server}/admin/")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    expect(page.get_by_text("Connectez-vous pour accéder à cette page.")).to_be_visible()
    page.get_by_label("Identifiant").fill("claire")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Historique des prédictions")).to_be_visible()
    expect(page.locator("table.data tbody tr")).to_have_count(4)

    page.get_by_label("Origine").select_option("api")
    page.get_by_label("Tri").select_option("proba_desc")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_role("status")).to_contain_text("3 prédictions correspondent")
    page.get_by_label("Prédiction", exact=True).select_option("Part")
    page.get_by_role("button", name="Filtrer").click()
    parts = page.locator("table.data tbody tr")
    expect(page.locator(".summary")).to_contain_text("« Part »")
    n_parts = parts.count()
    assert n_parts >= 1  # employee 1, who left, is predicted "Part"
    shot(page, str(artifacts_dir / "admin-history.png"))

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Exporter en CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("futurisys-predictions-")
    content = download.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content), delimiter=";"))
    assert len(rows) == n_parts and all(r["prediction_label"] == "Part" and r["source"] == "api" for r in rows)

    page.get_by_label("Prédiction", exact=True).select_option("")
    page.get_by_role("button", name="Filtrer").click()
    page.locator("table.data tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Principaux facteurs")).to_be_visible()
    expect(page.get_by_role("heading", name="Variables du modèle")).to_be_visible()
    shot(page, str(artifacts_dir / "admin-detail.png"))

    page.get_by_role("link", name="Modèle", exact=True).click()
    expect(page.get_by_role("heading", name="Importance globale des variables")).to_be_visible()
    shot(page, str(artifacts_dir / "admin-model.png"))
    page.get_by_role("link", name="Dérive des données").click()
    expect(page.get_by_role("alert")).to_contain_text("Trop peu d'entrées récentes")

    page.get_by_role("link", name="Tableau de bord").click()
    expect(page.locator("figure.chart svg")).to_have_count(3)  # one model version: a sentence, not a one-bar chart
    shot(page, str(artifacts_dir / "admin-dashboard.png"))
    page.get_by_role("button", name="Se déconnecter (claire)").click()
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
