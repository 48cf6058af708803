"""API keys: the CLI, hashed storage, and X-API-Key on /predict and /predict/batch."""

import hashlib
import re

import pytest
import sqlalchemy as sa

from futurisys.storage.models import ApiKey, Prediction
from tests.payloads import FEATURES, RAW
from tests.support import API_KEY, create_key, make_app


@pytest.fixture
def strict(app, database_url, bundle_dir):
    """A client of an app that requires keys (same database as `app`, emptied by its fixture)."""
    return make_app(database_url, bundle_dir, API_KEYS_REQUIRED=True).test_client()


def test_create_prints_the_key_once_and_stores_only_its_hash(runner, db):
    result = runner.invoke(args=["apikeys", "create", "paie"])
    assert result.exit_code == 0
    keys = API_KEY.findall(result.output)
    assert len(keys) == 1 and "not be shown again" in result.output
    stored = db.session.execute(sa.select(ApiKey)).scalar_one()
    assert stored.name == "paie" and stored.revoked_at is None
    assert stored.key_hash == hashlib.sha256(keys[0].encode()).hexdigest()
    assert stored.prefix == keys[0][:8] and keys[0] not in (stored.key_hash, stored.prefix)


def test_list_and_revoke(runner, db):
    key = create_key(runner, "paie")
    create_key(runner, "sirh")
    listing = runner.invoke(args=["apikeys", "list"]).output
    assert re.search(r"^paie\s+fx_\S{5}…\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+-$", listing, re.MULTILINE), listing
    assert "sirh" in listing and key not in listing
    revoked = runner.invoke(args=["apikeys", "revoke", "paie"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    listing = runner.invoke(args=["apikeys", "list"]).output
    assert re.search(r"^paie\s+fx_\S{5}…\s+\S+ \S+\s+\d{4}-\d\d-\d\d \d\d:\d\d$", listing, re.MULTILINE), listing
    assert re.search(r"^sirh\s.*\s-$", listing, re.MULTILINE)


def test_cli_errors(runner, db):
    create_key(runner, "paie")
    duplicate = runner.invoke(args=["apikeys", "create", "paie"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    assert runner.invoke(args=["apikeys", "create", "x" * 65]).exit_code != 0
    unknown = runner.invoke(args=["apikeys", "revoke", "inconnu"])
    assert unknown.exit_code != 0 and "no API key named" in unknown.output
    assert runner.invoke(args=["apikeys", "list"]).output.count("paie") == 1


@pytest.mark.parametrize("path, body", [("/predict", FEATURES), ("/predict/batch", [FEATURES, RAW])])
def test_required_keys_refuse_missing_invalid_and_revoked(strict, runner, db, path, body):
    key = create_key(runner, "paie")
    bad = {
        "missing": {},
        "empty": {"X-API-Key": ""},
        "unknown": {"X-API-Key": "fx_" + "A" * 43},
        "wrong prefix": {"X-API-Key": key[3:]},
        "truncated": {"X-API-Key": key[:-1]},
    }
    for case, headers in bad.items():
        response = strict.post(path, json=body, headers=headers)
        assert response.status_code == 401, case
        assert response.headers["WWW-Authenticate"] == "ApiKey"
        assert "Clé d'API" in response.get_json()["error"]
    assert strict.post(path, json=body, headers={"X-API-Key": key}).status_code == 200
    runner.invoke(args=["apikeys", "revoke", "paie"])
    revoked = strict.post(path, json=body, headers={"X-API-Key": key})
    assert revoked.status_code == 401 and "révoquée" in revoked.get_json()["error"]
    stored = db.session.scalar(sa.select(sa.func.count()).select_from(Prediction))
    assert stored == (len(body) if path.endswith("batch") else 1)  # only the request with a valid key


def test_the_key_name_is_stored_with_each_prediction(strict, runner, db):
    key = create_key(runner, "paie")
    assert strict.post("/predict", json=FEATURES, headers={"X-API-Key": key}).status_code == 200
    assert strict.post("/predict/batch", json=[FEATURES, RAW], headers={"X-API-Key": key}).status_code == 200
    names = db.session.execute(sa.select(Prediction.api_key_name)).scalars().all()
    assert names == ["paie"] * 3


def test_other_endpoints_stay_open_when_keys_are_required(strict):
    for path in ("/health", "/ready", "/model"):
        assert strict.get(path).status_code == 200, path


def test_keys_are_optional_by_default(client, runner, db):
    assert client.post("/predict", json=FEATURES).status_code == 200
    assert client.post("/predict/batch", json=[RAW]).status_code == 200
    key = create_key(runner, "sirh")
    assert client.post("/predict", json=FEATURES, headers={"X-API-Key": key}).status_code == 200
    # A key that is sent must be valid even when keys are optional: a revoked key is noticed, not ignored.
    assert client.post("/predict", json=FEATURES, headers={"X-API-Key": key + "x"}).status_code == 401
    names = db.session.execute(sa.select(Prediction.api_key_name).order_by(Prediction.id)).scalars().all()
    assert names == [None, None, "sirh"]
