"""One error helper: JSON for API clients, an HTML page for browsers."""

from __future__ import annotations

import logging
import traceback

from flask import g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from futurisys.extensions import db, login_manager
from futurisys.metrics import count_db_error
from futurisys.registry.loading import ModelUnavailable
from futurisys.storage.predictions import OutcomeUnknown, database_unavailable

try:  # gunicorn's body reader raises these inside the app (a bad chunked body): a client error
    from gunicorn.http.errors import NoMoreData, ParseException
except ImportError:  # served by another server
    NoMoreData = ParseException = None

log = logging.getLogger(__name__)
JSON_BLUEPRINTS = {"api", "outcomes_api"}
# Paths of the JSON API, for errors raised before a blueprint is matched (404, 405 on those URLs).
JSON_PATH_PREFIX = "/predict"
JSON_PATHS = frozenset({"/health", "/ready", "/model", "/metrics", "/openapi.json", "/outcomes"})
#: French messages for werkzeug's own (English) descriptions, by status.
FRENCH_MESSAGES = {
    400: "Requête invalide.",
    401: "Authentification requise.",
    403: "Accès refusé.",
    404: "Adresse introuvable.",
    405: "Méthode non autorisée pour cette adresse.",
    406: "Format de réponse non disponible.",
    408: "Délai d'attente de la requête dépassé.",
    409: "Conflit avec l'état actuel des données.",
    411: "En-tête Content-Length requis.",
    413: "Corps de la requête trop volumineux.",
    414: "Adresse trop longue.",
    415: "Type de contenu non pris en charge.",
    422: "Données invalides.",
    429: "Trop de requêtes, réessayez plus tard.",
    431: "En-têtes de la requête trop volumineux.",
    500: "Erreur interne.",
    501: "Méthode non prise en charge.",
    503: "Service momentanément indisponible, réessayez plus tard.",
}
# Headers of an HTTPException worth keeping on the error answer (405 Allow, 401 WWW-Authenticate, 429 Retry-After).
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


def wants_json() -> bool:
    """API routes always answer JSON; elsewhere, whoever prefers JSON to HTML gets JSON."""
    path = request.path.rstrip("/") or "/"
    if (
        request.blueprint in JSON_BLUEPRINTS
        or request.is_json
        or path.startswith(JSON_PATH_PREFIX)
        or path in JSON_PATHS
    ):
        return True
    accept = request.accept_mimetypes
    return accept.best_match(["text/html", "application/json"]) == "application/json"


def _printable(text: str) -> str:
    # A lone surrogate sent as "\ud800" and echoed in a message cannot be encoded in UTF-8: replace it.
    return text.encode("utf-8", "replace").decode("utf-8")


