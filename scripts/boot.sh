#!/usr/bin/env bash
# Start the service: a model if there is none, the first admin account when the command exists, then gunicorn in
# place of this shell; gunicorn applies the migrations and loads the reference data before forking (wsgi.py).
set -euo pipefail
cd "$(dirname "$0")/.."
FLASK="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}flask"
GUNICORN="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}gunicorn"

if [ -z "${MODEL_REPO:-}" ] && [ ! -f "${MODEL_DIR:-instance/model}/metadata.json" ]; then
  echo "No model bundle in ${MODEL_DIR:-instance/model}: training one (about 10 s)."
  "$FLASK" --app futurisys model train
fi
# The first admin account, once `users bootstrap` exists (looked up in the source: a CLI call costs ~0.5 s).
if grep -rqs --include='*.py' 'command("bootstrap")' futurisys/; then
  "$FLASK" --app futurisys users bootstrap
fi
# db upgrade + data load happen in gunicorn's arbiter (one process instead of three): PREPARE_DATABASE=1.
PREPARE_DATABASE="${PREPARE_DATABASE:-1}" exec "$GUNICORN" -c gunicorn.conf.py wsgi:app
