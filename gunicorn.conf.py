"""gunicorn settings, from the environment (see docs/configuration.md)."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
# gthread, plus fair accepting across workers and request heads and bodies read without tying a thread
# (gunicorn_worker.py; a body gets GUNICORN_BODY_TIMEOUT seconds, then must keep arriving at GUNICORN_BODY_MIN_RATE
# bytes/s, or the connection is closed with a 408).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gunicorn_worker.BalancedWorker")  # "gthread" to compare
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# CPython passes the GIL to a waiting thread after 5 ms by default: a /predict thread of a worker whose other thread
# renders an admin page (CPU-bound Python) waits up to that long at each of its steps. A shorter interval keeps the
# short requests short (bench/scale.py, same worker: /predict p99 45–60 ms → 15–20 ms during back-to-back pages).
switch_interval_s = float(os.environ.get("GUNICORN_SWITCH_INTERVAL_MS", "0.5")) / 1000
# The arbiter imports the app and loads the model once, then forks: workers are ready at once and share the
# memory. Safe here: no database connection is opened before the fork and the predictor runs XGBoost with one
# thread (no OpenMP pool to inherit).
preload_app = True
# gunicorn's control socket (gunicornc) defaults to one path per user, shared by every instance on the host: a second
# instance takes it over and stopping either removes it. None unless GUNICORN_CONTROL_SOCKET names one of its own.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") == "1" else None
# Method, path and status only: neither bodies nor query strings (employee references in filters, next=…) are logged.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


class OneFormatLogger(Logger):
    """gunicorn's error and access logs in the app's format (futurisys/logs.py: text, or JSON with LOG_FORMAT=json)."""

    def setup(self, cfg):
        super().setup(cfg)
        from futurisys import logs

        logs.restyle(self.error_log)
        logs.restyle(self.access_log)


logger_class = OneFormatLogger

# Several workers share one set of Prometheus metrics through files (see futurisys/metrics.py); a folder of its own
# per port unless PROMETHEUS_MULTIPROC_DIR says otherwise, removed when gunicorn stops. Set here, before the workers
# import prometheus_client.
_OWN_METRICS_DIR = None
if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _OWN_METRICS_DIR = os.path.join(tempfile.gettempdir(), f"futurisys-prometheus-{os.environ.get('PORT', '8000')}")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _OWN_METRICS_DIR
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Start from an empty folder (values of a previous run are stale), before the preloaded app writes any.
    _metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    for _stale in _metrics_dir.glob("*.db"):  # only prometheus_client's files: the folder may hold others
        _stale.unlink()


def post_worker_init(worker):
    """Each worker hands the GIL over at switch_interval_s."""
    sys.setswitchinterval(switch_interval_s)


def child_exit(server, worker):
    """Forget a dead worker: its slot in the connection table, its live gauges in multiprocess metrics."""
    from gunicorn_worker import release_slot

    release_slot(worker.pid)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics folder this configuration made (a folder given in PROMETHEUS_MULTIPROC_DIR stays)."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)
