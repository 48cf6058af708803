"""Integrator API keys: created and revoked from the CLI, stored hashed, sent as `X-API-Key`.

A key is `fx_` + 32 random bytes (URL-safe base64). Only its SHA-256 is stored: a fast unsalted hash is right
for a high-entropy random secret (nothing to brute-force, unlike a password), and it makes the lookup one
indexed equality on `key_hash`. Comparing hashes in the database leaks nothing about the key's characters, so
no constant-time comparison is needed.

Every check is that one indexed query, not an in-process cache: a revoked key stops working at once in every
gunicorn worker, for well under a millisecond per request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC

import click
import sqlalchemy as sa
from flask import current_app, g, make_response, request
from flask.cli import AppGroup

from futurisys.errors import error_response
from futurisys.extensions import db
from futurisys.storage.models import ApiKey, utcnow

HEADER = "X-API-Key"
KEY_PREFIX = "fx_"
# Shown by `apikeys list` to tell keys apart: "fx_" and 5 of the 43 random characters (the other 38 stay secret).
SHOWN_PREFIX_LENGTH = 8
_MAX_KEY_LENGTH = 128
#: The endpoints a key guards; documentation, health and metrics stay open.
PROTECTED_ENDPOINTS = frozenset(
    {
        "api.predict",
        "api.predict_batch",
        "api.create_lot",
        "api.lot_status",
        "api.lot_result",
        "outcomes_api.record_outcomes",
    }
)

apikeys_cli = AppGroup("apikeys", help="Integrator API keys (sent as the X-API-Key header).")


def hash_key(key: str) -> str:
    """The stored form of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create(name: str) -> str:
    """Store a new key called `name` and return the key itself (it cannot be recovered later)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiKey(name=name, key_hash=hash_key(key), prefix=key[:SHOWN_PREFIX_LENGTH]))
    db.session.commit()
    return key


def verify(key: str | None) -> ApiKey | None:
    """The active key matching `key`, or None when it is absent, unknown or revoked."""
    if not key or len(key) > _MAX_KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return None
    return db.session.execute(
        sa.select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()


def revoke(name: str) -> ApiKey | None:
    """Mark the key called `name` revoked (idempotent); None when there is no such key."""
    api_key = db.session.execute(sa.select(ApiKey).where(ApiKey.name == name)).scalar_one_or_none()
    if api_key is not None and api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        db.session.commit()
    return api_key


def authenticate_request():
    """Before the scoring endpoints: remember a valid key's name; 401 for a bad key, or no key when required.

    A key that is sent must be valid even when keys are optional, so that a revoked or mistyped key is noticed
    instead of silently scoring without attribution.
    """
    if request.endpoint not in PROTECTED_ENDPOINTS:
        return None
    key = request.headers.get(HEADER, "").strip() or None  # an empty header counts as absent
    if key is None and not current_app.config.get("API_KEYS_REQUIRED"):
        return None
    api_key = verify(key)
    if api_key is not None:
        g.api_key_name = api_key.name
        return None
    if key:
        message = "Clé d'API invalide ou révoquée."
    else:
        message = f"Clé d'API manquante : envoyez-la dans l'en-tête {HEADER}."
    response = make_response(error_response(401, message))
    response.headers["WWW-Authenticate"] = "ApiKey"
    return response


@apikeys_cli.command("create")
@click.argument("name")
def create_command(name: str) -> None:
    """Create a key called NAME and print it (the only time it is shown)."""
    name = name.strip()
    if not 0 < len(name) <= ApiKey.name.type.length:
        raise click.UsageError(f"NAME must be 1 to {ApiKey.name.type.length} characters")
    if db.session.execute(sa.select(ApiKey.id).where(ApiKey.name == name)).first():
        # Even once revoked: predictions keep the key's name, so a name must never point at two keys.
        raise click.ClickException(f"a key named {name!r} already exists (names are never reused: choose another)")
    key = create(name)
    click.echo(f"API key {name!r} created in {_database()}. Copy it now, it will not be shown again:")
    click.echo(key)


@apikeys_cli.command("list")
def list_command() -> None:
    """List the keys: name, prefix, creation and revocation dates (never the keys)."""
    keys = db.session.execute(sa.select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).scalars().all()
    if not keys:
        click.echo(f"no API keys in {_database()}")
        return
    click.echo(f"API keys in {_database()}:")
    width = max(len("NAME"), *(len(k.name) for k in keys))
    click.echo(f"{'NAME':<{width}}  {'PREFIX':<{SHOWN_PREFIX_LENGTH + 1}}  {'CREATED (UTC)':<16}  REVOKED (UTC)")
    for k in keys:
        revoked = _utc_minute(k.revoked_at) if k.revoked_at else "-"
        click.echo(
            f"{k.name:<{width}}  {k.prefix + '…':<{SHOWN_PREFIX_LENGTH + 1}}  {_utc_minute(k.created_at)}  {revoked}"
        )


@apikeys_cli.command("revoke")
@click.argument("name")
def revoke_command(name: str) -> None:
    """Revoke the key called NAME: requests sending it get 401 from now on."""
    api_key = revoke(name)
    if api_key is None:
        raise click.ClickException(f"no API key named {name!r}")
    click.echo(f"API key {name!r} is revoked in {_database()} (since {_utc_minute(api_key.revoked_at)} UTC)")


def _database() -> str:
    from futurisys.storage.db_check import shown

    return shown(db.engine.url)


def _utc_minute(moment) -> str:
    # SQLite gives naive datetimes back (already UTC); PostgreSQL gives aware ones.
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def init_app(app) -> None:
    """Register the `apikeys` command group."""
    app.cli.add_command(apikeys_cli)
