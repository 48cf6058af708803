"""Creating accounts: the rules on usernames and passwords, in one place for the CLI and the tests."""
from __future__ import annotations

import re

import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.models import User

MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[a-z0-9._@-]{2,64}$")


class AccountError(ValueError):
    """An account cannot be created as asked (the message says why)."""


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared stripped and lower-cased."""
    return username.strip().lower()


def create_user(username: str, password: str, role: str) -> User:
    """Create and commit an account; raise AccountError for a bad name, a short password or a duplicate."""
    username = normalise_username(username)
    if not _USERNAME.match(username):
        raise AccountError("username must be 2 to 64 characters among letters, digits and . _ @ -")
    if role not in User.ROLES:
        raise AccountError(f"role must be one of: {', '.join(User.ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = User(username=username, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user
