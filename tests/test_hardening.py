"""Inputs that broke the service in the second hardening pass (issue 20, point 4): NUL bytes in filters, a
read-only database, and gunicorn's shared control socket."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.payloads import FEATURES
from tests.support import PG_ADMIN_URL, logged_in

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("hr", "/evaluations?reference=%00"),
        ("hr", "/evaluations?reference=A%00B&page=1"),
        ("admin", "/admin/?employee_ref=%00"),
        ("admin", "/admin/export.csv?employee_ref=E-%00"),
        ("admin", "/admin/?page=%00"),
    ],
)
def test_a_nul_byte_in_a_filter_is_a_400(app, client, role, url):
    logged_in(app, client, role)
    response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "Caractère nul" in response.get_data(as_text=True)


def test_a_nul_byte_in_a_form_field_is_a_400(app, client):
    logged_in(app, client, "hr")
    response = client.post("/", data={"reference_salarie": "E\x00"}, headers={"Accept": "text/html"})
    assert response.status_code == 400


@pytest.fixture
def read_only(app, db):
    """The test database turned read-only (as a standby or a demoted primary), for one test."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a read-only server is a PostgreSQL scenario")
    name = db.engine.url.database
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    def switch(value: str) -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}'))
        for engine in db.engines.values():
            engine.dispose()  # the setting applies to new connections

    switch("on")
    try:
        yield
    finally:
        switch("off")
        admin.dispose()


def test_a_read_only_database_answers_503_with_a_french_reason_and_is_not_ready(app, client, read_only):
    for path, body in (("/predict", FEATURES), ("/predict/batch", [FEATURES])):
        refused = client.post(path, json=body)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert "lecture seule" in refused.get_json()["error"]
    ready = client.get("/ready")
    assert ready.status_code == 503 and "database read-only" in ready.get_json()["reasons"]


def test_gunicorn_has_no_shared_control_socket_unless_one_is_named(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "1")  # no metrics folder set up by loading the config
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["control_socket_disable"] is True
    monkeypatch.setenv("GUNICORN_CONTROL_SOCKET", "/run/futurisys-8000.ctl")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["control_socket_disable"] is False and settings["control_socket"] == "/run/futurisys-8000.ctl"


def test_gunicorn_workers_hand_the_gil_over_sooner_than_pythons_default(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setenv("GUNICORN_SWITCH_INTERVAL_MS", "0.25")
    before = sys.getswitchinterval()
    try:
        runpy.run_path(str(ROOT / "gunicorn.conf.py"))["post_worker_init"](None)
        assert sys.getswitchinterval() == pytest.approx(0.00025)
    finally:
        sys.setswitchinterval(before)