def _clean(errors):
    if isinstance(errors, dict):
        return {_printable(str(key)): _clean(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_clean(value) for value in errors]
    return _printable(str(errors))


def detail_list(errors: dict, loc: tuple = ("body",)) -> list[dict]:
    """The errors in the original framework's layout: [{"loc": [...], "msg": ..., "type": ...}]."""
    out = []
    for key, value in errors.items():
        where = loc if key in ("_body", "_record") else (*loc, int(key) if key.isdigit() else key)
        if isinstance(value, dict):
            out += detail_list(value, where)
        else:
            out += [{"loc": list(where), "msg": message, "type": "value_error"} for message in value]
    return out


def error_response(status: int, message: str, errors: dict | None = None, **extra):
    """The error as `{"error": message, "errors": {...}}` or as the HTML error page, with `status`.

    A 422 also carries `detail`, the errors as the original framework listed them; `extra` adds JSON members.
    """
    message, errors = _printable(message), _clean(errors or {})
    if wants_json():
        body = {"error": message}
        if errors:
            body["errors"] = errors
            if status == 422:
                body["detail"] = detail_list(errors)
        body.update(extra)
        return jsonify(body), status
    if status >= 500 and "_login_user" not in g:
        # A server error page draws the menu as for a visitor rather than read the account: the database may be
        # what failed, and the page must answer without waiting on it.
        g._login_user = login_manager.anonymous_user()
    return render_template("errors/error.html", status=status, message=message, errors=errors), status


def _http_error(exc: HTTPException):
    status = exc.code or 500
    default = exc.description == type(exc).description  # werkzeug's English text, not one of ours
    message = FRENCH_MESSAGES.get(status, "Erreur.") if default or not exc.description else exc.description
    response = make_response(error_response(status, message))
    for name, value in exc.get_headers():
        if name in _KEPT_HEADERS:
            response.headers[name] = value
    return response


def _csrf_error(exc: CSRFError):
    return error_response(
        400,
        "Le formulaire n'a pas pu être vérifié (jeton de sécurité absent ou expiré). Rechargez la page et recommencez.",
    )


def _model_unavailable(exc: ModelUnavailable):
    # The reason (paths, library messages) goes to the log, not to the client.
    log.warning("model unavailable: %s", exc)
    return error_response(503, "Modèle indisponible, réessayez plus tard.")


def _outcome_unknown(exc: OutcomeUnknown):
    """503: the write was sent but not confirmed; a retry with the request's idempotency key is safe."""
    db.session.rollback()
    count_db_error(exc.__cause__)
    request_key = g.get("request_key")
    if request_key is None:  # the HR form: the evaluation is found in the list if it was stored
        response = make_response(
            error_response(
                503,
                "Base de données indisponible : l'évaluation a peut-être été enregistrée. Vérifiez la liste de vos "
                "évaluations avant de recommencer.",
            )
        )
    else:
        response = make_response(
            error_response(
                503,
                "Issue inconnue : la base de données n'a pas confirmé l'enregistrement. Renvoyez la même requête "
                f"avec l'en-tête Idempotency-Key: {request_key.key} : vous recevrez la prédiction enregistrée s'il "
                "y en a une, sinon elle sera enregistrée une seule fois.",
                idempotency_key=request_key.key,
                outcome="unknown",
            )
        )
        response.headers["Idempotency-Key"] = request_key.key
    response.headers["Retry-After"] = "2"
    return response


#: SQLSTATE of a write refused by a read-only database (a standby, or a primary during a failover).
READ_ONLY_SQLSTATE = "25006"


def _database_error(exc: SQLAlchemyError):
    db.session.rollback()
    count_db_error(exc)
    if getattr(getattr(exc, "orig", None), "pgcode", None) == READ_ONLY_SQLSTATE:
        response = make_response(
            error_response(
                503,
                "Base de données en lecture seule (bascule en cours) : rien n'a été enregistré, réessayez plus tard.",
            )
        )
        response.headers["Retry-After"] = "5"
        return response
    if database_unavailable(exc):
        return error_response(503, "Base de données indisponible, réessayez plus tard.")
    _log_without_values("database error", exc)
    return error_response(500, "Erreur interne.")


def _unreadable_input(exc: Exception):
    # Safety net for input that defeats a parser (nesting depth, huge numbers, unencodable text): a client error.
    db.session.rollback()
    log.warning("unreadable input on %s %s: %s", request.method, request.path, type(exc).__name__)
    return error_response(
        400, "Requête illisible (imbrication trop profonde, nombre hors limites ou texte non encodable)."
    )


def _bad_framing(exc: Exception):
    log.warning("unreadable body on %s %s: %s", request.method, request.path, type(exc).__name__)
    return error_response(400, "Corps de la requête mal formé (découpage chunked invalide ou incomplet).")


def _log_without_values(what: str, exc: Exception) -> None:
    """Log an error's type, SQLSTATE and stack, never its message: messages quote values (PostgreSQL's DETAIL
    lines, a KeyError's key, a ValueError's input), and those may be personal data."""
    original = getattr(exc, "orig", None)
    code = getattr(original, "pgcode", None)
    log.error(
        "%s on %s %s: %s%s%s\n%s",
        what,
        request.method,
        request.path,
        type(exc).__name__,
        f" ({type(original).__name__})" if original is not None else "",
        f" SQLSTATE {code}" if code else "",
        "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
    )


def _unexpected(exc: Exception):
    db.session.rollback()
    _log_without_values("unhandled error", exc)
    return error_response(500, "Erreur interne.")


def init_app(app) -> None:
    """Register the handlers on `app`."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(ModelUnavailable, _model_unavailable)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(OutcomeUnknown, _outcome_unknown)
    if ParseException is not None:
        app.register_error_handler(ParseException, _bad_framing)
        app.register_error_handler(NoMoreData, _bad_framing)
    for unreadable in (RecursionError, OverflowError, UnicodeError):
        app.register_error_handler(unreadable, _unreadable_input)
    app.register_error_handler(Exception, _unexpected)
