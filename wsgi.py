"""WSGI entry point for gunicorn: `gunicorn wsgi:app`.

When the service cannot start (database missing or unreachable, model bundle broken), the reason is logged in one
line and gunicorn exits with status 1 before it binds its port.
"""

import logging
import os

import sqlalchemy as sa

from futurisys import create_app
from futurisys.extensions import db, model_store
from futurisys.storage.db_check import create_missing_database, explain, shown

log = logging.getLogger("futurisys.boot")
app = create_app()
log.info("database: %s", shown(app.config["SQLALCHEMY_DATABASE_URI"]))
if os.environ.get("PREPARE_DATABASE") == "1":
    # Migrations and reference data in gunicorn's arbiter, before forking: one process boots in ~2 s where three
    # (`db upgrade`, `data load`, gunicorn) took ~10 s. scripts/boot.sh sets it; replicas behind a proxy do not.
    from futurisys.cli import prepare_database

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        if os.environ.get("CREATE_DATABASE") == "1":  # run.sh: a PostgreSQL database that does not exist yet
            created = create_missing_database(url, app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args"))
            if created:
                log.info(created)
        with app.app_context():
            prepare_database(report=log.info)
            db.engine.dispose()  # no connection may cross the fork
    except sa.exc.DBAPIError as exc:
        log.error("Futurisys ne peut pas démarrer. %s", explain(exc, url))
        raise SystemExit(1) from None
# Load the model here, in gunicorn's arbiter (preload_app): the forked workers share it and are ready at once.
state = model_store.state(app)
with app.app_context():
    for engine in db.engines.values():
        engine.dispose()  # reading the registry's aliases opened a connection: none may cross the fork
if state.predictor is None:
    log.error("Futurisys ne peut pas démarrer. Le modèle ne se charge pas depuis %s (%s)", state.source, state.error)
    raise SystemExit(1)
