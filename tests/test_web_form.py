"""The HR form (GET/POST /), the evaluation page it redirects to and its what-ifs, on PostgreSQL and SQLite."""

import re
from html import unescape

import pytest
import sqlalchemy as sa

from futurisys.domain.formatting import (
    NNBSP,  # pages are typeset: compared here with plain spaces
    whole_percent,
)
from futurisys.domain.schema import RAW_NAMES, SECTIONS, raw_field
from futurisys.storage.models import Input, Prediction, User
from tests.payloads import RAW, employee
from tests.support import counts, evaluate, form_data, login, make_app, make_user, scalar


def field_block(html: str, name: str) -> str:
    """The HTML of the field `name` (from its wrapper to the next field), entities unescaped."""
    start = html.index(f'id="{name}"')  # the visible field (hidden copies carry no id)
    start = max(html.rfind('<div class="field', 0, start), html.rfind('<fieldset class="field', 0, start))
    end = min(
        i
        for i in (
            html.find('<div class="field', start + 1),
            html.find('<fieldset class="field', start + 1),
            html.find("</form>", start),
        )
        if i != -1
    )
    return unescape(html[start:end])


def test_form_renders_every_raw_field_in_sections(hr_client):
    html = hr_client.get("/").get_data(as_text=True).replace(NNBSP, " ")
    for name in RAW_NAMES:
        assert f'name="{name}"' in html, name
    sections = re.findall(r'<legend class="section__title">.*?</span>(.*?)</legend>', html)
    assert sections == list(SECTIONS)
    assert html.count("(facultatif)") == 7  # six schema fields (three of them protected) and the employee reference
    age = field_block(html, "age")
    assert 'type="text"' in age and 'inputmode="numeric"' in age and 'aria-describedby="age-aide"' in age
    satisfaction = field_block(html, "satisfaction_employee_equipe")
    assert satisfaction.count('type="radio"') == 4
    assert "1 — Faible" in satisfaction and "4 — Très élevée" in satisfaction
    overtime = field_block(html, "heure_supplementaires")
    assert 'value="true"' in overtime and ">Oui<" in overtime and ">Non<" in overtime
    assert '<option value="Frequent">Fréquent</option>' in field_block(html, "frequence_deplacement")
    assert 'href="/lot"' in html and 'href="/evaluations"' in html and 'href="/admin/' not in html  # role hr


def test_valid_post_stores_one_input_and_redirects_to_its_page(app, hr_client, db):
    location = evaluate(hr_client, headers={"X-Request-ID": "form-1"}, reference_salarie=" MAT-0042 ")
    assert re.fullmatch(r"/evaluations/[A-Za-z0-9_-]{22}", location)
    assert counts(app) == (1, 1)
    row = db.session.scalars(sa.select(Input)).one()
    assert row.source == "form" and row.raw_record == RAW and row.employee_ref == "MAT-0042"
    assert row.user_id == db.session.scalar(sa.select(User.id).where(User.username == "rh"))
    assert location == f"/evaluations/{row.public_id}"
    page = hr_client.get(location)
    html = page.get_data(as_text=True).replace(NNBSP, " ")
    assert page.status_code == 200 and counts(app) == (1, 1)  # reading (or reloading) the page stores nothing
    assert hr_client.get(location).status_code == 200 and counts(app) == (1, 1)
    prediction = row.prediction
    percent = whole_percent(prediction.prediction_proba)
    assert f'data-testid="probability">{percent}\u00a0%<' in html
    assert f"sur 100 salariés au profil comparable, environ {percent} partiraient." in unescape(html)
    threshold = f"{whole_percent(prediction.threshold)}\u00a0%"
    assert f"Au-dessus du seuil d'alerte ({threshold})." in unescape(html) and "Prédiction" not in html
    assert "Part" not in html.replace("Partici", "").replace("partir", "")  # the API's label never reaches HR
    assert 'data-testid="reference">MAT-0042<' in html
    assert "Fait des heures supplémentaires — augmente le risque" in html
    assert html.count('data-testid="driver"') == 5 and "levier" in html
    low = whole_percent(prediction.threshold)
    for explanation in (f"moins de {low}\u00a0%", f"de {low}\u00a0% à 39\u00a0%", "40\u00a0% et plus"):
        assert explanation in unescape(html)
    assert f'action="/evaluations/{row.public_id}/simulation"' in html and "parent_input_id" not in html


