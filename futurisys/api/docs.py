"""Interactive API documentation (Swagger UI) served from this service: GET /docs, no CDN."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, send_from_directory
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
