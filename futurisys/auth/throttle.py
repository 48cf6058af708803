"""Login throttling after OWASP's device cookies, kept in `login_failures` so every worker shares it.

An attempt is recorded *before* the password is checked and counted after: of N parallel attempts, only those
whose row landed within the limit go on, so guessing cannot outrun the count. Failures made without a valid
device cookie are limited per account; failures made with one, per device. A real user who once logged in from
their browser keeps a device cookie and is not locked out by someone guessing from elsewhere.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeTimedSerializer

from futurisys.extensions import db
from futurisys.storage.models import LoginFailure, utcnow

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT = 5  # failures without a device cookie, per account
MAX_PER_DEVICE = 5  # failures with one device cookie
MAX_PER_ADDRESS = 20
DEVICE_COOKIE = "futurisys_appareil"
DEVICE_COOKIE_AGE = timedelta(days=365)

_table = LoginFailure.__table__


@dataclass(frozen=True)
class Attempt:
    """A login attempt being checked: its row in `login_failures` and the device it came from, if trusted."""

    row_id: int
    username: str
    device: str | None


def _signer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="futurisys-device-cookie")


def new_device_cookie(secret_key: str, username: str) -> str:
    """A signed device cookie for `username` (given after a successful login)."""
    return _signer(secret_key).dumps({"u": username, "d": secrets.token_hex(16)})


def trusted_device(secret_key: str, cookie: str | None, username: str) -> str | None:
    """The device id of a valid, unexpired cookie issued to `username`; None otherwise."""
    if not cookie:
        return None
    try:
        payload = _signer(secret_key).loads(cookie, max_age=int(DEVICE_COOKIE_AGE.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("u") != username or not isinstance(payload.get("d"), str):
        return None
    return payload["d"]


def _count(*conditions, since) -> int:
    query = sa.select(sa.func.count()).select_from(_table).where(_table.c.created_at >= since, *conditions)
    return db.session.scalar(query)


def begin(username: str, address: str, device: str | None) -> Attempt | None:
    """Record an attempt, then count: the Attempt when it may check a password, None when a limit is reached."""
    now = utcnow()
    with db.engine.begin() as connection:
        connection.execute(_table.delete().where(_table.c.created_at < now - WINDOW))
        row_id = connection.execute(
            _table.insert().returning(_table.c.id),
            {"username": username, "address": address, "device": device, "created_at": now},
        ).scalar_one()
    since = now - WINDOW
    scope = _table.c.device == device if device else sa.and_(_table.c.username == username, _table.c.device.is_(None))
    limit = MAX_PER_DEVICE if device else MAX_PER_ACCOUNT
    allowed = (
        _count(scope, since=since) <= limit and _count(_table.c.address == address, since=since) <= MAX_PER_ADDRESS
    )
    db.session.rollback()  # end the read transaction the counts opened
    if not allowed:
        _delete(_table.c.id == row_id)  # a refused attempt checked nothing: it does not prolong the lock
        return None
    return Attempt(row_id, username, device)


def succeeded(attempt: Attempt) -> None:
    """Forget this attempt and the failures of its scope (the device, or the account's untrusted ones)."""
    scope = (
        _table.c.device == attempt.device
        if attempt.device
        else sa.and_(_table.c.username == attempt.username, _table.c.device.is_(None))
    )
    _delete(sa.or_(_table.c.id == attempt.row_id, scope))


def _delete(condition) -> None:
    with db.engine.begin() as connection:
        connection.execute(_table.delete().where(condition))
