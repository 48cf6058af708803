"""Interactive API documentation (Swagger UI) served from this service: GET /docs, no CDN."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import MethodNotAllowed

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


@docs_bp.get("/predict", strict_slashes=False)
def predict_in_a_browser():
    """Not an API route (POST /predict is): browsers get a French page saying what it is for; clients, the 405."""
    if any(value == "text/html" for value, _ in request.accept_mimetypes):
        page = render_template("docs/predict.html")
        return page, 405, {"Allow": "POST", "Content-Type": "text/html; charset=utf-8"}
    raise MethodNotAllowed(valid_methods=["POST", "OPTIONS"])
