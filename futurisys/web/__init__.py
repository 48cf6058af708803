"""Pages for HR staff: the evaluation form and its result."""
from flask import Blueprint

bp = Blueprint("web", __name__)

from futurisys.web import batch, routes  # noqa: E402,F401


def init_app(app) -> None:
    """Register the HR pages."""
    app.register_blueprint(bp)
