"""Idempotency keys on /predict and /predict/batch: a retry within 24 h gets the first answer and stores nothing new.

Every write request has a key: the client's `Idempotency-Key`, or one the service generates and returns in that
header. The key's row (table `idempotency_keys`, shared by every worker) is written in the same statement or
transaction as the prediction rows, so that the key exists if and only if the prediction was stored: there is no
claim to release when a request fails, nor one left behind by a worker that died. When the database fails after
the write was sent (the outcome is unknown), the 503 names the key; a retry with it gets the stored answer if the
write landed, and is scored and stored once if it did not. Two requests racing with one key: the unique constraint
lets one write, the other gets its answer. Keys are scoped by API key, or by the caller's address without one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import Response, g, make_response, request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from futurisys.api.body import read_body
from futurisys.domain.schema import FEATURE_NAMES
from futurisys.errors import error_response
from futurisys.extensions import db
from futurisys.storage.models import Input, Prediction, utcnow

log = logging.getLogger(__name__)
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = timedelta(hours=24)
#: Rows without an answer are only left by versions before 0004 (they claimed keys first, and a worker killed
#: mid-request left its claim): forgotten once no request can still be running, gunicorn's time-out and a margin.
PENDING_EXPIRY = timedelta(seconds=int(os.environ.get("GUNICORN_TIMEOUT", "60")) + 15)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_PURGE_EVERY = 60.0  # seconds between two purges of expired keys, per process
_last_purge = [0.0]
_purge_lock = threading.Lock()


class IdempotencyKey(db.Model):
    """A key, the request it came with, and where its answer is (the answer itself, or the prediction stored)."""

    __tablename__ = "idempotency_keys"
    id = sa.Column(sa.Integer, primary_key=True)
    # The API key's name, or "@" and the caller's address without one: two callers may pick the same key.
    scope = sa.Column(sa.String(64), nullable=False)
    key = sa.Column(sa.String(255), nullable=False)
    # SHA-256 of the method, path, query string and body: the same key with another request is refused.
    fingerprint = sa.Column(sa.String(64), nullable=False)
    status_code = sa.Column(sa.Integer, nullable=True)
    # The answer as sent (batches), or NULL when it is rebuilt from `prediction_id` (single predictions).
    response_body = sa.Column(sa.Text, nullable=True)
    prediction_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("predictions.id", ondelete="CASCADE", name="fk_idempotency_keys_prediction_id_predictions"),
        nullable=True,
        index=True,  # deleting a prediction (purge, admin delete) looks its key up by it
    )
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    __table_args__ = (sa.UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)


@dataclass(frozen=True)
class RequestKey:
    """The key of one write request: written with its rows (`row`), named in its answers."""

    scope: str
    key: str
    fingerprint: str
    generated: bool

    def row(self, response_body: str | None = None) -> dict:
        """The `idempotency_keys` row recording a 200 (its `prediction_id` is filled in by the write)."""
        return {
            "scope": self.scope,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "status_code": 200,
            "response_body": response_body,
            "created_at": utcnow(),
        }


def _fingerprint(body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.rstrip("/").encode(), request.query_string, body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def caller_scope() -> str:
    """The API key's name, else the caller's address (after ProxyFix): keys never cross from a caller to another."""
    return g.get("api_key_name") or f"@{request.remote_addr or ''}"[:64]


def _purge_expired() -> None:
    """Delete expired keys, at most once a minute per process (each request would be a write too many)."""
    now = time.monotonic()
    with _purge_lock:
        if now - _last_purge[0] < _PURGE_EVERY:
            return
        _last_purge[0] = now
    table = IdempotencyKey.__table__
    stamp = utcnow()
    try:
        with db.engine.begin() as connection:
            connection.execute(
                table.delete().where(
                    sa.or_(
                        table.c.created_at < stamp - TTL,
                        sa.and_(table.c.status_code.is_(None), table.c.created_at < stamp - PENDING_EXPIRY),
                    )
                )
            )
    except SQLAlchemyError as exc:  # the answer is stored and ready: the purge waits for the next minute
        db.session.rollback()
        log.warning("idempotency keys not purged: %s", type(exc).__name__)


def stored_answer(request_key: RequestKey, build_single) -> Response | None:
    """The answer already given under this key (or a 409/422), None when the key is free."""
    table = IdempotencyKey.__table__
    with db.engine.connect() as connection:
        row = connection.execute(
            sa.select(table).where(table.c.scope == request_key.scope, table.c.key == request_key.key)
        ).first()
        stamp = utcnow()
        # SQLite gives the stored UTC time back without its zone; PostgreSQL gives it with one.
        created = row and (row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=stamp.tzinfo))
        expired = row is not None and (
            created < stamp - TTL or (row.status_code is None and created < stamp - PENDING_EXPIRY)
        )
        if expired:
            connection.execute(table.delete().where(table.c.id == row.id))
            connection.commit()
            return None
        if row is None:
            return None
        if row.status_code is None:
            response = make_response(
                error_response(
                    409, f"Une requête avec cette clé {HEADER} est en cours de traitement : réessayez dans un instant."
                )
            )
            response.headers["Retry-After"] = "1"
            return response
        if row.fingerprint != request_key.fingerprint:
            message = f"Cette clé {HEADER} a déjà servi pour une autre requête : choisissez-en une nouvelle."
            return error_response(
                422,
                message,
                {HEADER: [message]},
                detail=[{"loc": ["header", HEADER], "msg": message, "type": "value_error"}],
            )
        if row.response_body is not None:
            body = row.response_body
        else:
            body = json.dumps(build_single(_stored_prediction(connection, row.prediction_id)), ensure_ascii=False)
    replay = Response(body, status=row.status_code, mimetype="application/json")
    replay.headers[REPLAYED_HEADER] = "true"
    return replay


def _stored_prediction(connection, prediction_id: int):
    """The prediction and input rows behind a single prediction's key (what its answer is rebuilt from)."""
    predictions, inputs = Prediction.__table__, Input.__table__
    return connection.execute(
        sa.select(predictions, inputs.c.raw_record, *(inputs.c[name] for name in FEATURE_NAMES))
        .join(inputs, inputs.c.id == predictions.c.input_id)
        .where(predictions.c.id == prediction_id)
    ).one()


