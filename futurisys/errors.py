"""One error helper: JSON for API clients, an HTML page for browsers."""
from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from futurisys.extensions import db
from futurisys.metrics import count_db_error
from futurisys.model_store import ModelUnavailable

log = logging.getLogger(__name__)
JSON_BLUEPRINTS = {"api"}
# Paths of the JSON API, for errors raised before a blueprint is matched (404, 405 on those URLs).
JSON_PATHS = ("/predict",)


def wants_json() -> bool:
    """API routes always answer JSON; elsewhere, whoever prefers JSON to HTML gets JSON."""
    if request.blueprint in JSON_BLUEPRINTS or request.is_json or request.path.startswith(JSON_PATHS):
        return True
    accept = request.accept_mimetypes
    return accept.best_match(["text/html", "application/json"]) == "application/json"


def error_response(status: int, message: str, errors: dict | None = None):
    """The error as `{"error": message, "errors": {...}}` or as the HTML error page, with `status`."""
    if wants_json():
        body = {"error": message}
        if errors:
            body["errors"] = errors
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message, errors=errors or {}), status


#: What an HTTP error says when the code raising it gave no message of its own (Werkzeug's are in English).
FRENCH_MESSAGES = {
    400: "Requête invalide.", 401: "Authentification requise.", 403: "Accès refusé.",
    404: "Page introuvable : l'adresse est peut-être mal saisie, ou la page n'existe plus.",
    405: "Méthode non autorisée pour cette adresse.", 406: "Format de réponse non disponible.",
    408: "Délai de la requête dépassé.", 409: "Conflit avec l'état actuel des données.",
    413: "Requête trop volumineuse.", 415: "Type de contenu non pris en charge.",
    422: "Données invalides.", 429: "Trop de requêtes : réessayez dans quelques minutes.",
    500: "Erreur interne.", 503: "Service momentanément indisponible, réessayez plus tard.",
}


def _http_error(exc: HTTPException):
    status = exc.code or 500
    default = type(exc).description  # the class's own (English) text: replaced by the French one
    message = exc.description if exc.description and exc.description != default else None
    return error_response(status, message or FRENCH_MESSAGES.get(status, "Erreur."))


def _csrf_error(exc: CSRFError):
    return error_response(400, "Le formulaire n'a pas pu être vérifié (jeton de sécurité absent ou expiré). "
                               "Rechargez la page et recommencez.")


def _model_unavailable(exc: ModelUnavailable):
    return error_response(503, f"Modèle indisponible : {exc}")


def _database_error(exc: SQLAlchemyError):
    db.session.rollback()
    count_db_error(exc)
    unavailable = isinstance(exc, (OperationalError, PoolTimeout)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)
    if unavailable:
        return error_response(503, "Base de données indisponible, réessayez plus tard.")
    log.exception("database error on %s %s", request.method, request.path)
    return error_response(500, "Erreur interne.")


def _unexpected(exc: Exception):
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "Erreur interne.")


def init_app(app) -> None:
    """Register the handlers on `app`."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(ModelUnavailable, _model_unavailable)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(Exception, _unexpected)
