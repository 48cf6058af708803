"""Interactive API documentation (Swagger UI) served from this service: GET /docs, no CDN."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, send_from_directory
from swagger_ui_bundle import swagger_ui_path

docs_bp = Blueprint("docs", __name__)

# Only the files the page uses: the bundle's demo index.html would load the Petstore from the internet.
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"})


@docs_bp.get("/docs")
def index():
    """Swagger UI pointed at /openapi.json, with "Try it out" against this same origin."""
    return render_template("docs/index.html")


@docs_bp.get("/docs/assets/<name>")
def asset(name: str):
    """A file of the swagger-ui-bundle package."""
    if name not in ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name)


@docs_bp.before_app_request
def predict_in_a_browser():
    """A browser opening /predict gets a French page saying what it is for (405); API clients, the JSON 405."""
    # A hook, not a route: OPTIONS /predict keeps advertising POST only, as the OpenAPI document says.
    if request.method != "GET" or request.path.rstrip("/") != "/predict":
        return None
    if not any(value == "text/html" for value, _ in request.accept_mimetypes):
        return None
    return render_template("docs/predict.html"), 405, {"Allow": "POST, OPTIONS"}
