"""The compliance pages in a real Chromium: axe-core finds nothing at laptop and phone sizes, nothing scrolls
sideways; screenshots go to test-artifacts/<size>/conformite-*.png."""

import pytest
from playwright.sync_api import expect

from tests.support import shot, sign_in
from tests.test_browser_accessibility import VIEWPORTS, axe_violations, populate, sideways_scroll

pytestmark = pytest.mark.browser


def test_compliance_pages_have_no_axe_violation(browser, live_app, live_server, artifacts_dir):
    populate(live_app)  # admin "claire" with an evaluation of MAT-0001
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
            shot(page, str(artifacts_dir / device / f"conformite-{name}.png"))

    sign_in(page, live_server, "claire")
    page.goto(f"{live_server}/evaluations?reference=MAT-0001")
    page.get_by_role("link", name="Ouvrir").first.click()
    page.get_by_label("Entretien").check()
    page.get_by_label("Je ne suis pas l'avis du modèle").check()
    page.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.get_by_test_id("decisions")).to_contain_text("Entretien")
    check("evaluation-decision")
    page.goto(f"{live_server}/admin/conformite/")
    page.get_by_label("Référence salarié").fill("MAT-0001")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("table")).to_contain_text("Décision RH")
    check("journal")
    page.goto(f"{live_server}/admin/conformite/salarie")
    page.get_by_label("Référence salarié").fill("MAT-0001")
    page.get_by_role("button", name="Ouvrir le dossier").click()
    expect(page.get_by_role("heading", name="Salarié MAT-0001")).to_be_visible()
    check("salarie")
    page.get_by_role("button", name="Dossier imprimable").click()
    expect(page.get_by_role("heading", name="Dossier du salarié MAT-0001")).to_be_visible()
    check("dossier")
    for name, path in [
        ("parametres", "parametres"),
        ("logique", "logique"),
        ("notice", "notice"),
        ("annexe-cse", "annexe-cse"),
    ]:
        page.goto(f"{live_server}/admin/conformite/{path}")
        check(name)
    context.close()
    assert {name: ids for name, ids in found.items() if ids} == {}
    assert {name: px for name, px in overflow.items() if px > 0} == {}
