"""JSON API for integrators and operators: /predict, /health, /ready, /model."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from futurisys.api import routes  # noqa: E402,F401  (routes attach themselves to bp)


def init_app(app) -> None:
    """Register the API (JSON clients send no CSRF token)."""
    from futurisys.extensions import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)
