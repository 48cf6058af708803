"""Idempotency-Key on /predict and /predict/batch: a retry gets the first answer and stores nothing new; the same
key with another body is a 422; the keys live in the database, shared by every worker (issue 10, point 9)."""

import uuid
from datetime import timedelta

import pytest

from futurisys.api.idempotency import PENDING_EXPIRY, IdempotencyKey
from futurisys.storage.models import utcnow
from tests.payloads import FEATURES, RAW
from tests.support import counts, make_app


@pytest.fixture(autouse=True)
def forget_keys(app):
    """The shared test databases keep no idempotency keys from one test to the next."""
    yield
    from futurisys.extensions import db

    with app.app_context(), db.engine.begin() as connection:
        connection.execute(IdempotencyKey.__table__.delete())


def key() -> str:
    return f"essai-{uuid.uuid4()}"


@pytest.mark.parametrize("path, body", [("/predict?details=true", RAW), ("/predict/batch", [FEATURES, RAW])])
def test_a_retry_gets_the_first_answer_and_stores_nothing(app, client, path, body):
    headers = {"Idempotency-Key": key()}
    first = client.post(path, json=body, headers=headers)
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    stored = counts(app)
    retry = client.post(path, json=body, headers=headers)
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert counts(app) == stored
    assert client.post(path, json=body, headers={"Idempotency-Key": key()}).status_code == 200
    assert counts(app) == tuple(2 * n for n in stored)


def test_the_same_key_with_another_body_is_a_422(app, client):
    headers = {"Idempotency-Key": key()}
    assert client.post("/predict", json=FEATURES, headers=headers).status_code == 200
    other = client.post("/predict", json=RAW, headers=headers)
    assert other.status_code == 422
    body = other.get_json()
    assert "Idempotency-Key" in body["error"]
    assert body["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert client.post("/predict?details=true", json=FEATURES, headers=headers).status_code == 422
    assert client.post("/predict/batch", json=[FEATURES], headers=headers).status_code == 422
    assert counts(app) == (1, 1)


def test_a_refused_request_does_not_use_up_its_key(app, client):
    headers = {"Idempotency-Key": key()}
    assert client.post("/predict", json={**FEATURES, "age": 7}, headers=headers).status_code == 422
    assert client.post("/predict", data=b"{", content_type="application/json", headers=headers).status_code == 400
    assert client.post("/predict", json={**FEATURES, "age": 7}, headers=headers).status_code == 422
    fixed = client.post("/predict", json=FEATURES, headers=headers)
    assert fixed.status_code == 200
    assert counts(app) == (1, 1)


def test_keys_are_shared_by_every_worker(app, database_url, bundle_dir):
    """Two app instances on one database stand for two gunicorn workers."""
    headers = {"Idempotency-Key": key()}
    first = app.test_client().post("/predict", json=FEATURES, headers=headers)
    other_worker = make_app(database_url, bundle_dir).test_client()
    retry = other_worker.post("/predict", json=FEATURES, headers=headers)
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.get_json() == first.get_json()
    assert counts(app) == (1, 1)


def test_a_pending_key_of_an_earlier_version_gets_409_until_it_expires_and_keys_expire_after_24_hours(app, client, db):
    in_use, abandoned, old = key(), key(), key()
    table = IdempotencyKey.__table__
    scope = "@127.0.0.1"  # the test client's address: no API key
    with db.engine.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {"scope": scope, "key": in_use, "fingerprint": "0" * 64, "created_at": utcnow()},
                {
                    "scope": scope,
                    "key": abandoned,
                    "fingerprint": "0" * 64,
                    "created_at": utcnow() - PENDING_EXPIRY - timedelta(seconds=1),
                },
                {
                    "scope": scope,
                    "key": old,
                    "fingerprint": "0" * 64,
                    "status_code": 200,
                    "response_body": "{}",
                    "created_at": utcnow() - timedelta(hours=25),
                },
            ],
        )
    busy = client.post("/predict", json=FEATURES, headers={"Idempotency-Key": in_use})
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "1"
    assert PENDING_EXPIRY <= timedelta(seconds=75)  # GUNICORN_TIMEOUT (60 s) and a margin, not 5 minutes
    for expired_key in (abandoned, old):
        expired = client.post("/predict", json=FEATURES, headers={"Idempotency-Key": expired_key})
        assert expired.status_code == 200 and "Idempotent-Replayed" not in expired.headers
    assert counts(app) == (2, 2)


def test_every_write_gets_a_key_and_a_retry_with_it_stores_nothing_new(app, client):
    first = client.post("/predict?details=true", json=RAW)
    generated = first.headers["Idempotency-Key"]
    assert first.status_code == 200 and len(generated) == 32
    retry = client.post("/predict?details=true", json=RAW, headers={"Idempotency-Key": generated})
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.get_json() == first.get_json()
    batch = client.post("/predict/batch", json=[FEATURES])
    again = client.post(
        "/predict/batch", json=[FEATURES], headers={"Idempotency-Key": batch.headers["Idempotency-Key"]}
    )
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == batch.get_json()
    assert counts(app) == (2, 2)


def test_callers_without_an_api_key_never_share_a_key(app):
    shared = {"Idempotency-Key": key()}
    one = app.test_client().post("/predict", json=FEATURES, headers=shared, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    other = app.test_client().post("/predict", json=RAW, headers=shared, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert one.status_code == other.status_code == 200 and "Idempotent-Replayed" not in other.headers
    assert counts(app) == (2, 2)


def test_keys_are_scoped_by_api_key(app, client, runner):
    from tests.support import create_key

    shared = {"Idempotency-Key": key()}
    alice, bob = create_key(runner, "alice"), create_key(runner, "bob")
    assert client.post("/predict", json=FEATURES, headers={**shared, "X-API-Key": alice}).status_code == 200
    assert client.post("/predict", json=RAW, headers={**shared, "X-API-Key": bob}).status_code == 200
    assert counts(app) == (2, 2)


@pytest.mark.parametrize("value", ["é", "x" * 256, "a b"])
def test_an_invalid_key_is_a_400(app, client, value):
    response = client.post("/predict", json=FEATURES, headers={"Idempotency-Key": value.encode().decode("latin-1")})
    assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["error"]
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("path, body", [("/predict", FEATURES), ("/predict/batch", [FEATURES, RAW])])
def test_a_request_that_loses_the_race_for_its_key_gets_the_winners_answer(app, client, monkeypatch, path, body):
    from futurisys.api import idempotency

    headers = {"Idempotency-Key": key()}
    first = client.post(path, json=body, headers=headers)
    looked_up = idempotency.prepare

    def as_if_both_looked_at_once(build_single=None):
        looked_up(build_single)  # sets the request's key; the stored answer it finds is ignored
        return None

    monkeypatch.setattr(idempotency, "prepare", as_if_both_looked_at_once)
    racing = client.post(path, json=body, headers=headers)
    assert racing.status_code == 200 and racing.headers["Idempotent-Replayed"] == "true"
    assert racing.get_json() == first.get_json()
    assert counts(app) == (len(body) if path.endswith("batch") else 1,) * 2
