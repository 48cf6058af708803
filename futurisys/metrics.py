"""Prometheus metrics: requests, predictions, model, database errors; GET /metrics (gunicorn multiprocess aware).

With several gunicorn workers, set PROMETHEUS_MULTIPROC_DIR (before the app is imported): each worker writes its
values there and /metrics aggregates them (gunicorn.conf.py clears the folder at start and forgets dead workers).
"""

from __future__ import annotations

import hmac
import os
import time
from collections import Counter as Tally
from collections.abc import Iterable

from flask import Response, current_app, g, make_response, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("futurisys_http_requests_total", "HTTP requests answered.", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "futurisys_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["endpoint", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PREDICTIONS = Counter("futurisys_predictions_total", "Predictions stored.", ["label", "model_version"])
DB_ERRORS = Counter("futurisys_db_errors_total", "Database errors answered with 5xx.", ["error"])
# Gauges aggregate across live workers: a worker sets 1 for what it has loaded.
MODEL_LOADED = Gauge("futurisys_model_loaded", "1 when a model bundle is loaded.", multiprocess_mode="livemax")
MODEL_INFO = Gauge(
    "futurisys_model_info", "The loaded model bundle (value 1).", ["version", "source"], multiprocess_mode="livemax"
)

# Label values must stay a small set: 404s are not labelled with their path, nor odd methods with their name.
_UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_registry: CollectorRegistry | None = None


def count_predictions(labels: Iterable[str], model_version: str) -> None:
    """Count stored predictions by label (`labels`: one per prediction) for `model_version`."""
    for label, n in Tally(labels).items():
        PREDICTIONS.labels(label, model_version).inc(n)


def count_db_error(exc: BaseException) -> None:
    """Count a database error by exception class."""
    DB_ERRORS.labels(type(exc).__name__).inc()


def public_source(source: str) -> str:
    """Where the model comes from, as shown to clients: a Hub repository, or "local" (never a server path)."""
    return source if source.startswith("hf://") else "local"


def record_model_state(state) -> None:
    """Publish whether a model is loaded, and which one (`state`: model_store.ModelState)."""
    MODEL_LOADED.set(0 if state.predictor is None else 1)
    if state.predictor is not None:
        MODEL_INFO.labels(state.predictor.version, public_source(state.source)).set(1)


def registry() -> CollectorRegistry:
    """This process's registry, or the aggregate of every worker's files in multiprocess mode."""
    global _registry
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    if _registry is None:
        _registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(_registry)
    return _registry


def _authorized() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_view():
    """The metrics in the Prometheus text format (or OpenMetrics when asked for); METRICS_TOKEN guards them."""
    from futurisys.errors import error_response
    from futurisys.extensions import model_store

    if not _authorized():
        response = make_response(
            error_response(
                401, "Jeton d'accès aux métriques manquant ou invalide : envoyez « Authorization: Bearer <jeton> »."
            )
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response

    record_model_state(model_store.state())
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encoder(registry()), content_type=content_type)


def _start_timer() -> None:
    if request.endpoint != "metrics":  # scrapes would only add noise to the request metrics
        g.metrics_started = time.perf_counter()


def _observe(response):
    started = g.pop("metrics_started", None)
    if started is not None:
        rule = request.url_rule
        endpoint = rule.rule if rule is not None else _UNMATCHED
        status = str(response.status_code)
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(endpoint, method, status).inc()
        LATENCY.labels(endpoint, status).observe(time.perf_counter() - started)
    return response


def init_app(app) -> None:
    """Serve /metrics and time every other request of `app`."""
    from futurisys.extensions import model_store

    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
    app.before_request(_start_timer)
    app.after_request(_observe)
    if model_store.loaded(app):  # never load the model just for metrics: CLI commands would pay for it
        record_model_state(model_store.state(app))
