"""`flask --app futurisys users …`: accounts of the admin area (there is no default account)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from futurisys.models import User

users_cli = AppGroup("users", help="Accounts of the admin area.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(User.ROLES), required=True, help="admin: the admin area; hr: HR staff.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted (hidden, twice) when omitted; pass it only from scripts.")
def create_command(username: str, role: str, password: str) -> None:
    """Create an account with a hashed password."""
    from futurisys.auth.accounts import AccountError, create_user

    try:
        user = create_user(username, password, role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {user.username!r} created with role {user.role}")
