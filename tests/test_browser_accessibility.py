"""axe-core in a real Chromium on every page, signed in or not, on a laptop and on a phone; no sideways scroll,
no chart wider than its box, French spacing (no ordinary space before « : ; ! ? » or inside « »).

axe-core comes from the pip package axe-playwright-python (its bundled axe.min.js): nothing is fetched.
Screenshots of each page go to test-artifacts/ordinateur/ and test-artifacts/telephone/.
"""

import re
import time

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from futurisys.auth.accounts import create_user
from futurisys.extensions import db, model_store
from futurisys.storage.models import Prediction
from futurisys.storage.predictions import Author, predict_and_store, predict_and_store_many
from tests.payloads import FEATURES, IDS, RAW, french_csv, french_row
from tests.support import PASSWORD, shot, sign_in

pytestmark = pytest.mark.browser

VIEWPORTS = {"ordinateur": {"width": 1366, "height": 900}, "telephone": {"width": 390, "height": 844}}
AXE = Axe()


def axe_violations(page) -> list[str]:
    """The ids of axe-core's violations on the current page, with the number of elements each."""
    results = AXE.run(page)
    return [f"{v['id']} ({len(v['nodes'])})" for v in results.response["violations"]]


def sideways_scroll(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


# Text of the page (charts, code and scripts aside) where an ordinary space would let « : » or « » » wrap alone.
LOOSE_PUNCTUATION = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest("script, style, code, pre, svg, textarea")) continue;
    const text = node.data;
    const match = text.match(/[ \\t\\r\\n][:;!?»]|«[ \\t\\r\\n]/);
    if (match) found.push(text.trim().slice(0, 60));
  }
  return found.slice(0, 5);
}"""
# Charts drawn wider than the box that holds them (cut off or scrolling inside it).
WIDE_CHARTS = """() => [...document.querySelectorAll("figure svg, .chart svg")]
  .filter(svg => svg.getBoundingClientRect().width > svg.parentElement.clientWidth + 1)
  .map(svg => svg.closest("figure")?.querySelector("figcaption")?.textContent.trim() || "?").slice(0, 5)"""


def populate(app) -> str:
    """An admin, an HR account, and predictions from the API, the form and an upload; the form's at the threshold.

    Returns the address of the evaluation at the threshold (p = 0.1762 with a threshold of 0.1769: « 18 % »).
    """
    with app.app_context():
        admin = create_user("claire", PASSWORD, "admin")
        create_user("rh", PASSWORD, "hr")
        with app.test_request_context():
            started = time.perf_counter()
            at_threshold = predict_and_store(
                model_store.predictor,
                FEATURES,
                RAW,
                source="form",
                request_id="r1",
                started=started,
                author=Author(admin.id, "MAT-0001"),
            )
            predict_and_store(model_store.predictor, FEATURES, None, source="api", request_id="r2", started=started)
            items = [(FEATURES, RAW)] * 3
            predict_and_store_many(
                model_store.predictor,
                items,
                source="lot",
                request_id="r3",
                started=started,
                authors=[Author(admin.id, f"L-{i}") for i in range(3)],
            )
        db.session.execute(
            sa.update(Prediction)
            .where(Prediction.id == at_threshold.prediction_id)
            .values(prediction_proba=0.1762, threshold=0.1769)
        )
        db.session.commit()
    return f"/evaluations/{at_threshold.public_id}"


def upload(page, base: str, content: bytes) -> None:
    page.goto(f"{base}/lot")
    page.get_by_label("Fichier CSV").set_input_files(
        files=[{"name": "lot.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.get_by_role("button", name="Évaluer le fichier").click()
    # The lot's own page, once the worker has checked (and scored) the file.
    expect(page.locator("#resultat-titre, #probleme, #erreurs-titre").first).to_be_visible(timeout=60_000)


def test_every_page_has_no_axe_violation_and_fits_the_screen(browser, live_app, live_server, lot_worker, artifacts_dir):
    """Each page is reached once and checked at both sizes; it is used (clicks, uploads) at the phone's size."""
    at_threshold = populate(live_app)
    context = browser.new_context(viewport=VIEWPORTS["telephone"], locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    for device in VIEWPORTS:
        (artifacts_dir / device).mkdir(exist_ok=True)
    found, overflow, wide, loose = {}, {}, {}, {}

    def check(name: str) -> None:
        loose[name] = page.evaluate(LOOSE_PUNCTUATION)  # the text is the same at both sizes
        for device, viewport in VIEWPORTS.items():  # the phone last: the test goes on at its size
            page.set_viewport_size(viewport)
            found[f"{device}/{name}"] = axe_violations(page)
            overflow[f"{device}/{name}"] = sideways_scroll(page)
            wide[f"{device}/{name}"] = page.evaluate(WIDE_CHARTS)
            shot(page, str(artifacts_dir / device / f"{name}.png"))

    bad_file = french_csv(
        [
            french_row(1, "MAT 1/é", frequence_deplacement="Souvent"),
            french_row(2, "MAT-2", age="quarante", revenu_mensuel="beaucoup"),
        ]
    )
    good_file = french_csv([french_row(i, f"MAT-{i:04d}") for i in IDS])

    # Signed out.
    page.goto(f"{live_server}/connexion")
    check("connexion")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()
    check("connexion-erreurs")
    page.goto(f"{live_server}/page-inexistante")
    expect(page.locator(".error-page__code")).to_contain_text("Page introuvable")
    check("erreur-404")
    page.goto(f"{live_server}/predict")
    expect(page.get_by_role("heading", level=1)).to_contain_text("POST en JSON")
    check("api-predict-navigateur")

    # HR account: the HR pages, and the admin pages refused.
    sign_in(page, live_server, "rh")
    page.goto(f"{live_server}/")
    check("formulaire")
    page.get_by_role("button", name="Évaluer le risque").click()
    check("formulaire-erreurs")
    upload(page, live_server, bad_file)
    expect(page.get_by_role("heading", name="Erreurs par ligne")).to_be_visible()
    check("lot-erreurs")
    upload(page, live_server, b"age;genre\n1;F\n")
    expect(page.locator("#probleme")).to_be_focused()
    check("lot-refuse")
    upload(page, live_server, good_file)
    expect(page.get_by_role("heading", name="Salariés à risque")).to_be_visible()
    check("lot-resultat")
    page.goto(f"{live_server}/lots")
    check("mes-lots")
    page.goto(f"{live_server}/evaluations")
    check("mes-evaluations")
    page.goto(f"{live_server}/evaluations?date_from=pas-une-date")
    check("mes-evaluations-filtres-invalides")
    page.goto(f"{live_server}/evaluations")
    page.get_by_role("link", name=re.compile("^Ouvrir")).first.click()
    expect(page.get_by_role("heading", name="Résultat de l'évaluation")).to_be_visible()
    check("evaluation")
    page.goto(f"{live_server}/admin/")
    check("erreur-403")
    context.clear_cookies()

    # Admin account.
    sign_in(page, live_server, "claire")
    page.goto(live_server + at_threshold)  # the admin wrote it: it is on the admin's own pages too
    expect(page.get_by_test_id("threshold")).to_have_text("Au niveau du seuil d'alerte (18\u00a0%).")
    expect(page.get_by_test_id("band")).to_have_text("modéré")
    check("evaluation-au-seuil")
    page.goto(f"{live_server}/admin/")
    expect(page.locator("table.data tbody tr")).to_have_count(5 + len(IDS))  # 5 stored above, the upload's
    check("admin-historique")
    page.goto(f"{live_server}/admin/?date_from=pas-une-date&proba_min=abc")
    check("admin-historique-filtres-invalides")
    page.goto(f"{live_server}/admin/")
    page.locator("table.data tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Principaux facteurs")).to_be_visible()
    check("admin-detail")
    page.get_by_role("button", name="Supprimer définitivement").click()
    check("admin-detail-confirmation")
    page.goto(f"{live_server}/admin/dashboard")
    expect(page.locator("figure.chart svg")).to_have_count(3)  # one model version: no one-bar chart
    check("admin-tableau-de-bord")
    page.goto(f"{live_server}/admin/drift")
    check("admin-derive")
    page.goto(f"{live_server}/admin/model")
    check("admin-modele")
    page.goto(f"{live_server}/admin/purges")
    page.get_by_role("button", name="Lancer la purge").click()  # unconfirmed: the form shows what to fix
    expect(page.locator(".field__error").first).to_be_visible()
    check("admin-purge-erreurs")
    page.get_by_label("Supprimer les évaluations de plus de (jours)").fill("3650")
    page.get_by_label("Je confirme la suppression définitive de ces évaluations.").check()
    page.get_by_role("button", name="Lancer la purge").click()
    expect(page.get_by_role("heading", name=re.compile("Purge des évaluations"))).to_be_visible()
    check("admin-purge")
    page.goto(f"{live_server}/admin/leviers/")
    check("admin-leviers")
    context.close()

    assert {name: ids for name, ids in found.items() if ids} == {}
    assert {name: px for name, px in overflow.items() if px > 0} == {}
    assert {name: charts for name, charts in wide.items() if charts} == {}
    assert {name: texts for name, texts in loose.items() if texts} == {}


def test_error_summaries_take_the_focus_without_javascript(browser, live_app, live_server):
    """A refused file read out first even when batch.js is not what shows the page (plain form post)."""
    populate(live_app)
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    sign_in(page, live_server, "rh")
    page.goto(f"{live_server}/lot")
    page.evaluate("document.querySelector('[data-batch-form]').removeAttribute('data-batch-form')")
    page.get_by_label("Fichier CSV").set_input_files(
        files=[{"name": "lot.csv", "mimeType": "text/csv", "buffer": b"age;genre\n1;F\n"}]
    )
    page.get_by_role("button", name="Évaluer le fichier").click()
    expect(page.locator("#probleme")).to_be_focused()
    context.close()
