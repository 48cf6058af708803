"""JSON API for integrators and operators: /predict, /health, /ready, /model."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from futurisys.api import routes  # noqa: E402,F401  (routes attach themselves to bp)
