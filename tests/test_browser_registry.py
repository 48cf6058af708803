"""« Modèles » in a real Chromium: a refused history, a kept one, a training's comparison, a promotion asking
« je confirme », the history of the aliases, the challenger's agreement; axe-core finds nothing at laptop and phone
sizes and nothing scrolls sideways. Screenshots go to test-artifacts/<size>/modeles-*.png (the issue's note)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from futurisys.registry.training import run_training
from tests.support import shot, sign_in
from tests.test_browser_accessibility import VIEWPORTS, axe_violations, populate, sideways_scroll
from tests.test_registry import IDS, history_csv, installed, register, variant_bundle

pytestmark = pytest.mark.browser


def test_the_models_pages_are_usable_and_accessible_on_both_screens(
    browser, live_app, live_server, bundle_dir, tmp_path, artifacts_dir
):
    populate(live_app)  # admin "claire"
    live_app.config["TRAINING_CV_REPEATS"] = 1
    installed(live_app, bundle_dir)
    worse = register(live_app, variant_bundle(bundle_dir, tmp_path / "w", "fx-essai-moins-bon", cv_roc_auc_mean=0.7))
    context = browser.new_context(viewport=VIEWPORTS["ordinateur"], locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    found, overflow = {}, {}

    def check(name: str) -> None:
        for device, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            found[f"{device}/{name}"] = axe_violations(page)
            overflow[f"{device}/{name}"] = sideways_scroll(page)
            (artifacts_dir / device).mkdir(exist_ok=True)
            shot(page, str(artifacts_dir / device / f"modeles-{name}.png"))

    def send_history(name: str, content: bytes) -> None:
        page.get_by_label("Nom du jeu de données").fill(name)
        page.get_by_label(re.compile("^Fichier CSV")).set_input_files(
            files=[{"name": "historique.csv", "mimeType": "text/csv", "buffer": content}]
        )
        page.get_by_role("button", name="Garder ce jeu de données").click()

    sign_in(page, live_server, "claire")
    page.goto(f"{live_server}/admin/modeles/")
    check("liste")
    send_history("Historique refusé", history_csv(IDS[:5], changes={IDS[1]: {"a_quitte_l_entreprise": "?"}}))
    expect(page.locator("#probleme")).to_contain_text("1 ligne en erreur")
    check("historique-refuse")
    send_history("Historique 2024", history_csv(IDS[:200], encoding="cp1252"))
    expect(page.get_by_role("status").first).to_contain_text("Jeu de données « Historique 2024 » gardé")
    page.get_by_label(re.compile("^Jeu de référence")).uncheck()
    page.get_by_label(re.compile("Historique 2024.*lignes")).check()
    page.get_by_role("button", name="Lancer l'entraînement").click()
    expect(page.get_by_role("heading", name="Entraînement d'une nouvelle version")).to_be_visible()
    check("entrainement-en-attente")
    job_id = page.url.rstrip("/").rsplit("/", 1)[1]
    with live_app.app_context():
        assert run_training(job_id) == "termine"
    page.reload()
    expect(page.get_by_role("heading", name="Comparaison sur les mêmes blocs des mêmes données")).to_be_visible()
    check("entrainement-comparaison")
    page.goto(f"{live_server}/admin/modeles/versions/{worse}")
    page.get_by_label("Raison du changement").fill("Essai d'un modèle moins bon")
    page.get_by_role("button", name="Promouvoir").click()
    expect(page.locator("#probleme")).to_contain_text("Confirmation requise")
    check("promotion-a-confirmer")
    page.get_by_label("Je confirme").check()
    page.get_by_label("Raison du changement").fill("Essai assumé d'un modèle moins bon")
    page.get_by_role("button", name="Promouvoir").click()
    expect(page.get_by_role("heading", name="Historique des alias")).to_be_visible()
    expect(page.locator("table").filter(has_text="Confirmé malgré")).to_be_visible()
    check("historique-des-alias")
    page.goto(f"{live_server}/admin/modeles/challenger/accord")
    check("accord-challenger")
    context.close()

    assert {name: ids for name, ids in found.items() if ids} == {}
    assert {name: px for name, px in overflow.items() if px > 0} == {}
