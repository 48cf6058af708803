"""No personal value reaches a log line: the error paths (database error, 422, 500 safety net) are driven with a
record of recognisable values and every captured log line is searched for them (issue 20, point 3)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

import futurisys.api.routes
from tests.payloads import RAW

ROOT = Path(__file__).resolve().parent.parent
#: Values no log line has any other reason to hold.
SALARY, MARITAL, DOMAIN = 18437, "Célibataire", "Infra & Cloud"
SECRET = "valeur-personnelle-7Q"
RECORD = {**RAW, "revenu_mensuel": SALARY, "statut_marital": MARITAL, "domaine_etude": DOMAIN}


@pytest.fixture
def logs(caplog, monkeypatch):
    """Every log record of the app, at every level (loggers a logging config disabled are enabled again)."""
    for name in ("futurisys", "futurisys.errors", "futurisys.api.idempotency", "sqlalchemy", "werkzeug"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_personal_value(caplog) -> None:
    text = caplog.text + "".join(record.getMessage() for record in caplog.records)
    for value in (str(SALARY), MARITAL, DOMAIN, SECRET):
        assert value not in text, f"{value!r} is in the logs:\n{text}"


def test_every_engine_hides_the_statements_parameters(app):
    from futurisys.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            with pytest.raises(DBAPIError) as failed, engine.connect() as connection:
                connection.execute(sa.text("SELECT :value FROM no_such_table"), {"value": SECRET})
            # (PostgreSQL's own message may still quote the statement: errors.py never logs messages.)
            assert engine.hide_parameters and "[SQL parameters hidden" in str(failed.value)


def test_a_database_error_logs_no_value(app, client, logs):
    from futurisys.extensions import db

    def break_the_write(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith(("WITH", "INSERT INTO inputs")):
            # A real error of the driver, with the record's values as parameters: a missing table (PostgreSQL; on
            # SQLite that is an OperationalError, a 503), or more parameters than the statement takes (SQLite).
            statement = "SELECT 1" if conn.dialect.name == "sqlite" else statement.replace("inputs", "inputs_x", 1)
        return statement, parameters

    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        event.listen(engine, "before_cursor_execute", break_the_write, retval=True)
    try:
        response = client.post("/predict", json=RECORD)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", break_the_write)
    assert response.status_code == 500
    assert "database error on POST /predict" in logs.text  # the error was logged…
    assert_no_personal_value(logs)  # …without the record


def test_a_422_logs_no_value(client, logs):
    response = client.post("/predict", json={**RECORD, "genre": SECRET})
    assert response.status_code == 422
    assert_no_personal_value(logs)


def test_the_500_safety_net_logs_no_value(client, logs, monkeypatch):
    def failing(payload):
        raise ValueError(f"cannot read {payload} {SECRET}")  # an exception whose message quotes the input

    monkeypatch.setattr(futurisys.api.routes, "validate_payload", failing)
    response = client.post("/predict", json=RECORD)
    assert response.status_code == 500
    assert "unhandled error on POST /predict: ValueError" in logs.text
    assert_no_personal_value(logs)


def test_the_access_log_keeps_no_query_string():
    config = (ROOT / "gunicorn.conf.py").read_text()
    access_format = re.search(r"^access_log_format = (.+)$", config, re.MULTILINE)[1]
    assert "%(U)s" in access_format  # the path…
    for atom in ("%(r)s", "%(q)s", "%(u)s", "%(f)s"):  # …never the request line, query string, user or referrer
        assert atom not in access_format
