#!/usr/bin/env bash
# Install the pinned Redocly CLI (package-lock.json) into tools/redocly/node_modules; no-op when already there.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x node_modules/.bin/redocly ]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi
