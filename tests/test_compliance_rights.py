"""An employee's file holds every row about them; erasure leaves none; legal hold blocks it; an objection refuses
new evaluations through the form, what-ifs, uploads and the API, storing nothing."""

import html
import io
import math
from datetime import timedelta

import pytest
import sqlalchemy as sa

from futurisys.compliance import employees, journal
from futurisys.domain.formatting import NNBSP  # pages are typeset: compared here with plain spaces
from futurisys.extensions import db
from futurisys.jobs.lots import run_lot
from futurisys.storage.models import utcnow
from tests.payloads import FEATURES, RAW, french_csv, french_row
from tests.support import counts, evaluate, form_data, logged_in, scalar

REF = "MAT-0077"
OTHER = "MAT-0078"


def upload(client, *references):
    """Upload a lot of these employees, run it in-process as the worker would; the lot's page."""
    content = french_csv([french_row(1 + i, ref) for i, ref in enumerate(references)])
    sent = client.post("/lot", data={"fichier": (io.BytesIO(content), "lot.csv")}, content_type="multipart/form-data")
    assert sent.status_code == 303
    with client.application.app_context():
        run_lot(sent.headers["Location"].rsplit("/", 1)[1])
    return client.get(sent.headers["Location"])


def seed(app, client) -> str:
    """As an admin: a form evaluation, its what-if, an upload line, a decision, a departure; returns the page path."""
    logged_in(app, client)
    path = evaluate(client, reference_salarie=REF)
    whatif = client.post(f"{path}/simulation", data=form_data({**RAW, "heure_supplementaires": False}))
    assert whatif.status_code == 303
    assert upload(client, REF, OTHER).status_code == 200
    decided = client.post(
        f"{path}/decision", data={"action": "entretien", "avis": "ne_suit_pas", "commentaire": "Échange prévu."}
    )
    assert decided.status_code == 303
    declared = client.post(f"{path}/depart", data={"date_depart": "2025-03-31", "motif": "demission"})
    assert declared.status_code == 303
    return path


def all_rows_text(app) -> dict[str, str]:
    """Every table of the schema, as text, to look for a reference anywhere."""
    with app.app_context():
        return {
            table.name: str(db.session.execute(sa.select(table)).all())
            for table in db.metadata.sorted_tables
            if table.name != "employees_dataset"
        }


def test_every_table_with_an_employee_reference_is_registered(app):
    with_ref = {t.name for t in db.metadata.sorted_tables if "employee_ref" in t.c}
    assert with_ref <= set(employees.REGISTRY)


def test_the_file_holds_every_row_of_the_employee(app, client):
    path = seed(app, client)
    client.get(path)  # a view, for the journal part of the file
    tables = all_rows_text(app)
    assert REF in tables["inputs"]
    response = client.post("/admin/conformite/salarie/dossier.json", data={"reference": REF})
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    file = response.get_json()
    with app.app_context():
        ids = set(db.session.scalars(sa.text(f"SELECT id FROM inputs WHERE employee_ref = '{REF}'")))
        predictions = set(
            db.session.scalars(sa.text(f"SELECT id FROM predictions WHERE input_id IN ({','.join(map(str, ids))})"))
        )
        decisions = set(db.session.scalars(sa.text("SELECT id FROM evaluation_decisions")))
        departures = set(db.session.scalars(sa.text(f"SELECT id FROM departures WHERE employee_ref = '{REF}'")))
    assert len(ids) == 3  # form, what-if, upload line (the other line is another employee's)
    assert {row["id"] for row in file["tables"]["inputs"]} == ids
    assert {row["id"] for row in file["tables"]["predictions"]} == predictions
    assert {row["id"] for row in file["tables"]["evaluation_decisions"]} == decisions
    assert len(departures) == 1 and {row["id"] for row in file["tables"]["departures"]} == departures
    assert [row["action"] for row in file["tables"]["departure_changes"]] == ["creation"]
    assert {e["origine"] for e in file["evaluations"]} == {"form", "whatif", "lot"}
    for evaluation in file["evaluations"]:
        prediction = evaluation["prediction"]
        assert prediction["version_modele"] and prediction["seuil"] and prediction["niveau"]
        total = prediction["contributions"]["base"] + sum(prediction["contributions"]["variables"].values())
        assert 1 / (1 + math.exp(-total)) == pytest.approx(prediction["probabilite"], abs=1e-4)
        assert evaluation["dossier_rh_saisi"]
    [decision] = [d for e in file["evaluations"] for d in e["decisions"]]
    assert decision["action_libelle"] == "Entretien" and decision["follows_model"] is False
    assert {"Consultation d'une évaluation", "Ligne d'un lot", "Décision RH"} <= {
        c["action"] for c in file["consultations"]
    }
    logic = file["logique_du_traitement"]
    assert logic["disponible"] and "Genre" in logic["variables_exclues"] and logic["mesures"] and logic["equite"]
    assert OTHER not in str(file)
    page = (
        client.post("/admin/conformite/salarie/dossier.html", data={"reference": REF})
        .get_data(as_text=True)
        .replace(NNBSP, " ")
    )
    assert f"Dossier du salarié {REF}" in page and "Logique du traitement" in page and "Entretien" in page


