#!/usr/bin/env bash
# Start the service: schema migrations, reference data, a model if there is none, then gunicorn in place of this shell.
set -euo pipefail
cd "$(dirname "$0")/.."
FLASK="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}flask"
GUNICORN="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}gunicorn"

"$FLASK" --app futurisys db upgrade
"$FLASK" --app futurisys data load
# First admin account on an empty database: from ADMIN_USERNAME/ADMIN_PASSWORD, or generated and printed once
# when run.sh asks (FIRST_ADMIN=generate); the image creates none without them.
bootstrap=(); if [ "${FIRST_ADMIN:-}" = generate ]; then bootstrap=(--generate); fi
"$FLASK" --app futurisys users bootstrap "${bootstrap[@]}"
if [ -z "${MODEL_REPO:-}" ] && [ ! -f "${MODEL_DIR:-instance/model}/metadata.json" ]; then
  echo "No model bundle in ${MODEL_DIR:-instance/model}: training one (about 10 s)."
  "$FLASK" --app futurisys model train
fi
exec "$GUNICORN" -c gunicorn.conf.py wsgi:app
