"""The HR form (GET/POST /), its result page and the what-if (POST /simulation), on PostgreSQL and SQLite."""
import re
from html import unescape

import pytest
import sqlalchemy as sa

from futurisys.models import Input, Prediction
from futurisys.schema import RAW_NAMES, raw_field
from tests.conftest import make_app
from tests.payloads import RAW, employee


def form_data(record: dict) -> dict:
    """A raw record as a browser posts it (strings; booleans as the radio buttons send them)."""
    return {name: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for name, value in record.items() if value is not None}


def counts(db):
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Input)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Prediction)))


def field_block(html: str, name: str) -> str:
    """The HTML of the field `name` (from its wrapper to the next field), entities unescaped."""
    start = html.index(f'name="{name}"')
    start = max(html.rfind('<div class="field', 0, start), html.rfind('<fieldset class="field', 0, start))
    end = min(i for i in (html.find('<div class="field', start + 1), html.find('<fieldset class="field', start + 1),
                          html.find("</form>", start)) if i != -1)
    return unescape(html[start:end])


def test_form_renders_every_raw_field_in_sections(client):
    html = client.get("/").get_data(as_text=True)
    for name in RAW_NAMES:
        assert f'name="{name}"' in html, name
    sections = re.findall(r'<legend class="section__title">.*?</span>(.*?)</legend>', html)
    assert sections == ["Identité et poste", "Parcours", "Rémunération", "Évaluations", "Satisfaction",
                        "Conditions de travail"]
    assert html.count("(facultatif)") == 3
    age = field_block(html, "age")
    assert 'type="number"' in age and 'min="16"' in age and 'max="75"' in age and 'aria-describedby="age-aide"' in age
    satisfaction = field_block(html, "satisfaction_employee_equipe")
    assert satisfaction.count('type="radio"') == 4
    assert "1 — Faible" in satisfaction and "4 — Très élevée" in satisfaction
    overtime = field_block(html, "heure_supplementaires")
    assert 'value="true"' in overtime and ">Oui<" in overtime and ">Non<" in overtime
    assert '<option value="Frequent">Fréquent</option>' in field_block(html, "frequence_deplacement")
    assert 'href="/lot"' in html and 'href="/admin/"' in html