def test_erasure_leaves_no_row_with_the_reference(app, client):
    seed(app, client)
    response = client.post("/admin/conformite/salarie/effacement", data={"reference": REF, "confirm": "y"})
    assert response.status_code == 303
    assert not [name for name, text in all_rows_text(app).items() if REF in text]
    assert OTHER in all_rows_text(app)["inputs"]  # the other employee's line stays
    with app.test_request_context():
        tombstone = db.session.scalar(
            sa.select(journal.JournalEntry).where(journal.JournalEntry.action == "effacement")
        )
        assert tombstone.employee_key == journal.pseudonym(REF)
        assert journal.verify() == []
    unconfirmed = client.post("/admin/conformite/salarie/effacement", data={"reference": OTHER})
    assert unconfirmed.status_code == 422 and "Cochez la case" in unconfirmed.get_data(as_text=True).replace(NNBSP, " ")


def references_in(app, table: str) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(sa.text(f"SELECT employee_ref FROM {table} WHERE employee_ref IS NOT NULL")))


def test_rectification_moves_every_row_to_the_right_reference_and_is_journaled(app, client):
    seed(app, client)
    rows_before = {table: references_in(app, table).count(REF) for table in ("inputs", "departures")}
    rectified = "MAT-0099"
    response = client.post(
        "/admin/conformite/salarie/rectification", data={"reference": REF, "new_reference": rectified, "confirm": "y"}
    )
    assert response.status_code == 303
    assert REF not in references_in(app, "inputs") + references_in(app, "departures")
    assert {table: references_in(app, table).count(rectified) for table in rows_before} == rows_before
    assert OTHER in references_in(app, "inputs")  # the other employee's line stays theirs
    with app.test_request_context():
        entries = db.session.scalars(
            sa.select(journal.JournalEntry).where(journal.JournalEntry.action == "rectification")
        ).all()
        assert {entry.employee_key for entry in entries} == {journal.pseudonym(REF), journal.pseudonym(rectified)}
        assert journal.verify() == []
    file = client.post("/admin/conformite/salarie/dossier.json", data={"reference": rectified}).get_data(as_text=True)
    assert "Échange prévu." in file  # the HR decision followed its evaluation to the right employee


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"new_reference": "MAT-0099"}, "Cochez la case pour confirmer la rectification."),
        ({"new_reference": REF, "confirm": "y"}, "rien à rectifier"),
        ({"new_reference": "pas une référence !", "confirm": "y"}, "référence"),
    ],
)
def test_a_rectification_with_errors_shows_them_and_moves_nothing(app, client, data, message):
    seed(app, client)
    before = references_in(app, "inputs")
    response = client.post("/admin/conformite/salarie/rectification", data={"reference": REF, **data})
    assert response.status_code == 422 and message in response.get_data(as_text=True).replace(NNBSP, " ")
    assert references_in(app, "inputs") == before


def test_a_legal_hold_freezes_the_reference(app, client):
    seed(app, client)
    client.post("/admin/conformite/salarie/drapeaux", data={"reference": REF, "legal_hold": "y"})
    response = client.post(
        "/admin/conformite/salarie/rectification", data={"reference": REF, "new_reference": "MAT-0099", "confirm": "y"}
    )
    assert response.status_code == 409
    assert "MAT-0099" not in references_in(app, "inputs")


