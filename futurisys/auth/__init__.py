"""Accounts and sessions: login, logout."""
from flask import Blueprint

bp = Blueprint("auth", __name__)


def init_app(app) -> None:
    """Register the login pages and commands."""
    app.register_blueprint(bp)
