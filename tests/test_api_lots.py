"""POST /lots for integrators: 202 with a Location, the status to poll, the scored file; errors in JSON; key rules."""

import csv
import io

import pytest

from futurisys.jobs.lots import run_lot
from tests.payloads import IDS, raw_csv
from tests.support import create_key, make_app


def send(client, content: bytes, **headers):
    return client.post("/lots?nom=paie.csv", data=content, headers={"Content-Type": "text/csv", **headers})


def run(app, response) -> str:
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["id"]
    assert response.headers["Location"] == f"/api/lots/{job_id}"
    with app.app_context():
        run_lot(job_id)
    return job_id


def test_a_lot_from_upload_to_scored_file(app, client):
    response = send(client, raw_csv())
    assert response.get_json()["statut"] == "en_attente"
    location = response.headers["Location"]
    assert client.get(location).get_json()["termine"] is False
    run(app, response)
    status = client.get(location).get_json()
    assert status["statut"] == "termine" and status["lignes_evaluees"] == len(IDS)
    assert sum(status["bandes"].values()) == len(IDS)
    scored = client.get(status["resultat"])
    assert scored.status_code == 200 and scored.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(scored.get_data().decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == len(IDS) + 1 and rows[0][-3:] == [
        "risque_depart_pourcent",
        "niveau_de_risque",
        "facteur_principal",
    ]


def test_a_multipart_upload_as_the_generated_clients_send_it(app, client):
    data = {"fichier": (io.BytesIO(raw_csv()), "équipe.csv")}
    job_id = run(app, client.post("/lots", data=data, content_type="multipart/form-data"))
    assert client.get(f"/api/lots/{job_id}").get_json()["lignes_evaluees"] == len(IDS)
    missing = client.post("/lots", data={"autre": "x"}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "fichier" in missing.get_json()["errors"]


def test_a_refused_file_reports_its_lines_and_stores_nothing(app, client):
    response = send(client, raw_csv().replace(b";41;", b";quarante;", 1))
    run(app, response)
    status = client.get(response.headers["Location"]).get_json()
    assert status["statut"] == "echoue" and status["erreurs"][0]["line"] == 2
    assert client.get(f"{response.headers['Location']}/resultat.csv").status_code == 404


@pytest.mark.parametrize(
    "content, content_type, status",
    [(b"x", "application/json", 415), (b"", "text/csv", 422)],
)
def test_bad_requests_get_a_json_error(client, content, content_type, status):
    response = client.post("/lots", data=content, headers={"Content-Type": content_type})
    assert response.status_code == status and response.get_json()["error"]


def test_keys_are_required_when_set_and_a_key_sees_only_its_lots(app, runner, database_url, bundle_dir):
    strict_app = make_app(database_url, bundle_dir, API_KEYS_REQUIRED=True)
    strict = strict_app.test_client()
    assert send(strict, raw_csv()).status_code == 401
    paie, sirh = create_key(runner, "paie"), create_key(runner, "sirh")
    response = send(strict, raw_csv(), **{"X-API-Key": paie})
    job_id = run(strict_app, response)
    assert strict.get(f"/api/lots/{job_id}", headers={"X-API-Key": paie}).status_code == 200
    assert strict.get(f"/api/lots/{job_id}", headers={"X-API-Key": sirh}).status_code == 404
    assert strict.get(f"/api/lots/{job_id}/resultat.csv", headers={"X-API-Key": sirh}).status_code == 404
    assert strict.get(f"/api/lots/{job_id}").status_code == 401