def test_rectifying_onto_an_employee_with_the_same_departure_is_refused(app, client):
    seed(app, client)
    other_path = evaluate(client, reference_salarie=OTHER)
    assert (
        client.post(f"{other_path}/depart", data={"date_depart": "2025-03-31", "motif": "demission"}).status_code == 303
    )
    response = client.post(
        "/admin/conformite/salarie/rectification", data={"reference": REF, "new_reference": OTHER, "confirm": "y"}
    )
    assert response.status_code == 422 and "même date et de même motif" in response.get_data(as_text=True)
    assert REF in references_in(app, "inputs")


def restamp_all(app, hours: int) -> None:
    with app.app_context(), db.engine.begin() as connection:
        for table in ("inputs", "predictions"):
            connection.execute(sa.text(f"UPDATE {table} SET created_at = :t"), {"t": utcnow() - timedelta(hours=hours)})


def test_a_legal_hold_blocks_erasure_deletion_and_purges(app, client, runner):
    seed(app, client)
    before = counts(app)
    assert (
        client.post("/admin/conformite/salarie/drapeaux", data={"reference": REF, "legal_hold": "y"}).status_code == 200
    )
    refused = client.post("/admin/conformite/salarie/effacement", data={"reference": REF, "confirm": "y"})
    assert refused.status_code == 409 and "gel juridique" in refused.get_data(as_text=True).replace(NNBSP, " ")
    assert counts(app) == before
    prediction_id = scalar(
        app,
        sa.text(f"SELECT max(p.id) FROM predictions p JOIN inputs i ON i.id = p.input_id WHERE employee_ref = '{REF}'"),
    )
    held_delete = client.post(f"/admin/predictions/{prediction_id}/suppression", data={"confirm": "y"})
    assert held_delete.status_code == 409
    purge = runner.invoke(args=["predictions", "purge", "--older-than", "1h"])
    assert purge.exit_code == 0
    restamp_all(app, hours=2)
    assert "1 inputs" in runner.invoke(args=["predictions", "purge", "--older-than", "1h"]).output  # OTHER's line
    assert counts(app) == (before[0] - 1, before[1] - 1)
    client.post("/admin/conformite/salarie/drapeaux", data={"reference": REF})  # lifted
    assert (
        client.post("/admin/conformite/salarie/effacement", data={"reference": REF, "confirm": "y"}).status_code == 303
    )


def test_an_objection_refuses_every_entry_point_and_stores_nothing(app, client):
    path = seed(app, client)
    assert (
        client.post("/admin/conformite/salarie/drapeaux", data={"reference": REF, "objection": "y"}).status_code == 200
    )
    before = counts(app)
    attempts = {
        "form": client.post("/", data={**form_data(RAW), "reference_salarie": REF}),
        "whatif": client.post(f"{path}/simulation", data=form_data(RAW)),
        "api": client.post("/predict", json={**FEATURES, "reference_salarie": REF}),
        "api batch": client.post("/predict/batch", json=[FEATURES, {**FEATURES, "reference_salarie": REF}]),
    }
    for name, response in attempts.items():
        assert response.status_code == 409, name
        assert f"Le salarié {REF} s'est opposé" in html.unescape(response.get_data(as_text=True).replace(NNBSP, " ")), (
            name
        )
    assert attempts["api"].get_json()["error"].endswith("rien n'a été enregistré.")
    lot = html.unescape(upload(client, OTHER, REF).get_data(as_text=True).replace(NNBSP, " "))
    assert "Échoué" in lot and f"Le salarié {REF} s'est opposé" in lot  # refused by the worker, nothing stored
    assert counts(app) == before
    assert client.post("/predict", json={**FEATURES, "reference_salarie": OTHER}).status_code == 200
    # The objection outlives an erasure: it is kept under the reference's pseudonym only.
    client.post("/admin/conformite/salarie/effacement", data={"reference": REF, "confirm": "y"})
    assert client.post("/", data={**form_data(RAW), "reference_salarie": REF}).status_code == 409
    assert scalar(app, sa.text("SELECT count(*) FROM employee_flags WHERE objection")) == 1
