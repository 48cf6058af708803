"""Creating accounts: the rules on usernames and passwords, in one place for the CLI and the tests."""

from __future__ import annotations

import os
import re
import secrets

import sqlalchemy as sa
from flask import current_app

from futurisys.extensions import db
from futurisys.storage.models import User, utcnow

MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[a-z0-9._@-]{2,64}$")


#: The cheapest password hashing production accepts: werkzeug's defaults (scrypt N=2**15, r=8; pbkdf2 1,000,000).
_MIN_SCRYPT_COST = (2**15, 8, 1)
_MIN_PBKDF2_ITERATIONS = 1_000_000


def strong_hash_method(method: str) -> bool:
    """Whether werkzeug's hashing `method` costs at least its defaults (a lower cost is for the tests only)."""
    name, *params = method.split(":")
    if name in ("scrypt", "pbkdf2") and not params:
        return True  # werkzeug's own defaults
    if name == "scrypt" and len(params) == 3 and all(p.isdigit() for p in params):
        return all(int(p) >= least for p, least in zip(params, _MIN_SCRYPT_COST, strict=True))
    if name == "pbkdf2" and len(params) == 2 and params[1].isdigit():
        return int(params[1]) >= _MIN_PBKDF2_ITERATIONS
    return False


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
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    db.session.commit()
    return user


def find_user(username: str) -> User:
    """The account called `username`; AccountError when there is none."""
    user = db.session.scalar(sa.select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise AccountError(f"no user {normalise_username(username)!r}")
    return user


def change_password(username: str, password: str) -> User:
    """Set a new password (ending every open session of the account) and commit."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters long")
    user = find_user(username)
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    user.disabled_at = None
    db.session.commit()
    return user


def disable_user(username: str) -> User:
    """Disable an account: it can no longer log in and its open sessions end at their next request."""
    user = find_user(username)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    user.end_sessions()
    db.session.commit()
    return user


def has_accounts() -> bool:
    """Whether the database holds any account."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) > 0


def generated_password() -> str:
    """A strong random password for a first account (shown once, to be changed)."""
    return secrets.token_urlsafe(15)


def bootstrap_admin(generate: bool) -> list[str]:
    """The first admin account, on a database with none; the lines to print (the password only when generated).

    From ADMIN_USERNAME/ADMIN_PASSWORD when both are set (the container image); otherwise, with `generate`, an
    `admin` account with a random password (run.sh); otherwise nothing but a hint.
    """
    if has_accounts():
        listing = _command("users list")
        return [f"{database_name()} already has accounts: no first admin created; list them with {listing}"]
    username, password = os.environ.get("ADMIN_USERNAME"), os.environ.get("ADMIN_PASSWORD")
    if username and password:
        user = create_user(username, password, "admin")
        return [f"First admin account {user.username!r} created in {database_name()}."]
    if not generate:
        return [f"No account yet in {database_name()}: create one with {_command('users create NAME --role admin')}"]
    password = generated_password()
    user = create_user(username or "admin", password, "admin")
    return [
        f"First admin account {user.username!r} created in {database_name()}.",
        "",
        f"    username: {user.username}",
        f"    password: {password}",
        "",
        "This password is shown only once. Change it now with:",
        f"    {_command('users set-password ' + user.username)}",
        "",
    ]


def _command(arguments: str) -> str:
    # The command to type, on this very database (it names DATABASE_URL when a new shell would use another one).
    from futurisys.storage.db_check import command

    return command(arguments, db.engine.url, current_app.instance_path)


def database_name() -> str:
    """The database accounts are written to, password hidden: a newcomer sees at once which one it is."""
    return db.engine.url.render_as_string(hide_password=True)
