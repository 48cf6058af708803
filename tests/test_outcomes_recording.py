"""Departures recorded three ways (evaluation page, admin CSV, POST /outcomes), idempotent, all or nothing."""

from __future__ import annotations

import io

import sqlalchemy as sa

from futurisys.domain.formatting import NNBSP  # pages are typeset: compared here with plain spaces
from futurisys.outcomes.models import Departure, DepartureChange
from tests.payloads import RAW
from tests.support import create_key, evaluate, login, make_user, scalar

DEPARTURES = sa.select(sa.func.count()).select_from(Departure)
CHANGES = sa.select(sa.func.count()).select_from(DepartureChange)


def _declare(client, location: str, **data):
    return client.post(f"{location}/depart", data={"date_depart": "2025-03-31", "motif": "demission", **data})


def test_declaring_on_an_evaluation_page_is_for_its_author_and_admins_once(app, client):
    make_user(app, "rh", "hr")
    make_user(app, "autre", "hr")
    make_user(app, "admin", "admin")
    login(client, "rh")
    location = evaluate(client, RAW, reference_salarie="MAT-7")
    page = client.get(location).get_data(as_text=True).replace(NNBSP, " ")
    assert "Déclarer un départ" in page

    assert _declare(client, location).status_code == 303
    again = _declare(client, location, motif="demission")
    assert again.status_code == 303
    assert "déjà enregistré" in client.get(again.headers["Location"]).get_data(as_text=True).replace(NNBSP, " ")
    future = _declare(client, location, date_depart="2999-01-01")
    assert future.status_code == 422 and "Date dans le futur" in future.get_data(as_text=True).replace(NNBSP, " ")
    assert scalar(app, DEPARTURES) == 1

    client.get("/deconnexion")
    login(client, "autre")
    assert _declare(client, location, motif="licenciement").status_code == 404
    client.get("/deconnexion")
    login(client, "admin")
    assert _declare(client, location, motif="licenciement").status_code == 303
    assert scalar(app, DEPARTURES) == 2
    with app.app_context():
        from futurisys.extensions import db

        who = db.session.scalars(sa.select(DepartureChange.username).order_by(DepartureChange.id)).all()
    assert who == ["rh", "admin"]


