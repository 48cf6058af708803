"""Clients of the original API keep working: no Content-Type, GET / for probes, JSON errors with Allow, trailing
slashes, extra keys, `detail` in 422s, empty X-API-Key, chunked bodies over the limit (issue 11)."""

import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from tests.payloads import FEATURES, RAW
from tests.support import counts, login, make_app, make_user


def test_a_body_without_content_type_is_read_as_json(app, client):
    response = client.post("/predict", data=json.dumps(FEATURES).encode())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["Prediction"] == "Part"
    batch = client.post("/predict/batch", data=json.dumps([FEATURES, RAW]).encode())
    assert batch.status_code == 200 and len(batch.get_json()) == 2
    assert counts(app) == (3, 3)


def test_requests_data_without_content_type_over_http(live_server):
    response = requests.post(f"{live_server}/predict", data=json.dumps(FEATURES), timeout=30)
    assert "Content-Type" not in response.request.headers
    assert response.status_code == 200 and response.json()["Prediction"] == "Part"


def test_explicit_non_json_types_stay_415_and_unparsable_bodies_400(app, client):
    assert client.post("/predict", data=json.dumps(FEATURES), content_type="text/plain").status_code == 415
    response = client.post("/predict", data=b"age=41")
    assert response.status_code == 400 and response.get_json()["error"] == "Corps JSON mal formé."
    assert counts(app) == (0, 0)


def test_home_answers_the_original_status_to_json_clients_and_the_form_to_browsers(app, client):
    probe = client.get("/", headers={"Accept": "application/json"})  # anonymous, as uptime probes are
    assert probe.status_code == 200 and probe.get_json() == {"status": "API OK"}
    assert "Accept" in probe.headers["Vary"]
    anonymous = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/connexion")
    make_user(app, "rh", "hr")
    login(client, "rh")
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.mimetype == "text/html" and "Accept" in page.headers["Vary"]
    assert client.get("/", headers={"Accept": "*/*"}).mimetype == "text/html"


@pytest.mark.parametrize(
    "method, path, status, allow",
    [
        ("TRACE", "/health", 405, {"GET", "HEAD", "OPTIONS"}),
        ("GET", "/predict", 405, {"POST", "OPTIONS"}),
        ("DELETE", "/predict/batch", 405, {"POST", "OPTIONS"}),
        ("GET", "/predict/nothing", 404, None),
    ],
)
def test_api_errors_are_french_json_and_405_carries_allow(client, method, path, status, allow):
    response = client.open(path, method=method)
    assert response.status_code == status and response.is_json
    message = response.get_json()["error"]
    assert message in ("Méthode non autorisée pour cette adresse.", "Adresse introuvable.")
    if allow:
        assert set(response.headers["Allow"].split(", ")) == allow


def test_unknown_paths_asked_for_json_get_json_and_browsers_get_french_pages(client):
    api = client.get("/nulle-part", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.get_json() == {"error": "Adresse introuvable."}
    page = client.get("/nulle-part", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Adresse introuvable." in page.get_data(as_text=True)
    wrong_method = client.open("/health", method="TRACE", headers={"Accept": "text/html"})
    assert wrong_method.status_code == 405 and "Allow" in wrong_method.headers


def test_413_is_french_json_for_api_clients_and_html_for_browsers(app, database_url, bundle_dir):
    client = make_app(database_url, bundle_dir, MAX_CONTENT_LENGTH=1024).test_client()
    api = client.post("/predict", json={**FEATURES, "padding": "x" * 2000})
    assert api.status_code == 413 and api.get_json() == {"error": "Corps de la requête trop volumineux."}
    make_user(app, "rh", "hr")
    login(client, "rh")
    page = client.post("/", data={"age": "y" * 2000}, headers={"Accept": "text/html"})
    assert page.status_code == 413 and page.mimetype == "text/html"


@pytest.mark.parametrize("path, body", [("/predict/", FEATURES), ("/predict/batch/", [FEATURES])])
def test_trailing_slashes_behave_as_without(app, client, path, body):
    response = client.post(path, json=body)
    assert response.status_code == 200, response.get_json()
    assert counts(app) == (1, 1)


def test_all_30_feature_keys_make_the_feature_shape_whatever_the_extra_keys(client, db):
    body = {**FEATURES, "annee_experience_totale": 8, "unknown": "ignored"}
    response = client.post("/predict?details=true", json=body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["shape"] == "features"
    assert client.post("/predict?details=true", json=RAW).get_json()["shape"] == "raw"


def test_422_carries_detail_in_the_original_frameworks_layout(client):
    body = client.post("/predict", json={**FEATURES, "age": 200, "genre": 3}).get_json()
    assert body["errors"]["age"] == ["Doit être compris entre 16 et 75."]
    assert {"loc": ["body", "age"], "msg": "Doit être compris entre 16 et 75.", "type": "value_error"} in body["detail"]
    assert {tuple(item["loc"]) for item in body["detail"]} == {("body", "age"), ("body", "genre")}
    batch = client.post("/predict/batch", json=[FEATURES, {**FEATURES, "age": 7}, 5]).get_json()
    assert {"loc": ["body", 1, "age"], "msg": "Doit être compris entre 16 et 75.", "type": "value_error"} in batch[
        "detail"
    ]
    assert {"loc": ["body", 2], "msg": "Un objet JSON est attendu.", "type": "value_error"} in batch["detail"]
    assert client.post("/predict", json=[1]).get_json()["detail"] == [
        {"loc": ["body"], "msg": "Un objet JSON est attendu.", "type": "value_error"}
    ]


def test_an_empty_api_key_counts_as_absent(client, database_url, bundle_dir):
    assert client.post("/predict", json=FEATURES, headers={"X-API-Key": ""}).status_code == 200
    assert client.post("/predict", json=FEATURES, headers={"X-API-Key": "  "}).status_code == 200
    strict = make_app(database_url, bundle_dir, API_KEYS_REQUIRED=True).test_client()
    response = strict.post("/predict", json=FEATURES, headers={"X-API-Key": ""})
    assert response.status_code == 401 and "manquante" in response.get_json()["error"]


def test_a_chunked_body_over_the_limit_gets_413(app, database_url, bundle_dir):
    """As gunicorn passes a chunked body: no Content-Length, the stream marked as terminated."""
    import io

    client = make_app(database_url, bundle_dir, MAX_CONTENT_LENGTH=4096).test_client()
    big = json.dumps([FEATURES] * 10).encode()
    response = client.post(
        "/predict/batch",
        input_stream=io.BytesIO(big),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413 and response.is_json
    small = json.dumps([FEATURES]).encode()
    response = client.post(
        "/predict/batch",
        input_stream=io.BytesIO(small),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 200
    assert counts(app) == (1, 1)


def test_a_chunked_body_over_the_limit_gets_413_over_http(live_server, live_app):
    live_app.config["MAX_CONTENT_LENGTH"] = 4096
    chunks = (json.dumps([FEATURES] * 10)[i : i + 1000].encode() for i in range(0, 20_000, 1000))
    response = requests.post(
        f"{live_server}/predict/batch",
        data=(c for c in chunks if c),
        timeout=30,
        headers={"Content-Type": "application/json"},
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 413 and response.json()["error"] == "Corps de la requête trop volumineux."


def test_a_body_shorter_than_its_content_length_is_refused_over_http(live_server, live_app):
    body = json.dumps(FEATURES).encode()
    address = urlsplit(live_server)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(
            b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body) + 100).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert "incomplet" in answer.decode("utf-8")
    assert counts(live_app) == (0, 0)
