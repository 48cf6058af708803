#!/usr/bin/env bash
# Create .venv with Python 3.11 if needed and install a requirements file when it changed (sourced by run/test).
set -euo pipefail
requirements="$1"
if [ ! -x .venv/bin/python ]; then
  python="$(command -v python3.11 || command -v python3)"
  "$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$requirements")"
digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  # The lock files pin every package with its hashes (pip itself too in requirements-dev.txt): nothing unchecked.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$requirements"
  echo "$digest" > "$stamp"
fi