def prepare(build_single=None):
    """Call once the request is valid, before storing: the answer to give instead (a retry), or None to go ahead.

    Going ahead, `g.request_key` is the key to write with the rows. `build_single(row)` rebuilds a single
    prediction's answer from its stored rows (see `_stored_prediction`).
    """
    client_key = request.headers.get(HEADER)
    request_key = RequestKey(
        caller_scope(),
        client_key.strip() if client_key is not None else uuid.uuid4().hex,
        _fingerprint(read_body()),
        generated=client_key is None,
    )
    g.request_key = request_key
    if request_key.generated:
        return None  # a new random key: nothing can be stored under it yet
    return stored_answer(request_key, build_single)


def write_once(write, build_single=None):
    """`write(key_row)` with this request's key row: (its result, None), or (None, the answer to give instead) when
    another request with the same key stored first (the unique constraint refused this one's rows)."""
    try:
        return write((IdempotencyKey.__table__, g.request_key.row())), None
    except IntegrityError:
        replay = stored_answer(g.request_key, build_single)
        if replay is None:
            raise  # another constraint: a real error
        return None, replay


def idempotent(view):
    """Wrap a scoring view that calls `prepare()`: refuse an invalid header, name the key on every answer."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is not None and not _KEY.match(key.strip()):
            return error_response(400, f"En-tête {HEADER} invalide : 1 à 255 caractères ASCII visibles.")
        response = make_response(view(*args, **kwargs))
        if "request_key" in g:
            response.headers[HEADER] = g.request_key.key
            if response.status_code == 200:
                _purge_expired()  # after the write: a failing purge must not stand between a request and its rows
        return response

    return wrapper
