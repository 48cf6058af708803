"""`flask --app futurisys users …`: accounts of HR staff and admins (there is no built-in account)."""

from __future__ import annotations

from datetime import UTC

import click
from flask.cli import AppGroup

from futurisys.storage.models import User

users_cli = AppGroup("users", help="Accounts of HR staff (role hr) and admins (role admin).")
_PASSWORD_OPTION = dict(
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted (hidden, twice) when omitted; pass it only from scripts.",
)


def _database() -> str:
    from futurisys.auth.accounts import database_name

    return database_name()


def _run(action):
    from futurisys.auth.accounts import AccountError

    try:
        return action()
    except AccountError as exc:
        raise click.ClickException(f"{exc} (database: {_database()})") from None


@users_cli.command("create")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(User.ROLES),
    required=True,
    help="admin: everything; hr: HR pages; dpo: journal, files, settings (read-only).",
)
@click.option("--password", **_PASSWORD_OPTION)
def create_command(username: str, role: str, password: str) -> None:
    """Create an account with a hashed password."""
    from futurisys.auth.accounts import create_user

    user = _run(lambda: create_user(username, password, role))
    click.echo(f"user {user.username!r} created with role {user.role} in {_database()}")


@users_cli.command("list")
def list_command() -> None:
    """List the accounts: name, role, state, last login (UTC)."""
    import sqlalchemy as sa

    from futurisys.extensions import db

    users = db.session.scalars(sa.select(User).order_by(User.username)).all()
    click.echo(f"accounts in {_database()}:" if users else f"no accounts in {_database()}")
    for user in users:
        state = "disabled" if user.disabled_at else "active"
        last = f"{_utc(user.last_login_at):%Y-%m-%d %H:%M} UTC" if user.last_login_at else "never"
        click.echo(f"  {user.username:<24} {user.role:<6} {state:<9} last login: {last}")


def _utc(moment):
    # SQLite gives naive datetimes back (already UTC); PostgreSQL gives aware ones, in the session's time zone.
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password", **_PASSWORD_OPTION)
def set_password_command(username: str, password: str) -> None:
    """Change an account's password (and re-enable it); its open sessions end."""
    from futurisys.auth.accounts import change_password

    user = _run(lambda: change_password(username, password))
    click.echo(f"password of {user.username!r} changed in {_database()}; its open sessions are ended")


@users_cli.command("disable")
@click.argument("username")
def disable_command(username: str) -> None:
    """Disable an account: no more logins, open sessions end (set-password re-enables it)."""
    from futurisys.auth.accounts import disable_user

    user = _run(lambda: disable_user(username))
    click.echo(f"user {user.username!r} disabled in {_database()}")


@users_cli.command("bootstrap")
@click.option(
    "--generate",
    is_flag=True,
    help="With no ADMIN_USERNAME/ADMIN_PASSWORD, create 'admin' with a random password printed once.",
)
def bootstrap_command(generate: bool) -> None:
    """First admin account, only on a database with no account: from ADMIN_USERNAME/ADMIN_PASSWORD, or generated."""
    from futurisys.auth.accounts import bootstrap_admin

    for line in _run(lambda: bootstrap_admin(generate)):
        click.echo(line)
