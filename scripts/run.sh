#!/usr/bin/env bash
# One command to set up and run Futurisys: venv, dependencies, secret key, model, database schema, gunicorn.
# Embedded SQLite (instance/futurisys.db) by default; PostgreSQL when DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements.txt
export VIRTUAL_ENV="$PWD/.venv"

# A secret key of this installation's own, kept in .env (git-ignored), never a built-in default.
if [ -z "${SECRET_KEY:-}" ] && ! grep -qs '^SECRET_KEY=' .env; then
  echo "SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')" >> .env
  echo "Generated a SECRET_KEY in .env"
fi
export FUTURISYS_ENV="${FUTURISYS_ENV:-production}"
# Served over plain http on this machine: secure-only cookies would not be sent back. Behind HTTPS, set it to 1.
export SESSION_COOKIE_SECURE="${SESSION_COOKIE_SECURE:-0}"
export PORT="${PORT:-8000}"
# On a database with no account, create an admin with a random password and print it once (change it at once).
export FIRST_ADMIN="${FIRST_ADMIN:-generate}"
echo "Futurisys on http://127.0.0.1:$PORT (database: ${DATABASE_URL:-SQLite in instance/})"
exec bash scripts/boot.sh
