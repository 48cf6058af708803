"""The application factory, its configuration and the model extension."""

import shutil

import pytest

from futurisys import create_app
from futurisys.config import DEV_SECRET_KEY, database_url
from futurisys.registry.loading import EXTENSION_KEY, ModelStore
from tests.support import make_app


def test_production_refuses_the_default_secret_key(bundle_dir, tmp_path):
    base = {"DEPLOYMENT": "production", "MODEL_DIR": str(bundle_dir), "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    for secret in (DEV_SECRET_KEY, "", None):
        with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
            create_app({**base, "SECRET_KEY": secret})
    assert create_app({**base, "SECRET_KEY": "a real secret"}).config["DEPLOYMENT"] == "production"


def test_production_refuses_password_hashing_cheaper_than_the_default(bundle_dir):
    base = {"DEPLOYMENT": "production", "MODEL_DIR": str(bundle_dir), "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    base["SECRET_KEY"] = "a real secret"
    for cheap in ("scrypt:1024:8:1", "scrypt:32768:1:1", "pbkdf2:sha256:1000", "plain", "scrypt:x:8:1"):
        with pytest.raises(RuntimeError, match="PASSWORD_HASH_METHOD"):
            create_app({**base, "PASSWORD_HASH_METHOD": cheap})
    for strong in ("scrypt", "scrypt:65536:8:1", "pbkdf2", "pbkdf2:sha256:1000000"):
        assert create_app({**base, "PASSWORD_HASH_METHOD": strong}).config["PASSWORD_HASH_METHOD"] == strong
    assert create_app(base).config["PASSWORD_HASH_METHOD"] == "scrypt:32768:8:1"  # werkzeug's default cost


def test_default_database_is_sqlite_in_the_instance_folder(bundle_dir):
    app = create_app({"MODEL_DIR": str(bundle_dir), "SQLALCHEMY_DATABASE_URI": None})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{app.instance_path}/futurisys.db"


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u:p@h/db", "postgresql+psycopg2://u:p@h/db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg2://u:p@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        (None, None),
    ],
)
def test_database_urls_are_normalised(given, expected):
    assert database_url(given) == expected


def test_the_model_is_loaded_once_per_app_and_kept_in_app_extensions(app):
    assert not ModelStore.loaded(app)  # nothing loaded until something scores
    state = ModelStore.state(app)
    assert state.predictor is not None and state.error is None
    assert app.extensions[EXTENSION_KEY].state is state and ModelStore.state(app) is state
    with pytest.raises(RuntimeError, match="already registered"):
        ModelStore().init_app(app)


def test_apps_share_an_unchanged_bundle_and_reload_a_changed_one(bundle_dir, tmp_path):
    folder = tmp_path / "bundle"
    shutil.copytree(bundle_dir, folder)
    first, second = (ModelStore.state(make_app("sqlite://", folder)) for _ in range(2))
    assert first.predictor is second.predictor  # one load for the process
    (folder / "metadata.json").write_bytes((folder / "metadata.json").read_bytes())  # rewritten, as by `model train`
    third = ModelStore.state(make_app("sqlite://", folder))
    assert third.predictor is not first.predictor and third.predictor.version == first.predictor.version
    shutil.rmtree(folder)
    gone = ModelStore.state(make_app("sqlite://", folder))
    assert gone.predictor is None and "no model bundle" in gone.error


def test_errors_answer_html_to_browsers_and_json_to_api_clients(client):
    page = client.get("/nowhere", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    api = client.get("/nowhere", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.get_json()["error"]
    assert client.get("/predict").status_code == 405
    refused = client.get("/predict")
    assert refused.is_json and set(refused.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    browser = client.get("/predict", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 405 and browser.mimetype == "text/html"
    assert "reçoit des requêtes POST en JSON" in browser.get_data(as_text=True)


def test_behind_a_proxy_the_client_address_is_the_forwarded_one(bundle_dir):
    from flask import request

    seen = []
    for count in (0, 1):
        app = create_app({"MODEL_DIR": str(bundle_dir), "SQLALCHEMY_DATABASE_URI": "sqlite://", "PROXY_COUNT": count})
        app.add_url_rule("/whoami", "whoami", lambda: seen.append(request.remote_addr) or "")
        app.test_client().get(
            "/whoami", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}
        )
    assert seen == ["10.0.0.1", "203.0.113.7"]
