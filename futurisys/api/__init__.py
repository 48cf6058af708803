"""JSON API for integrators and operators: /predict, /health, /ready, /model."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from futurisys.api import (  # noqa: E402,F401  (routes attach themselves to bp)
    batch,
    keys,  # noqa: E402
    lots,
    openapi,
    routes,
)

bp.before_request(keys.authenticate_request)  # X-API-Key on /predict and /predict/batch


def init_app(app) -> None:
    """Register the API (JSON clients send no CSRF token)."""
    from futurisys.api.docs import docs_bp
    from futurisys.extensions import csrf

    csrf.exempt(bp)
    keys.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(docs_bp)
