"""Lots in a real Chromium with a real worker: upload, the lot's page with its progress bar moving, the employees
at risk, the download; a refused file's errors by line."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from futurisys.extensions import db
from futurisys.jobs.models import Job
from futurisys.storage.models import Input
from tests.payloads import raw_csv
from tests.support import shot
from tests.test_jobs_worker import big_export, wait_for

pytestmark = pytest.mark.browser
LINES = 6_000


def test_upload_progress_then_download_the_scored_file(
    hr_page, live_server, live_app, lot_worker, artifacts_dir, tmp_path
):
    page = hr_page
    source = tmp_path / "équipe.csv"
    source.write_bytes(big_export(LINES))
    page.goto(live_server + "/lot")
    expect(page.get_by_role("link", name="Traitement par lot")).to_have_attribute("aria-current", "page")
    page.get_by_label("Fichier CSV").set_input_files(source)
    page.get_by_role("button", name="Évaluer le fichier").click()
    expect(page.get_by_role("heading", name="Lot « équipe.csv »")).to_be_visible()
    job_id = page.url.rsplit("/", 1)[1]
    wait_for(live_app, job_id, lambda job: job.done >= 500, "first chunk scored")
    with live_app.app_context(), db.engine.connect() as holder:
        # The worker waits on the job's row while the page is looked at: the bar is seen between its ends.
        holder.execute(sa.text("SELECT 1 FROM jobs WHERE id = :id FOR UPDATE"), {"id": job_id})
        page.wait_for_function(
            "() => { const v = document.getElementById('barre-lot').value; return v > 0 && v < 100 }"
        )
        expect(page.locator('[data-field="lignes_evaluees"]')).to_contain_text(re.compile(r"sur 6\s000"))
        for width, name in ((1366, "ordinateur"), (390, "telephone")):
            page.set_viewport_size({"width": width, "height": 900})
            shot(page, artifacts_dir / f"lot-en-cours-{name}.png")
        holder.rollback()
    # Once done, the page reloads itself with the outcome.
    expect(page.get_by_role("heading", name="Salariés à risque")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("heading", name="État : Terminé")).to_be_visible()
    for width, name in ((1366, "ordinateur"), (390, "telephone")):
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, artifacts_dir / f"lot-termine-{name}.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le fichier évalué").click()
    assert download.value.suggested_filename == "equipe_predictions.csv"
    scored = download.value.path().read_bytes().decode("utf-8-sig").splitlines()
    assert scored[0].endswith(";risque_depart_pourcent;niveau_de_risque;facteur_principal")
    assert len(scored) == LINES + 1 and scored[1].startswith("E000000;")
    with live_app.app_context():
        stored = sa.select(sa.func.count()).select_from(Input).where(Input.lot_id == job_id)
        assert db.session.scalar(stored) == LINES
        assert db.session.get(Job, job_id).status == "termine"
    # An employee at risk opens from the lot's page.
    page.get_by_role("link", name="Ouvrir").first.click()
    expect(page.get_by_role("heading", name="Résultat de l'évaluation")).to_be_visible()
    page.goto(live_server + "/lots")
    expect(page.get_by_role("link", name="équipe.csv")).to_be_visible()


def test_errors_are_shown_by_line_on_the_lot_page(hr_page, live_server, lot_worker, artifacts_dir, tmp_path):
    page = hr_page
    source = tmp_path / "lot.csv"
    source.write_bytes(raw_csv().replace(b";41;", b";quarante;", 1))
    page.goto(live_server + "/lot")
    page.get_by_label("Fichier CSV").set_input_files(source)
    page.get_by_role("button", name="Évaluer le fichier").click()
    errors = page.get_by_role("table")
    expect(errors.get_by_role("cell").first).to_have_text("2", timeout=60_000)
    expect(errors).to_contain_text("« quarante »")
    expect(errors).to_contain_text("age")
    expect(errors).to_contain_text("Doit être un nombre entier.")
    expect(page.get_by_role("heading", name="État : Échoué")).to_be_visible()
    shot(page, artifacts_dir / "batch-errors.png")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger la liste des erreurs").click()
    assert "quarante" in download.value.path().read_bytes().decode("utf-8-sig")
