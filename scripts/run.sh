#!/usr/bin/env bash
# One command to set up and run Futurisys: venv, dependencies, secret key, model, database schema, gunicorn, and
# the job worker beside it (scripts/worker.sh: the lots run there, never in a request).
# Embedded SQLite (instance/futurisys.db) by default; PostgreSQL when DATABASE_URL is set (kept in .env, so that
# every later command acts on the same database). Prints « prêt » with the URL once /ready answers; Ctrl+C stops.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements.txt
export VIRTUAL_ENV="$PWD/.venv"

# A secret key of this installation's own, kept in .env (git-ignored), never a built-in default.
if [ -z "${SECRET_KEY:-}" ] && ! grep -qs '^SECRET_KEY=' .env; then
  echo "SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')" >> .env
  echo "Generated a SECRET_KEY in .env"
fi
# The database given on the command line becomes the project's: .env keeps it for `.venv/bin/flask …` commands.
if [ -n "${DATABASE_URL:-}" ] && ! grep -qsxF "DATABASE_URL=$DATABASE_URL" .env; then
  grep -sv '^DATABASE_URL=' .env > .env.new || true
  echo "DATABASE_URL=$DATABASE_URL" >> .env.new
  mv .env.new .env
  echo "DATABASE_URL kept in .env: the .venv/bin/flask commands act on this database too (remove the line for SQLite)"
fi
export FUTURISYS_ENV="${FUTURISYS_ENV:-production}"
# Served over plain http on this machine: secure-only cookies would not be sent back. Behind HTTPS, set it to 1.
export SESSION_COOKIE_SECURE="${SESSION_COOKIE_SECURE:-0}"
export PORT="${PORT:-8000}"
# On a database with no account, create an admin with a random password and print it once (change it at once).
export FIRST_ADMIN="${FIRST_ADMIN:-generate}"
# A PostgreSQL database that does not exist yet is created, when the role of DATABASE_URL may (wsgi.py says so).
export CREATE_DATABASE="${CREATE_DATABASE:-1}"
export FUTURISYS_START="./scripts/run.sh"

# « prêt » once /ready answers; this watcher ends with gunicorn (which takes this shell's process id below).
.venv/bin/python - "$PORT" "$$" <<'PY' &
import os, sys, time, urllib.request

port, server = sys.argv[1], int(sys.argv[2])
try:
    while True:
        try:
            running = open(f"/proc/{server}/cmdline", "rb").read()
        except OSError:
            sys.exit(0)  # stopped (its own line says why)
        if b"gunicorn" not in running:  # not serving yet: whatever answers on the port is not this server
            time.sleep(0.2)
            continue
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.2)  # polling interval
except KeyboardInterrupt:
    sys.exit(0)
print(
    f"Futurisys prêt : http://127.0.0.1:{port}/connexion (gunicorn écoute sur {os.environ.get('HOST', '0.0.0.0')}:{port}; "
    "Ctrl+C pour arrêter)",
    flush=True,
)
PY
exec bash scripts/boot.sh
