"""The batch page in a real Chromium: upload a CSV, see who is at risk, download the scored file; errors by line."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from futurisys.extensions import db
from futurisys.storage.models import Input
from tests.payloads import IDS, raw_csv

pytestmark = pytest.mark.browser


def test_upload_then_download_the_scored_file(hr_page, live_server, live_app, artifacts_dir, tmp_path):
    page = hr_page
    source = tmp_path / "équipe.csv"
    source.write_bytes(raw_csv())
    page.goto(live_server + "/lot")
    expect(page.get_by_role("link", name="Traitement par lot")).to_have_attribute("aria-current", "page")
    page.get_by_label("Fichier CSV").set_input_files(source)
    page.get_by_role("button", name="Évaluer le fichier").click()
    expect(page.get_by_role("heading", name="Fichier évalué")).to_be_visible()
    expect(page.get_by_role("heading", name="Salariés à risque")).to_be_visible()
    expect(page.locator(".batch-summary dd").first).to_have_text(str(len(IDS)))
    expect(page.locator("#resultat")).to_be_focused()
    expect(page.locator("#progression")).to_be_hidden()
    page.screenshot(path=artifacts_dir / "batch.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le fichier évalué").click()
    assert download.value.suggested_filename == "equipe_predictions.csv"
    scored = download.value.path().read_bytes().decode("utf-8-sig").splitlines()
    assert scored[0].endswith(";risque_depart_pourcent;niveau_de_risque;facteur_principal")
    assert len(scored) == len(IDS) + 1 and scored[1].startswith("É-001;")
    with live_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Input).where(Input.source == "lot")) == 5


def test_errors_are_shown_by_line_on_the_page(hr_page, live_server, artifacts_dir, tmp_path):
    page = hr_page
    source = tmp_path / "lot.csv"
    source.write_bytes(raw_csv().replace(b";41;", b";quarante;", 1))
    page.goto(live_server + "/lot")
    page.get_by_label("Fichier CSV").set_input_files(source)
    page.get_by_role("button", name="Évaluer le fichier").click()
    errors = page.get_by_role("table")
    expect(errors.get_by_role("cell").first).to_have_text("2")
    expect(errors).to_contain_text("« quarante »")
    expect(errors).to_contain_text("age")
    expect(errors).to_contain_text("Doit être un nombre entier.")
    expect(page).to_have_title("Erreurs — Traitement par lot · Futurisys")
    page.screenshot(path=artifacts_dir / "batch-errors.png", full_page=True)
    # The form is back, ready for the corrected file.
    expect(page.get_by_role("button", name="Évaluer le fichier")).to_be_enabled()
