"""No 5xx on hostile JSON (nesting, huge numbers, lone surrogates), small 422s, no leaks, /metrics token,
bodies cut short (issue 10, points 1, 8 and 9 for the JSON API)."""

import io
import json

import pytest

from tests.payloads import FEATURES, RAW
from tests.support import counts, make_app


def post_raw(client, path, text: str):
    return client.post(path, data=text.encode("utf-8", "surrogatepass"), content_type="application/json")


HOSTILE = {
    "deep array": "[" * 100_000 + "]" * 100_000,
    "deep object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "deep value": json.dumps({**FEATURES})[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}",
    "1 and 400 zeros": json.dumps(FEATURES).replace('"revenu_mensuel": 5993', '"revenu_mensuel": 1' + "0" * 400),
    "1 and 400 zeros in a float field": json.dumps(FEATURES).replace(
        '"satisfaction_globale": 2.0', '"satisfaction_globale": 1' + "0" * 400
    ),
    "1e400": json.dumps(FEATURES).replace('"satisfaction_globale": 2.0', '"satisfaction_globale": 1e400'),
    "-1e400": json.dumps(FEATURES).replace('"age": 41', '"age": -1e400'),
    "NaN": json.dumps(FEATURES).replace('"satisfaction_globale": 2.0', '"satisfaction_globale": NaN'),
    "Infinity": json.dumps(FEATURES).replace('"age": 41', '"age": Infinity'),
    "5,000 digits": json.dumps(FEATURES).replace('"age": 41', '"age": 1' + "0" * 5000),
    "5,000 digits in a string": json.dumps(RAW).replace('"age": 41', '"age": "1' + "0" * 5000 + '"'),
    "lone surrogate value": json.dumps(FEATURES).replace('"genre": "F"', '"genre": "\\ud800"'),
    "lone surrogate raw value": json.dumps(RAW).replace('"poste": "Cadre Commercial"', '"poste": "A\\udfff"'),
    "lone surrogate key": '{"\\ud800": 1}',
    "invalid UTF-8": '{"genre": "\xff"}',
}


@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_hostile_json_gets_a_french_4xx_and_stores_nothing(app, client, path, name):
    text = HOSTILE[name]
    if path.endswith("batch"):
        text = f"[{text}]"
    body = text.encode("utf-8", "surrogatepass") if name != "invalid UTF-8" else text.encode("latin-1")
    response = client.post(path, data=body, content_type="application/json")
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    assert response.is_json and response.get_json()["error"]
    response.get_data().decode("utf-8")  # encodable: no surrogate echoed back
    assert counts(app) == (0, 0)


def test_huge_numbers_are_field_errors_where_json_allows_them(client):
    body = post_raw(client, "/predict", HOSTILE["1 and 400 zeros in a float field"])
    assert body.status_code == 422
    assert body.get_json()["errors"]["satisfaction_globale"] == ["Nombre hors limites."]
    huge_int = post_raw(client, "/predict", HOSTILE["1 and 400 zeros"]).get_json()
    assert huge_int["errors"]["revenu_mensuel"][0].startswith("Doit être compris entre")


def test_a_lone_surrogate_is_a_field_error_never_echoed(client):
    body = post_raw(client, "/predict", HOSTILE["lone surrogate value"]).get_json()
    assert body["errors"]["genre"] == ["Contient un caractère invalide (substitut Unicode isolé)."]


def test_a_batch_422_lists_the_first_100_invalid_records_and_the_total(app, client):
    response = client.post("/predict/batch", json=[{}] * 10_000)
    assert response.status_code == 422
    body = response.get_json()
    assert body["invalid_records"] == 10_000
    assert list(body["errors"]) == [str(index) for index in range(100)]
    assert "10000 enregistrement(s) invalide(s) sur 10000" in body["error"] and "100 premiers" in body["error"]
    assert len(response.get_data()) < 500_000
    few = client.post("/predict/batch", json=[FEATURES, {}]).get_json()
    assert few["invalid_records"] == 1 and "premiers" not in few["error"]
    assert counts(app) == (0, 0)


def test_no_answer_reveals_a_path_or_a_library_message(database_url, tmp_path, bundle_dir):
    missing = tmp_path / "secret-folder" / "model"
    client = make_app(database_url, missing).test_client()
    answers = [
        client.get("/ready"),
        client.get("/model"),
        client.post("/predict", json=FEATURES),
        client.post("/predict/batch", json=[FEATURES]),
        client.get("/metrics"),
    ]
    assert [a.status_code for a in answers] == [503, 503, 503, 503, 200]
    for answer in answers:
        text = answer.get_data(as_text=True)
        assert "secret-folder" not in text and str(tmp_path) not in text and "Traceback" not in text
    assert answers[0].get_json()["reasons"][0].startswith("model not loaded: ")
    assert answers[2].get_json() == {"error": "Modèle indisponible, réessayez plus tard."}
    loaded = make_app(database_url, bundle_dir).test_client()
    for answer in (loaded.get("/model"), loaded.get("/metrics")):
        assert str(bundle_dir) not in answer.get_data(as_text=True)
    assert loaded.get("/model").get_json()["source"] == "local"
    assert 'source="local"' in loaded.get("/metrics").get_data(as_text=True)


def test_metrics_token_is_required_as_a_bearer_token_when_set(database_url, bundle_dir):
    client = make_app(database_url, bundle_dir, METRICS_TOKEN="s3cret-token").test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Bearer" in missing.get_json()["error"]
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic s3cret-token"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and "futurisys_model_loaded" in ok.get_data(as_text=True)
    assert make_app(database_url, bundle_dir).test_client().get("/metrics").status_code == 200


@pytest.mark.parametrize("terminated", [False, True], ids=["werkzeug", "gunicorn"])
@pytest.mark.parametrize("path, payload", [("/predict", FEATURES), ("/predict/batch", [FEATURES])])
def test_a_body_shorter_than_its_content_length_gets_400_and_stores_nothing(app, client, path, payload, terminated):
    """gunicorn marks its input as terminated and hands over what came; werkzeug's server limits the stream."""
    data = json.dumps(payload).encode()
    overrides = {"CONTENT_LENGTH": str(len(data) + 50), "wsgi.input": io.BytesIO(data)}
    if terminated:
        overrides["wsgi.input_terminated"] = True
    response = client.post(path, data=data, content_type="application/json", environ_overrides=overrides)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("Corps de la requête incomplet")
    assert counts(app) == (0, 0)


def test_paths_and_source_lines_are_taken_out_of_reasons():
    from futurisys.api.routes import without_paths

    assert (
        without_paths("no bundle in /srv/app/instance/model (metadata.json missing)")
        == "no bundle in <chemin> (metadata.json missing)"
    )
    assert without_paths("[09:00:00] /workspace/src/learner.cc:123: bad model") == "[09:00:00] <chemin>: bad model"
    assert (
        without_paths("cannot fetch model bundle from hf://owner/name@main: offline")
        == "cannot fetch model bundle from hf://owner/name@main: offline"
    )