def test_a_bad_employee_reference_is_refused_on_its_field(app, hr_client):
    response = hr_client.post("/", data={**form_data(RAW), "reference_salarie": "Jean Dupont"})
    assert response.status_code == 422 and counts(app) == (0, 0)
    html = unescape(response.get_data(as_text=True).replace(NNBSP, " "))
    assert "Jusqu'à 32 caractères parmi lettres sans accent" in html and 'aria-invalid="true"' in html
    assert 'value="Jean Dupont"' in html


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"revenu_mensuel": ""}, "revenu_mensuel", "Champ obligatoire."),
        ({"distance_domicile_travail": "500"}, "distance_domicile_travail", "Doit être compris entre 0 et 300."),
        ({"poste": "Astronaute"}, "poste", "Valeur inconnue « Astronaute »"),
        ({"age": "abc"}, "age", "Doit être un nombre entier."),
        (
            {"annees_dans_le_poste_actuel": "9"},
            "annees_dans_le_poste_actuel",
            "Les années dans le poste actuel ne peuvent pas dépasser les années dans l'entreprise.",
        ),
    ],
)
def test_each_error_is_shown_on_its_field_with_values_kept(app, hr_client, changes, field, message):
    data = {**form_data(RAW), **changes}
    response = hr_client.post("/", data=data)
    html = response.get_data(as_text=True).replace(NNBSP, " ")
    assert response.status_code == 422
    assert counts(app) == (0, 0)
    block = field_block(html, field)
    assert message in block and f'id="{field}-erreur"' in block and 'aria-invalid="true"' in block
    assert f"{field}-erreur" in re.search(r'aria-describedby="([^"]*)"', block).group(1)
    start = html.index('class="error-summary"')
    summary = unescape(html[start : html.index("</div>", start)])
    assert f'href="#{field}"' in summary and message in summary
    if changes[field]:
        kept = f'value="{changes[field]}"'
        assert kept in block and (f"{kept} selected" in block or "<option" not in block)
    # Every other value is kept as typed.
    assert 'value="5993"' in field_block(html, "revenu_mensuel") or field == "revenu_mensuel"
    assert 'value="8"' in field_block(html, "nombre_experiences_precedentes")
    assert 'value="Célibataire" selected' in field_block(html, "statut_marital")
    assert 'value="true" checked' in field_block(html, "heure_supplementaires")
    assert 'value="1" checked' in field_block(html, "satisfaction_employee_equipe")


def test_optional_fields_may_be_left_empty(hr_client, db):
    data = form_data(RAW)
    for name in ("niveau_hierarchique_poste", "augementation_salaire_precedente", "annes_sous_responsable_actuel"):
        assert not raw_field(name).required
        data[name] = ""
    assert hr_client.post("/", data=data).status_code == 303
    stored = db.session.scalars(sa.select(Input)).one().raw_record
    assert "niveau_hierarchique_poste" not in stored and stored["age"] == RAW["age"]


def test_whatif_is_stored_apart_and_compared_with_the_original(app, hr_client, db):
    location = evaluate(hr_client, reference_salarie="MAT-7")
    original = db.session.scalars(sa.select(Input)).one()
    response = hr_client.post(
        location + "/simulation",
        data={
            **form_data(RAW),
            "heure_supplementaires": "false",
            "parent_input_id": "1",  # ignored: the URL decides
            "Probabilite_depart": "0.01",
        },
    )  # ignored: re-read from the DB
    assert response.status_code == 303 and counts(app) == (2, 2)
    whatif = db.session.scalars(sa.select(Input).where(Input.source == "whatif")).one()
    assert response.headers["Location"] == f"/evaluations/{whatif.public_id}"
    assert whatif.parent_input_id == original.id and whatif.employee_ref == "MAT-7"
    assert whatif.user_id == original.user_id
    assert whatif.raw_record == {**RAW, "heure_supplementaires": False}
    assert whatif.prediction.prediction_proba < original.prediction.prediction_proba
    html = hr_client.get(response.headers["Location"]).get_data(as_text=True).replace(NNBSP, " ")
    probabilities = re.findall(r'data-testid="probability">([^<]*)<', html)
    assert probabilities == [
        f"{whole_percent(p.prediction_proba)}\u00a0%" for p in (original.prediction, whatif.prediction)
    ]
    assert "Heures supplémentaires : Oui → <strong>Non</strong>" in html
    # A what-if of the what-if still compares with the original evaluation, starting from this scenario.
    again = hr_client.post(
        f"/evaluations/{whatif.public_id}/simulation",
        data={**form_data(RAW), "heure_supplementaires": "false", "nb_formations_suivies": "3"},
    )
    assert again.status_code == 303 and counts(app) == (3, 3)
    third = db.session.scalars(sa.select(Input).order_by(Input.id.desc())).first()
    assert third.parent_input_id == original.id


def test_invalid_whatif_keeps_the_result_and_the_values(app, hr_client, db):
    location = evaluate(hr_client)
    original = db.session.scalars(sa.select(Input)).one()
    response = hr_client.post(location + "/simulation", data={**form_data(RAW), "revenu_mensuel": "50"})
    html = response.get_data(as_text=True).replace(NNBSP, " ")
    assert response.status_code == 422 and counts(app) == (1, 1)
    assert "Doit être compris entre 500 et 100 000." in field_block(html, "revenu_mensuel")
    assert 'value="50"' in field_block(html, "revenu_mensuel")
    assert f"{whole_percent(original.prediction.prediction_proba)}\u00a0%" in html


