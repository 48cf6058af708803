"""Helpers shared by the admin tests (no tests here): accounts, logging in, storing predictions."""

from __future__ import annotations

import time

import sqlalchemy as sa

from futurisys.auth.accounts import create_user
from futurisys.extensions import db, model_store
from futurisys.models import Input, Prediction
from futurisys.predictions import predict_and_store

PASSWORD = "un-mot-de-passe-solide"


def make_user(app, username: str = "admin", role: str = "admin", password: str = PASSWORD) -> None:
    """Create an account through the same code as the CLI."""
    with app.app_context():
        create_user(username, password, role)


def login(client, username: str = "admin", password: str = PASSWORD, csrf_token: str | None = None, **kwargs):
    """POST the login form (CSRF is off in the `client` fixture's app; pass the page's token where it is on)."""
    data = {"username": username, "password": password}
    if csrf_token:
        data["csrf_token"] = csrf_token
    return client.post("/connexion", data=data, **kwargs)


def logged_in(app, client, role: str = "admin"):
    """`client` logged in as a fresh account of `role`."""
    make_user(app, role, role)
    assert login(client, role).status_code == 302
    return client


def store(app, features: dict, raw: dict | None = None, source: str = "api", request_id: str = "req") -> int:
    """Score and store one record as the API does; return the prediction id."""
    with app.test_request_context():
        stored = predict_and_store(
            model_store.predictor, features, raw, source=source, request_id=request_id, started=time.perf_counter()
        )
    return stored.prediction_id


def restamp(app, prediction_id: int, **values) -> None:
    """Move a stored prediction (and its input) in time or to another model version, for filter tests."""
    with app.app_context():
        prediction = db.session.get(Prediction, prediction_id)
        if "created_at" in values:
            db.session.execute(
                sa.update(Input).where(Input.id == prediction.input_id).values(created_at=values["created_at"])
            )
        db.session.execute(sa.update(Prediction).where(Prediction.id == prediction_id).values(**values))
        db.session.commit()


def counts(app) -> tuple[int, int]:
    """(inputs, predictions) row counts."""
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Input)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Prediction)),
        )


def scalar(app, query):
    """One value read in an app context of its own.

    Tests that switch between clients (accounts, anonymous visitors) must not hold the `db` fixture's app
    context: Flask would reuse it for every request, and Flask-Login's user cached in `g` would leak across.
    """
    with app.app_context():
        return db.session.scalar(query)
