"""The admin area: prediction history, export, dashboard, drift, model card."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


def init_app(app) -> None:
    """Register the admin pages and commands."""
    app.register_blueprint(bp)
