"""Reading a JSON request body whole and safely: size, truncation, content type, nesting depth, number range."""

from __future__ import annotations

import json
import math

from flask import abort, current_app, request
from werkzeug.exceptions import ClientDisconnected

INCOMPLETE = "Corps de la requête incomplet : moins d'octets reçus que l'en-tête Content-Length n'en annonce."
MALFORMED = "Corps JSON mal formé."


class _OutOfRange(ValueError):
    """A JSON number no float can hold (1e400), or NaN/Infinity (not JSON)."""


def _reject_constant(name: str):
    raise _OutOfRange(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _OutOfRange(text)
    return value


def read_body() -> bytes:
    """The whole body (werkzeug keeps it once read): 413 above MAX_CONTENT_LENGTH, chunked or not; 400 if cut short."""
    try:
        data = request.get_data(cache=True)
    except ClientDisconnected:
        abort(400, INCOMPLETE)
    expected = request.content_length
    if expected is None:
        # A chunked body is read up to the limit and no further: reaching it means the body was longer.
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and len(data) >= limit:
            abort(413)
    elif len(data) != expected:
        abort(400, INCOMPLETE)
    return data


def read_json():
    """The request's JSON body: 415 for a declared non-JSON type, 400 when it does not parse.

    A body without Content-Type is read as JSON (what `requests.post(url, data=...)` sends). Numbers too large for
    a float (1e400), NaN/Infinity and nesting deeper than Python can parse are 400s, never 500s.
    """
    if request.mimetype and not request.is_json:
        abort(415, "Content-Type attendu : application/json.")
    data = read_body()
    try:
        return json.loads(data, parse_float=_finite_float, parse_constant=_reject_constant)
    except RecursionError:
        abort(400, "Corps JSON trop profondément imbriqué.")
    except _OutOfRange:
        abort(400, "Corps JSON refusé : nombre hors limites (ou NaN, Infinity, qui ne sont pas du JSON).")
    except ValueError:  # JSONDecodeError, invalid UTF-8, integers of more than 4,300 digits
        abort(400, MALFORMED)
