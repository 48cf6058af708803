"""gunicorn settings, from the environment (see README, "Configuration")."""
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
# Each worker loads the app (and the model) itself; the model is small and loads in well under a second.
preload_app = False
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") == "1" else None
# Paths and statuses only: request bodies (personal HR data) are never logged.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
