"""Failed-login throttling per account and per address, kept in `login_failures` so every worker sees it."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.models import LoginFailure, utcnow

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20

_table = LoginFailure.__table__


def _count(column, value, since) -> int:
    query = sa.select(sa.func.count()).select_from(_table).where(column == value, _table.c.created_at >= since)
    return db.session.scalar(query)


def is_throttled(username: str, address: str) -> bool:
    """Whether too many recent failures came for this account or from this address."""
    since = utcnow() - WINDOW
    return (_count(_table.c.username, username, since) >= MAX_PER_ACCOUNT
            or _count(_table.c.address, address, since) >= MAX_PER_ADDRESS)


def record_failure(username: str, address: str) -> None:
    """Remember a failed attempt, and forget the ones that have left the window."""
    now = utcnow()
    with db.engine.begin() as connection:
        connection.execute(_table.delete().where(_table.c.created_at < now - WINDOW))
        connection.execute(_table.insert(), {"username": username, "address": address, "created_at": now})


def clear_failures(username: str) -> None:
    """Forget an account's failures after it logged in successfully."""
    with db.engine.begin() as connection:
        connection.execute(_table.delete().where(_table.c.username == username))
