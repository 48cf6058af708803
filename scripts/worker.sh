#!/usr/bin/env bash
# Start a job worker (Celery) for the lots and other long work; ./scripts/run.sh starts one beside gunicorn.
# On other machines, run N more with the same DATABASE_URL and CELERY_BROKER_URL (or REDIS_URL) and WORKER_BEAT=0:
# the periodic tasks (recovery of stalled jobs, deletion of old lot files) need exactly one beat in the whole
# installation. WORKER_CONCURRENCY (default 1) lots run at once in this worker, each in a process of its own.
# WAIT_FOR_READY=<url>: wait until the web server answers there (it applies the migrations) before starting;
# WATCH_PID=<pid>: give up waiting when that process (the server) has ended.
set -euo pipefail
cd "$(dirname "$0")/.."
CELERY="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}celery"
PYTHON="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}python"
if [ -n "${WAIT_FOR_READY:-}" ]; then
  "$PYTHON" - "$WAIT_FOR_READY" "${WATCH_PID:-}" <<'PY'
import os, sys, time, urllib.request

deadline = time.monotonic() + 300  # the first start trains a model and migrates: bounded, then give up
while time.monotonic() < deadline:
    if sys.argv[2] and not os.path.exists(f"/proc/{sys.argv[2]}"):
        sys.exit(0)  # the server stopped before it was ready: it says why
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as answer:
            if answer.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)  # polling interval
sys.exit("Le serveur web ne répond pas : le processus de calcul des lots ne démarre pas.")
PY
  [ -z "${WATCH_PID:-}" ] || [ -e "/proc/$WATCH_PID" ] || exit 0
fi
beat=()
[ "${WORKER_BEAT:-1}" = 1 ] && beat=(--beat --schedule "${BEAT_SCHEDULE:-instance/celerybeat-schedule}")
mkdir -p instance
exec "$CELERY" -A futurisys.jobs.worker worker "${beat[@]}" --concurrency "${WORKER_CONCURRENCY:-1}" \
  --loglevel "${WORKER_LOG_LEVEL:-INFO}" --without-gossip --without-mingle
