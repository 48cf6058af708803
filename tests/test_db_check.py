"""Database problems in one French line for every command; the database created when missing; the log format."""

from __future__ import annotations

import json
import logging
import os
import secrets

import sqlalchemy as sa
from flask import g

from futurisys import logs
from futurisys.storage.db_check import command, create_missing_database, explain
from tests.support import PG_ADMIN_URL, make_app

SERVER = PG_ADMIN_URL.rsplit("/", 1)[0]


def test_a_command_on_a_database_never_migrated_says_to_upgrade_it_first(bundle_dir, tmp_path):
    path = tmp_path / "fresh.db"
    result = make_app(f"sqlite:///{path}", bundle_dir).test_cli_runner().invoke(args=["data", "load"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    # The command to run names this database: a new shell would use another one (.env or instance/futurisys.db).
    assert result.output.strip() == (
        f"Erreur : Le schéma du fichier SQLite {path} n'est pas à jour : lancez "
        f"DATABASE_URL='sqlite:///{path}' .venv/bin/flask --app futurisys db upgrade"
    )


def test_every_command_on_a_missing_postgresql_database_ends_in_one_line(bundle_dir):
    name = f"futurisys_absent_{os.getpid()}"
    runner = make_app(f"{SERVER}/{name}", bundle_dir).test_cli_runner()
    for args in (["users", "list"], ["apikeys", "create", "erp"], ["predictions", "purge", "--older-than", "1d"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, result.output
        assert result.output.splitlines()[-1] == (
            f"Erreur : La base {name} n'existe pas sur 127.0.0.1:5432 : créez-la avec "
            f"createdb -h 127.0.0.1 -U postgres {name} (./scripts/run.sh la crée lui-même)"
        )


def test_a_server_that_does_not_answer_is_said_with_its_address():
    url = "postgresql+psycopg2://postgres@127.0.0.1:1/futurisys"
    engine = sa.create_engine(url)
    try:
        engine.connect()
    except sa.exc.OperationalError as exc:
        message = explain(exc, url)
    finally:
        engine.dispose()
    assert message.startswith("PostgreSQL ne répond pas sur 127.0.0.1:1 (connexion refusée)")


def test_a_missing_database_is_created_once_by_a_role_that_may():
    name = f"futurisys_created_{os.getpid()}_{secrets.token_hex(3)}"
    url = f"{SERVER}/{name}"
    try:
        assert (
            create_missing_database(url)
            == f"La base {name} n'existait pas sur 127.0.0.1:5432 : créée par le rôle postgres."
        )
        assert create_missing_database(url) is None
        assert create_missing_database("sqlite:///anything.db") is None
    finally:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_printed_commands_name_the_database_only_when_a_new_shell_would_use_another(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "futurisys.storage.db_check.PROJECT_ROOT", tmp_path
    )  # no .env there: the SQLite file is the default
    default = f"sqlite:///{tmp_path / 'instance' / 'futurisys.db'}"
    assert command("users list", default, tmp_path / "instance") == ".venv/bin/flask --app futurisys users list"
    other = "postgresql+psycopg2://rh:secret@db.example:5432/futurisys"
    assert command("users list", other, tmp_path / "instance") == (
        "DATABASE_URL='postgresql+psycopg2://rh:***@db.example:5432/futurisys' "
        ".venv/bin/flask --app futurisys users list"
    )
    (tmp_path / ".env").write_text(f"DATABASE_URL={other}\n")
    assert command("users list", other, tmp_path / "instance") == ".venv/bin/flask --app futurisys users list"


def test_log_lines_carry_the_request_id_in_text_and_in_json(bundle_dir, monkeypatch):
    app = make_app("sqlite://", bundle_dir)
    record = logging.LogRecord(
        "futurisys.web", logging.WARNING, __file__, 1, "form prediction not made: %s", ("X",), None
    )
    with app.test_request_context():
        g.request_id = "rid-42"
        assert logs.RequestIdFilter().filter(record)
    assert "WARNING futurisys.web [rid-42]: form prediction not made: X" in logs.TextFormatter().format(record)
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["request_id"] == "rid-42" and line["level"] == "WARNING" and line["message"].endswith(": X")
    access = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, "%(r)s", ({"r": "GET /", logs.ACCESS_REQUEST_ID: "abc"},), None
    )
    logs.RequestIdFilter().filter(access)
    assert access.request_id == "abc"
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert isinstance(logs.formatter(), logs.JsonFormatter)
