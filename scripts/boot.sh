#!/usr/bin/env bash
# Start the service: a model if there is none, then gunicorn in place of this shell; gunicorn applies the
# migrations, loads the reference data and creates the first admin account before forking (wsgi.py).
set -euo pipefail
cd "$(dirname "$0")/.."
FLASK="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}flask"
GUNICORN="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}gunicorn"

if [ -z "${MODEL_REPO:-}" ] && [ ! -f "${MODEL_DIR:-instance/model}/metadata.json" ]; then
  echo "No model bundle in ${MODEL_DIR:-instance/model}: training one (about 10 s)."
  "$FLASK" --app futurisys model train
fi
# Migrations, reference data and the first admin account (on a database with none: from ADMIN_USERNAME and
# ADMIN_PASSWORD, or generated and printed once when FIRST_ADMIN=generate, as run.sh sets) happen in gunicorn's
# arbiter before it forks: one process instead of four (PREPARE_DATABASE=1, see wsgi.py).
PREPARE_DATABASE="${PREPARE_DATABASE:-1}" exec "$GUNICORN" -c gunicorn.conf.py wsgi:app
