"""One log format for the app's and gunicorn's lines: text for a terminal, JSON when LOG_FORMAT=json.

Every line carries the request id when it is written during a request (the app's lines) or about one (gunicorn's
access line, which reads it from the X-Request-ID response header). Messages never hold request bodies: the code
logs paths, statuses and exception types, never a submitted value.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime

#: gunicorn's atom for the X-Request-ID response header, which the app sets on every answer.
ACCESS_REQUEST_ID = "{x-request-id}o"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s%(request_id_text)s: %(message)s"
TEXT_DATE = "%Y-%m-%dT%H:%M:%SZ"


def json_wanted() -> bool:
    """Whether lines are JSON objects (LOG_FORMAT=json, for log collectors) rather than text."""
    return os.environ.get("LOG_FORMAT", "text").strip().lower() == "json"


def current_request_id() -> str | None:
    """The id of the request being served in this thread, if any."""
    from flask import g, has_app_context, has_request_context

    if has_request_context() and has_app_context():
        return g.get("request_id")
    return None


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record: the record's own (gunicorn's access line), the current request's, or None."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _access_request_id(record) or current_request_id()
        record.request_id_text = f" [{record.request_id}]" if record.request_id else ""
        return True


def _access_request_id(record: logging.LogRecord) -> str | None:
    # gunicorn's access line is logged with its atoms as the arguments; the response header holds the app's id.
    if isinstance(record.args, Mapping):
        value = record.args.get(ACCESS_REQUEST_ID)
        return value if value and value != "-" else None
    return None


class TextFormatter(logging.Formatter):
    """`2026-12-03T15:00:00Z INFO    futurisys.web [3f2a…]: message` (UTC)."""

    converter = staticmethod(time.gmtime)

    def __init__(self):
        super().__init__(TEXT_FORMAT, TEXT_DATE)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter() -> logging.Formatter:
    """The formatter LOG_FORMAT asks for."""
    return JsonFormatter() if json_wanted() else TextFormatter()


def handler(stream=None) -> logging.Handler:
    """A stream handler (stderr by default) in the one format, adding the request id."""
    new = logging.StreamHandler(stream or sys.stderr)
    new.setFormatter(formatter())
    new.addFilter(RequestIdFilter())
    return new


def configure(level: str = "INFO") -> None:
    """Send the root logger's lines (the app's, Alembic's) to stderr in the one format.

    Like `logging.basicConfig`, only when nothing has configured the root logger yet (pytest has, during tests).
    """
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(handler())
        root.setLevel(level)


def restyle(logger: logging.Logger) -> None:
    """Give `logger`'s handlers (gunicorn's error and access logs) the one format and the request id."""
    for existing in logger.handlers:
        existing.setFormatter(formatter())
        if not any(isinstance(f, RequestIdFilter) for f in existing.filters):
            existing.addFilter(RequestIdFilter())