def test_valid_post_stores_one_input_and_shows_the_result(client, db):
    response = client.post("/", data=form_data(RAW), headers={"X-Request-ID": "form-1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert counts(db) == (1, 1)
    row = db.session.scalars(sa.select(Input)).one()
    assert row.source == "form" and row.raw_record == RAW and row.request_id == "form-1"
    prediction = row.prediction
    assert prediction.latency_ms > 0
    assert f'data-testid="label">{prediction.prediction_label}<' in html
    assert f"{int(prediction.prediction_proba * 100)}\u00a0%" in html
    assert "Heures supplémentaires : oui — augmente le risque" in html
    assert html.count('class="driver driver--') == 5
    for explanation in ("moins de 15 %", "de 15 % à 40 %", "40 % et plus"):
        assert explanation in html
    assert "<details" in html and "Satisfaction globale" in html
    assert f'name="parent_input_id" type="hidden" value="{row.id}"' in html


@pytest.mark.parametrize("changes, field, message", [
    ({"age": ""}, "age", "Champ obligatoire."),
    ({"distance_domicile_travail": "500"}, "distance_domicile_travail", "Doit être compris entre 0 et 300."),
    ({"poste": "Astronaute"}, "poste", "Valeur inconnue « Astronaute »"),
    ({"age": "abc"}, "age", "Doit être un nombre entier."),
    ({"annees_dans_le_poste_actuel": "9"}, "annees_dans_le_poste_actuel",
     "Les années dans le poste actuel ne peuvent pas dépasser les années dans l'entreprise."),
])
def test_each_error_is_shown_on_its_field_with_values_kept(client, db, changes, field, message):
    data = {**form_data(RAW), **changes}
    response = client.post("/", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert counts(db) == (0, 0)
    block = field_block(html, field)
    assert message in block and f'id="{field}-erreur"' in block and 'aria-invalid="true"' in block
    assert f"{field}-erreur" in re.search(r'aria-describedby="([^"]*)"', block).group(1)
    start = html.index('class="error-summary"')
    summary = unescape(html[start:html.index("</div>", start)])
    assert f'href="#{field}"' in summary and message in summary
    if changes[field]:
        kept = f'value="{changes[field]}"'
        assert kept in block and (f"{kept} selected" in block or "<option" not in block)
    # Every other value is kept as typed.
    assert 'value="5993"' in field_block(html, "revenu_mensuel")
    assert 'value="Célibataire" selected' in field_block(html, "statut_marital")
    assert 'value="true" checked' in field_block(html, "heure_supplementaires")
    assert 'value="1" checked' in field_block(html, "satisfaction_employee_equipe")


def test_optional_fields_may_be_left_empty(client, db):
    data = form_data(RAW)
    for name in ("niveau_hierarchique_poste", "augementation_salaire_precedente", "annes_sous_responsable_actuel"):
        assert not raw_field(name).required
        data[name] = ""
    assert client.post("/", data=data).status_code == 200
    stored = db.session.scalars(sa.select(Input)).one().raw_record
    assert "niveau_hierarchique_poste" not in stored and stored["age"] == RAW["age"]


def test_whatif_is_stored_apart_and_compared_with_the_original(client, db):
    client.post("/", data=form_data(RAW))
    original = db.session.scalars(sa.select(Input)).one()
    response = client.post("/simulation", data={**form_data(RAW), "heure_supplementaires": "false",
                                                "parent_input_id": str(original.id),
                                                "Probabilite_depart": "0.01"})  # ignored: re-read from the DB
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert counts(db) == (2, 2)
    whatif = db.session.scalars(sa.select(Input).where(Input.source == "whatif")).one()
    assert whatif.parent_input_id == original.id
    assert whatif.raw_record == {**RAW, "heure_supplementaires": False}
    assert whatif.prediction.prediction_proba < original.prediction.prediction_proba
    probabilities = re.findall(r'data-testid="probability">([^<]*)<', html)
    assert probabilities == [f"{int(p.prediction_proba * 100)}\u00a0%" for p in (original.prediction,
                                                                                  whatif.prediction)]
    assert "Heures supplémentaires : Oui → <strong>Non</strong>" in html
    # The next what-if still compares with the original evaluation.
    assert f'name="parent_input_id" type="hidden" value="{original.id}"' in html


def test_invalid_whatif_keeps_the_original_result_and_the_values(client, db):
    client.post("/", data=form_data(RAW))
    original = db.session.scalars(sa.select(Input)).one()
    response = client.post("/simulation", data={**form_data(RAW), "revenu_mensuel": "50",
                                                "parent_input_id": str(original.id)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and counts(db) == (1, 1)
    assert "Doit être compris entre 500 et 100\u202f000." in field_block(html, "revenu_mensuel")
    assert 'value="50"' in field_block(html, "revenu_mensuel")
    assert f"{int(original.prediction.prediction_proba * 100)}\u00a0%" in html


def test_whatif_without_a_known_parent_is_refused(client, db):
    response = client.post("/simulation", data={**form_data(RAW), "parent_input_id": "999"},
                           headers={"Accept": "text/html"})
    assert response.status_code == 400 and "introuvable" in response.get_data(as_text=True)
    assert counts(db) == (0, 0)


def test_csrf_rejects_a_forged_post(database_url, bundle_dir):
    app = make_app(database_url, bundle_dir, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    forged = client.post("/", data=form_data(employee(2)), headers={"Accept": "text/html"})
    assert forged.status_code == 400
    assert "jeton de sécurité" in forged.get_data(as_text=True)
    assert client.post("/simulation", data={**form_data(RAW), "parent_input_id": "1"}).status_code == 400
    # The same client with the page's token gets through, so the 400 above was the CSRF check.
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/").get_data(as_text=True))
    assert client.post("/", data={**form_data(employee(2)), "csrf_token": token.group(1)}).status_code == 200
    with app.app_context():
        from futurisys.extensions import db

        assert counts(db) == (1, 1)
        with db.engine.begin() as connection:
            connection.execute(sa.delete(Prediction))
            connection.execute(sa.delete(Input))
        db.engine.dispose()
