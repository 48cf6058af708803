"""Idempotency-Key on /predict and /predict/batch: a retry within 24 h gets the first answer and stores nothing new.

The keys live in the database (table `idempotency_keys`), so every gunicorn worker sees them. A valid request claims
its key, just before scoring, with an insert that the unique constraint lets only one request win; the winner stores
its 200 answer there, any other outcome releases the key so that the client may retry. An invalid body gets its 422
whatever the key: there is nothing to protect.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import Response, g, make_response, request
from sqlalchemy.exc import IntegrityError

from futurisys.api.body import read_body
from futurisys.errors import error_response
from futurisys.extensions import db
from futurisys.models import utcnow

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = timedelta(hours=24)
# A claim whose request never finished (worker killed mid-request) is forgotten after this long.
ABANDONED_AFTER = timedelta(minutes=5)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyKey(db.Model):
    """A key sent by an integrator, the request it came with, and the answer it got (once answered)."""

    __tablename__ = "idempotency_keys"
    id = sa.Column(sa.Integer, primary_key=True)
    # The API key's name, or "" without one: two integrators may pick the same idempotency key.
    scope = sa.Column(sa.String(64), nullable=False)
    key = sa.Column(sa.String(255), nullable=False)
    # SHA-256 of the method, path, query string and body: the same key with another request is refused.
    fingerprint = sa.Column(sa.String(64), nullable=False)
    # NULL while the first request is being answered.
    status_code = sa.Column(sa.Integer, nullable=True)
    response_body = sa.Column(sa.Text, nullable=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    __table_args__ = (sa.UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)


def _fingerprint(body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.rstrip("/").encode(), request.query_string, body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _claim(scope: str, key: str, fingerprint: str):
    """None when this request may go ahead (the key is now its own), else the answer to give instead."""
    table = IdempotencyKey.__table__
    now = utcnow()
    try:
        with db.engine.begin() as connection:
            connection.execute(
                table.delete().where(
                    sa.or_(
                        table.c.created_at < now - TTL,
                        sa.and_(table.c.status_code.is_(None), table.c.created_at < now - ABANDONED_AFTER),
                    )
                )
            )
            connection.execute(table.insert().values(scope=scope, key=key, fingerprint=fingerprint, created_at=now))
        return None
    except IntegrityError:
        pass
    with db.engine.connect() as connection:
        row = connection.execute(
            sa.select(table.c.fingerprint, table.c.status_code, table.c.response_body).where(
                table.c.scope == scope, table.c.key == key
            )
        ).first()
    if row is None or row.status_code is None:
        response = make_response(
            error_response(
                409, f"Une requête avec cette clé {HEADER} est en cours de traitement : réessayez dans un instant."
            )
        )
        response.headers["Retry-After"] = "1"
        return response
    if row.fingerprint != fingerprint:
        message = f"Cette clé {HEADER} a déjà servi pour une autre requête : choisissez-en une nouvelle."
        return error_response(
            422,
            message,
            {HEADER: [message]},
            detail=[{"loc": ["header", HEADER], "msg": message, "type": "value_error"}],
        )
    replay = Response(row.response_body, status=row.status_code, mimetype="application/json")
    replay.headers[REPLAYED_HEADER] = "true"
    return replay


def _settle(scope: str, key: str, response: Response | None) -> None:
    """Store the 200 answer under the key, or release the key for any other outcome."""
    table = IdempotencyKey.__table__
    where = (table.c.scope == scope, table.c.key == key, table.c.status_code.is_(None))
    with db.engine.begin() as connection:
        if response is not None and response.status_code == 200:
            connection.execute(
                table.update()
                .where(*where)
                .values(status_code=response.status_code, response_body=response.get_data(as_text=True))
            )
        else:
            connection.execute(table.delete().where(*where))


def claim():
    """Call once the request is valid, before storing: None to go ahead, else the answer to give instead.

    Without the header, always None. With it: the first answer again (a retry), a 422 (the key was used for
    another request) or a 409 (the first request with this key is still being answered).
    """
    key = request.headers.get(HEADER)
    if key is None:
        return None
    scope, key = g.get("api_key_name") or "", key.strip()
    answer = _claim(scope, key, _fingerprint(read_body()))
    if answer is None:
        g.idempotency_claim = (scope, key)
    return answer


def idempotent(view):
    """Wrap a scoring view that calls `claim()`: check the header first, then settle the key with the answer."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is not None and not _KEY.match(key.strip()):
            return error_response(400, f"En-tête {HEADER} invalide : 1 à 255 caractères ASCII visibles.")
        response = None
        try:
            response = make_response(view(*args, **kwargs))
        finally:
            settling = g.pop("idempotency_claim", None)
            if settling is not None:
                _settle(*settling, response)
        return response

    return wrapper
