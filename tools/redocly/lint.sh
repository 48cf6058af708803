#!/usr/bin/env bash
# Lint the API's OpenAPI document with Redocly's recommended rules (0 errors and 0 warnings expected).
# Usage: tools/redocly/lint.sh [SPEC]   (default: the document the app serves, generated with default settings)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/tools/redocly/install.sh"
spec="${1:-}"
if [ -z "$spec" ]; then
  spec="$(mktemp --suffix=.json)"
  trap 'rm -f "$spec"' EXIT
  (cd "$root" && .venv/bin/python -c 'import json, sys
from futurisys.api.openapi import build_document
json.dump(build_document({"BATCH_MAX_RECORDS": 10000}), sys.stdout, ensure_ascii=False)') > "$spec"
fi
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
exec "$root/tools/redocly/node_modules/.bin/redocly" lint --extends=recommended --format=stylish "$spec"