def _upload(client, content: bytes, name: str = "departs.csv"):
    return client.post(
        "/admin/departs", data={"fichier": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


def test_csv_import_is_all_or_nothing_with_errors_by_line_and_idempotent(app, client):
    make_user(app, "admin", "admin")
    login(client, "admin")
    example = client.get("/admin/departs/modele.csv")
    assert example.status_code == 200 and example.data.startswith("\ufeffreference_salarie;date_depart;motif".encode())
    assert _upload(client, example.data).status_code == 303
    assert scalar(app, DEPARTURES) == 3

    # Excel's encoding, French labels, one line repeated from the example: only the new ones are stored.
    text = "reference_salarie;date_depart;motif\r\nMAT-0042;2025-03-31;demission\r\nMAT-9;01/02/2025;Décès\r\n"
    imported = _upload(client, text.encode("cp1252"))
    assert imported.status_code == 303
    assert "1 départ enregistré, 1 déjà connu" in client.get("/admin/departs").get_data(as_text=True).replace(
        NNBSP, " "
    )
    assert scalar(app, DEPARTURES) == 4

    bad = (
        "reference_salarie;date_depart;motif\n"
        "MAT-10;2025-01-01;demission\n"
        "MAT 11;2025-13-01;rupture conventionnelle\n"
        "MAT-13;;\n\n"
        "MAT-12;2025-01-01;demission;en trop\n"
    )
    refused = _upload(client, bad.encode())
    page = refused.get_data(as_text=True).replace(NNBSP, " ")
    assert refused.status_code == 422
    assert "Aucun départ n'a été enregistré" in page
    assert (
        "Référence invalide" in page
        and "Date illisible" in page
        and "précisez à l" in page
        and "Date de départ manquante" in page
    )
    assert "Plus de valeurs que de colonnes" in page
    assert [line for line in (3, 4, 6) if f"<td>{line}</td>" in page] == [3, 4, 6]
    assert scalar(app, DEPARTURES) == 4

    missing = _upload(client, b"reference_salarie;date\nA;2025-01-01\n")
    assert missing.status_code == 422 and "Colonnes manquantes : date_depart, motif" in missing.get_data(
        as_text=True
    ).replace(NNBSP, " ")


def test_post_outcomes_records_json_with_the_api_rules(app, client, runner):
    body = [
        {"reference_salarie": "MAT-1", "date_depart": "2025-03-31", "motif": "demission"},
        {"reference_salarie": "MAT-2", "date_depart": "31/03/2025", "motif": "Fin de CDD"},
        {"reference_salarie": "MAT-1", "date_depart": "2025-03-31", "motif": "demission"},
    ]
    first = client.post("/outcomes", json=body)
    assert first.status_code == 200 and first.get_json() == {"enregistres": 2, "deja_connus": 1}
    assert client.post("/outcomes", json=body).get_json() == {"enregistres": 0, "deja_connus": 3}

    invalid = client.post("/outcomes", json=[body[0], {"reference_salarie": "", "motif": "x", "nom": "Dupont"}, 3])
    answer = invalid.get_json()
    assert invalid.status_code == 422 and answer["invalid_records"] == 2
    assert set(answer["errors"]["1"]) == {"reference_salarie", "date_depart", "motif", "nom"}
    assert answer["errors"]["2"] == {"_record": ["Un objet JSON est attendu."]}
    assert client.post("/outcomes", data="[", content_type="application/json").status_code == 400
    assert client.post("/outcomes", json={}).status_code == 422
    assert scalar(app, DEPARTURES) == 2

    app.config["API_KEYS_REQUIRED"] = True
    assert client.post("/outcomes", json=body).status_code == 401
    key = create_key(runner, "sirh")
    kept = client.post("/outcomes", json=[{**body[0], "motif": "retraite"}], headers={"X-API-Key": key})
    assert kept.get_json() == {"enregistres": 1, "deja_connus": 0}
    assert scalar(app, sa.select(DepartureChange.api_key_name).where(DepartureChange.kind == "retraite")) == "sirh"
    assert "/outcomes" in client.get("/openapi.json").get_json()["paths"]


def test_admins_correct_and_remove_departures_keeping_who_and_when(app, client):
    client.post("/outcomes", json=[{"reference_salarie": "MAT-1", "date_depart": "2025-03-31", "motif": "demission"}])
    departure_id = scalar(app, sa.select(Departure.id))
    make_user(app, "rh", "hr")
    login(client, "rh")
    assert client.get(f"/admin/departs/{departure_id}").status_code == 403
    client.get("/deconnexion")
    make_user(app, "claire", "admin")
    login(client, "claire")
    fixed = {"reference_salarie": "MAT-1", "date_depart": "2025-04-30", "motif": "licenciement"}
    assert client.post(f"/admin/departs/{departure_id}", data=fixed).status_code == 303
    assert scalar(app, sa.select(Departure.kind)) == "licenciement"
    refused = client.post(f"/admin/departs/{departure_id}/suppression", data={})
    assert refused.status_code == 422
    assert client.post(f"/admin/departs/{departure_id}/suppression", data={"confirmer": "y"}).status_code == 303
    assert scalar(app, DEPARTURES) == 0
    with app.app_context():
        from futurisys.extensions import db

        history = db.session.execute(
            sa.select(DepartureChange.action, DepartureChange.username, DepartureChange.previous).order_by(
                DepartureChange.id
            )
        ).all()
    assert [(action, who) for action, who, _ in history] == [
        ("creation", None),
        ("correction", "claire"),
        ("suppression", "claire"),
    ]
    assert history[1].previous == {"employee_ref": "MAT-1", "departure_date": "2025-03-31", "kind": "demission"}
    assert client.get(f"/admin/departs/{departure_id}").status_code == 404
