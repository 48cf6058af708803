#!/usr/bin/env bash
# One command to run the whole test suite: venv, dev dependencies, PostgreSQL and Chromium, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements-dev.txt
bash scripts/ensure-services.sh
exec .venv/bin/python -m pytest "$@"
