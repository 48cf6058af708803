"""The HR form in a real Chromium: evaluate an employee, read the result, simulate, and fix an invalid form."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from futurisys.domain.formatting import whole_percent
from futurisys.domain.schema import raw_field
from futurisys.extensions import db
from futurisys.storage.models import Input
from futurisys.web.forms import option_value, widget_for
from tests.payloads import RAW, employee
from tests.support import counts, make_user, shot, sign_in

pytestmark = pytest.mark.browser
PERCENT = re.compile(r"^(\d+|moins de 1)\u00a0%$")


def fill(page, record: dict) -> None:
    """Type a raw record into the form the way a user would: each field with the control it is shown as."""
    for name, value in record.items():
        widget = widget_for(raw_field(name))
        if widget == "number":
            page.locator(f"#{name}").fill("" if value is None else str(value))
        elif widget == "select":
            page.locator(f"#{name}").select_option("" if value is None else option_value(value))
        else:
            page.locator(f"input[name='{name}'][value='{option_value(value)}']").check()


def fits_the_width(page) -> bool:
    """No horizontal scrolling: the page is usable on a phone."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def stored(live_app, source: str) -> list[Input]:
    with live_app.app_context():
        rows = db.session.scalars(sa.select(Input).where(Input.source == source).order_by(Input.id)).all()
        return [
            (row.id, row.parent_input_id, row.prediction.prediction_proba, row.prediction.prediction_label)
            for row in rows
        ]


def test_hr_evaluates_reloads_simulates_and_finds_it_again(hr_page, live_server, live_app, browser, artifacts_dir):
    page = hr_page
    page.goto(live_server + "/")
    expect(page.get_by_role("heading", name="Évaluer le risque de départ d'un employé")).to_be_visible()
    expect(page.get_by_role("link", name="Évaluer un employé")).to_have_attribute("aria-current", "page")
    page.get_by_label("Référence salarié").fill("MAT-0042")
    fill(page, RAW)
    expect(page.get_by_label("Âge")).to_have_value("41")
    shot(page, artifacts_dir / "form.png")
    page.get_by_role("button", name="Évaluer le risque de départ").click()

    expect(page.get_by_role("heading", name="Résultat de l'évaluation")).to_be_visible()
    assert re.search(r"/evaluations/[A-Za-z0-9_-]{22}$", page.url)
    result_url = page.url
    [(input_id, _, proba, label)] = stored(live_app, "form")
    assert page.get_by_test_id("probability").inner_text() == f"{whole_percent(proba)}\u00a0%"
    expect(page.get_by_test_id("band")).to_have_text(re.compile("^(faible|modéré|élevé)$"))
    expect(page.get_by_test_id("sentence")).to_have_text(
        f"D'après le modèle, sur 100 salariés au profil comparable, environ {whole_percent(proba)} partiraient."
    )
    expect(page.get_by_test_id("threshold")).to_have_text(
        re.compile("^(Au-dessus|Au niveau|En dessous) du seuil d'alerte")
    )
    expect(page.get_by_test_id("reference")).to_have_text("MAT-0042")
    drivers = page.get_by_test_id("driver")
    expect(drivers).to_have_count(5)
    expect(drivers.filter(has_text="Fait des heures supplémentaires — augmente le risque")).to_contain_text("levier")
    assert page.locator(".driver__bar").first.bounding_box()["width"] > 0
    shot(page, artifacts_dir / "result.png")
    page.reload()
    expect(page.get_by_role("heading", name="Résultat de l'évaluation")).to_be_visible()
    assert counts(live_app) == (1, 1)  # a reload shows the result again and stores nothing

    whatif = page.locator("form.whatif__form")
    whatif.get_by_label("Non", exact=True).check()
    whatif.get_by_role("button", name="Simuler").click()
    expect(page.get_by_role("heading", name="Résultat de la simulation")).to_be_visible()
    [(_, parent_id, new_proba, _)] = stored(live_app, "whatif")
    assert parent_id == input_id and new_proba < proba
    expect(page.get_by_test_id("probability")).to_have_text([f"{whole_percent(p)}\u00a0%" for p in (proba, new_proba)])
    expect(page.locator(".changes")).to_contain_text("Heures supplémentaires : Oui → Non")
    expect(page.get_by_test_id("delta")).to_have_text(re.compile(r"^Risque en baisse de \d+ points?\.$"))
    shot(page, artifacts_dir / "whatif.png")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_the_width(page)
    shot(page, artifacts_dir / "whatif-phone.png")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Mes évaluations").first.click()
    expect(page.get_by_role("heading", name="Mes évaluations")).to_be_visible()
    expect(page.get_by_test_id("evaluation-row")).to_have_count(2)
    page.get_by_label("Référence salarié").fill("MAT-0042")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_test_id("evaluation-row")).to_have_count(2)
    expect(page.get_by_test_id("evaluation-row").last).to_contain_text("Formulaire RH")
    shot(page, artifacts_dir / "mes-evaluations.png")
    page.get_by_test_id("evaluation-row").last.get_by_role("link").click()
    assert page.url == result_url

    # Another HR account cannot open it.
    make_user(live_app, "rh2", "hr")
    other = browser.new_context(locale="fr-FR").new_page()
    sign_in(other, live_server, "rh2")
    answer = other.goto(result_url)
    assert answer.status == 404
    expect(other.get_by_text("Évaluation introuvable.")).to_be_visible()
    other.context.close()
    assert counts(live_app) == (2, 2)


def test_invalid_form_shows_the_messages_and_keeps_the_values(hr_page, live_server, live_app, artifacts_dir):
    page = hr_page
    page.goto(live_server + "/")
    fill(page, {**employee(2), "age": 200, "annees_dans_le_poste_actuel": 40, "poste": None})
    page.get_by_role("button", name="Évaluer le risque de départ").click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()  # screen readers read it first; keyboard users start from it
    expect(summary.get_by_role("heading")).to_have_text(re.compile("3 erreurs"))
    expect(page.locator("#age-erreur")).to_have_text(re.compile("Doit être compris entre 16 et 75"))
    expect(page.locator("#poste-erreur")).to_have_text(re.compile("Champ obligatoire"))
    expect(page.locator("#annees_dans_le_poste_actuel-erreur")).to_contain_text("ne peuvent pas dépasser")
    expect(page.get_by_label("Âge")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Âge")).to_have_value("200")
    expect(page.locator("#annees_dans_le_poste_actuel")).to_have_value("40")
    expect(page.locator("#revenu_mensuel")).to_have_value(str(employee(2)["revenu_mensuel"]))
    expect(page.locator("#departement")).to_have_value(employee(2)["departement"])
    summary.get_by_role("link", name=re.compile("^Âge")).click()
    expect(page.get_by_label("Âge")).to_be_focused()
    shot(page, artifacts_dir / "form-errors.png")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_the_width(page)
    shot(page, artifacts_dir / "form-errors-phone.png")
    assert stored(live_app, "form") == []
