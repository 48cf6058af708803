"""Futurisys: employee-attrition prediction served by Flask."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from flask import Flask, g, request
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from futurisys import logs, security
from futurisys.auth.accounts import strong_hash_method
from futurisys.config import DEV_SECRET_KEY, Config, engine_options, scoring_binds
from futurisys.domain import formatting
from futurisys.extensions import csrf, db, login_manager, migrate, model_store
from futurisys.storage import db_timeouts, sqlite_writes

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(config: dict | None = None) -> Flask:
    """Build the application; `config` overrides the environment-derived settings (tests pass a mapping)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(Config)
    if config:
        app.config.from_mapping(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'futurisys.db'}"
    if app.config.get("SQLALCHEMY_ENGINE_OPTIONS") is None:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"], app.config)
    if app.config.get("SQLALCHEMY_BINDS") is None:
        app.config["SQLALCHEMY_BINDS"] = scoring_binds(
            app.config["SQLALCHEMY_DATABASE_URI"], app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        )
    if app.config["DEPLOYMENT"] == "production" and app.config["SECRET_KEY"] in (None, "", DEV_SECRET_KEY):
        raise RuntimeError("SECRET_KEY must be set in production (FUTURISYS_ENV=production)")
    if app.config["DEPLOYMENT"] == "production" and not strong_hash_method(app.config["PASSWORD_HASH_METHOD"]):
        raise RuntimeError("PASSWORD_HASH_METHOD is cheaper than werkzeug's default: refused in production")
    app.json.sort_keys = False  # keep "Prediction" before "Probabilite_depart", as the original API did
    app.json.ensure_ascii = False
    logs.configure(app.config.get("LOG_LEVEL", "INFO"))

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    # Before CSRFProtect's hook, which parses the form of every POST (a lot's upload would get 413 there).
    app.before_request(security.allow_lot_sizes)
    csrf.init_app(app)
    login_manager.init_app(app)
    model_store.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
            sqlite_writes.install(app, db.engine)
        elif db.engine.dialect.driver == "psycopg2":
            for engine in db.engines.values():
                db_timeouts.install(engine)
            db_timeouts.scope_by_blueprint(app)

    from futurisys import (
        admin,
        api,
        auth,
        cli,
        compliance,
        errors,
        jobs,
        metrics,
        outcomes,
        recourse,
        registry,
        teams,
        web,
    )

    audiences = (api, web, jobs, auth, admin, outcomes, recourse, registry, teams, compliance)
    for part in (*audiences, errors, cli, metrics, security):
        part.init_app(app)
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    app.jinja_env.filters.update(formatting.FILTERS)
    app.jinja_env.add_extension(formatting.FrenchTypography)
    app.jinja_env.finalize = formatting.typeset_output
    app.before_request(_assign_request_id)
    app.after_request(_echo_request_id)
    return app


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # SQLite enforces foreign keys (ON DELETE CASCADE) only when asked, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _assign_request_id() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def _echo_request_id(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response
