"""Accounts and sessions: login, logout, the `users` commands and the role checks other blueprints use."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from futurisys.auth import routes  # noqa: E402,F401


def init_app(app) -> None:
    """Register the login pages, the session settings and the `users` commands."""
    from futurisys.auth.access import configure_login_manager
    from futurisys.auth.cli import users_cli

    configure_login_manager(app)
    app.register_blueprint(bp)
    app.cli.add_command(users_cli)
