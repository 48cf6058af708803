#!/usr/bin/env bash
# Create .venv with Python 3.11 if needed and install a requirements file when it changed (sourced by run/test).
set -euo pipefail
requirements="$1"
if [ ! -x .venv/bin/python ]; then
  python="$(command -v python3.11 || command -v python3)"
  "$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
  echo "Creating .venv (Python 3.11, in this folder: nothing is installed outside it)"
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$requirements")"
digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  # The lock files pin every package with its hashes (pip itself too in requirements-dev.txt): nothing unchecked.
  # The lock's own pip goes in first: Python 3.11's bundled pip (23.2) lets a dependency asked with extras
  # (pytest-cov's coverage[toml]) escape its pin and then refuses it in --require-hashes mode.
  echo "Installing $requirements into .venv (every package pinned and hash-checked; a minute or so the first time)"
  pip_lock="$(mktemp)"
  awk '/^pip==/ {keep = 1; print; next} keep && /^    --hash=/ {print; next} {keep = 0}' "$requirements" > "$pip_lock"
  if [ -s "$pip_lock" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$pip_lock"
  fi
  rm -f "$pip_lock"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$requirements"
  echo "$digest" > "$stamp"
fi