def test_the_old_simulation_address_reads_nothing(app, hr_client):
    evaluate(hr_client)
    original_id = scalar(app, sa.select(Input.id))
    for who, status in ((hr_client, 404), (app.test_client(), 404)):
        response = who.post(
            "/simulation", data={**form_data(RAW), "parent_input_id": str(original_id)}, headers={"Accept": "text/html"}
        )
        assert response.status_code == status
        assert "5993" not in response.get_data(as_text=True).replace(NNBSP, " ")
    assert counts(app) == (1, 1)


def test_csrf_rejects_a_forged_post(database_url, bundle_dir):
    app = make_app(database_url, bundle_dir, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    make_user(app, "rh", "hr")
    page = client.get("/connexion").get_data(as_text=True).replace(NNBSP, " ")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert login(client, "rh", csrf_token=token).status_code == 302
    forged = client.post("/", data=form_data(employee(2)), headers={"Accept": "text/html"})
    assert forged.status_code == 400
    assert "jeton de sécurité" in forged.get_data(as_text=True).replace(NNBSP, " ")
    # The same client with the page's token gets through, so the 400 above was the CSRF check.
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/").get_data(as_text=True).replace(NNBSP, " ")
    )
    assert client.post("/", data={**form_data(employee(2)), "csrf_token": token.group(1)}).status_code == 303
    with app.app_context():
        from futurisys.extensions import db

        assert counts(app) == (1, 1)
        with db.engine.begin() as connection:
            connection.execute(sa.delete(Prediction))
            connection.execute(sa.delete(Input))
            connection.execute(sa.delete(User))
            connection.execute(sa.text("DELETE FROM login_failures"))
        db.engine.dispose()


def test_without_a_model_the_form_keeps_what_was_typed(database_url, tmp_path):
    app = make_app(database_url, tmp_path / "no-model")
    make_user(app, "rh", "hr")
    client = app.test_client()
    login(client, "rh")
    response = client.post("/", data=form_data(RAW))
    html = unescape(response.get_data(as_text=True).replace(NNBSP, " "))
    assert response.status_code == 503
    assert "Le modèle est indisponible pour le moment. Vos saisies sont conservées" in html
    assert 'value="5993"' in field_block(html, "revenu_mensuel")
    assert counts(app) == (0, 0)
    with app.app_context():
        from futurisys.extensions import db

        with db.engine.begin() as connection:
            connection.execute(sa.delete(User))
            connection.execute(sa.text("DELETE FROM login_failures"))
        db.engine.dispose()


def test_protected_attributes_may_be_left_out_and_say_what_they_are_for(app, hr_client, db):
    form = unescape(hr_client.get("/").get_data(as_text=True).replace(NNBSP, " "))
    assert form.count("ne sert qu'au contrôle d'équité du modèle") == 3  # next to genre, statut marital, âge
    protected = ("genre", "statut_marital", "age")
    location = evaluate(hr_client, {k: v for k, v in RAW.items() if k not in protected})
    row = db.session.scalars(sa.select(Input)).one()
    assert (row.genre, row.statut_marital, row.age) == (None, None, None)
    assert all(row.raw_record.get(name) is None for name in protected) and row.prediction.prediction_proba > 0
    page = hr_client.get(location)
    assert page.status_code == 200 and "Risque" in page.get_data(as_text=True).replace(NNBSP, " ")


def test_number_fields_take_french_typing(app, hr_client, db):
    """Text inputs read as the CSV import reads a cell: « 3 500,50 € », « 11 % »; « 41,5 » years is shown back."""
    form = hr_client.get("/").get_data(as_text=True).replace(NNBSP, " ")
    assert re.search(r'<input type="text" id="revenu_mensuel"[^>]*inputmode="decimal"', form)
    assert 'type="number"' not in form
    french = {"revenu_mensuel": "3\u202f500,50\u00a0€", "augementation_salaire_precedente": "11 %", "age": "41"}
    evaluate(hr_client, {**RAW, **french})
    row = db.session.scalars(sa.select(Input)).one()
    assert (row.raw_record["revenu_mensuel"], row.raw_record["augementation_salaire_precedente"]) == (3501, 11)
    refused = hr_client.post("/", data={**form_data(RAW), "age": "41,5"})
    html = unescape(refused.get_data(as_text=True).replace(NNBSP, " "))
    assert refused.status_code == 422 and 'value="41,5"' in html and "Doit être un nombre entier." in html


def test_a_what_if_reopened_leads_back_to_its_evaluation_and_varies_the_named_levers(hr_client):
    location = evaluate(hr_client)
    reopened = hr_client.get(location + "/simulation")
    assert reopened.status_code == 303 and reopened.headers["Location"] == location
    page = hr_client.get(location).get_data(as_text=True).replace(NNBSP, " ")
    whatif = page[page.index('class="whatif__form"') :]
    for lever in ("nombre_participation_pee", "nb_formations_suivies", "annees_depuis_la_derniere_promotion"):
        assert f'id="{lever}"' in whatif, lever
