#!/usr/bin/env bash
# Start the service: a model if there is none, then gunicorn in place of this shell; gunicorn applies the
# migrations, loads the reference data and creates the first admin account before forking (wsgi.py).
# When it cannot start (port taken, database missing or unreachable, model broken) it says why in one line, exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
FLASK="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}flask"
GUNICORN="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}gunicorn"
PORT="${PORT:-8000}"
HOST="${HOST:-0.0.0.0}"

# A port another server holds: say so now, not after training and migrating (gunicorn would retry 5 s, then quit).
probe="$HOST"
[ "$probe" = "0.0.0.0" ] && probe=127.0.0.1
if (exec 3<>"/dev/tcp/$probe/$PORT") 2>/dev/null; then
  echo "Futurisys ne peut pas démarrer. Le port $PORT est déjà pris (un serveur répond sur $probe:$PORT)." \
    "Arrêtez-le, ou choisissez un autre port : PORT=8001 ${FUTURISYS_START:-$0}" >&2
  exit 1
fi

if [ -z "${MODEL_REPO:-}" ] && [ ! -f "${MODEL_DIR:-instance/model}/metadata.json" ]; then
  echo "No model bundle in ${MODEL_DIR:-instance/model}: training one (about 20 s on a quiet 2-core machine, twice that on a busy one)."
  "$FLASK" --app futurisys model train
fi
# The job worker beside gunicorn (RUN_WORKER=0 where workers run apart, as in deploy/compose.yaml): it starts once
# the server has migrated the database, and stops with gunicorn (Ctrl+C reaches both; the guard covers the rest).
if [ "${RUN_WORKER:-1}" = 1 ]; then
  WAIT_FOR_READY="http://127.0.0.1:$PORT/ready" WATCH_PID="$$" bash scripts/worker.sh &
  worker=$!
  ( while kill -0 "$$" 2> /dev/null; do sleep 1; done; kill -TERM "$worker" 2> /dev/null || true ) > /dev/null 2>&1 &
fi
# Migrations, reference data and the first admin account (on a database with none: from ADMIN_USERNAME and
# ADMIN_PASSWORD, or generated and printed once when FIRST_ADMIN=generate, as run.sh sets) happen in gunicorn's
# arbiter before it forks: one process instead of four (PREPARE_DATABASE=1, see wsgi.py).
PREPARE_DATABASE="${PREPARE_DATABASE:-1}" exec "$GUNICORN" -c gunicorn.conf.py wsgi:app
