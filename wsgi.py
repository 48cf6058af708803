"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

import os

from futurisys import create_app
from futurisys.extensions import db, model_store

app = create_app()
if os.environ.get("PREPARE_DATABASE") == "1":
    # Migrations and reference data in gunicorn's arbiter, before forking: one process boots in ~2 s where three
    # (`db upgrade`, `data load`, gunicorn) took ~10 s. scripts/boot.sh sets it; replicas behind a proxy do not.
    from futurisys.cli import prepare_database

    with app.app_context():
        prepare_database()
        db.engine.dispose()  # no connection may cross the fork
# Load the model here, in gunicorn's arbiter (preload_app): the forked workers share it and are ready at once.
model_store.state(app)
