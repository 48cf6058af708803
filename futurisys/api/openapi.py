"""The OpenAPI 3.1 document of the JSON API, served at GET /openapi.json, its examples scored by the loaded model."""

from __future__ import annotations

from flask import current_app, jsonify

from futurisys.api import bp
from futurisys.api.openapi_schemas import STRING, enum_schemas, record_schemas, ref, response_schemas
from futurisys.config import Config
from futurisys.domain import schema
from futurisys.domain.examples import EXAMPLE_RAW, as_exported
from futurisys.extensions import model_store
from futurisys.ml.features import derive_features
from futurisys.outcomes.openapi import openapi_parts as outcome_parts

EXTENSION_KEY = "futurisys.openapi"
API_VERSION = "1.0.0"

#: What the document shows when no model is loaded: no score or version of a real model.
GENERIC_PREDICTION = {"Prediction": schema.LEAVES, "Probabilite_depart": 0.9}


def example_answers(predictor) -> tuple[dict, dict]:
    """The answers of POST /predict for EXAMPLE_RAW and of GET /ready, by `predictor` (generic when None)."""
    if predictor is None:
        return GENERIC_PREDICTION, {"status": "ready"}
    score = predictor.predict_one(derive_features(EXAMPLE_RAW))
    prediction = {"Prediction": score.label, "Probabilite_depart": round(score.proba, 4)}
    return prediction, {"status": "ready", "model_version": predictor.version}


def _json(schema_: dict, description: str, **extra) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema_, **extra}}}


def _errors(*codes: int | str, batch: bool = False) -> dict:
    texts = {
        400: "Corps JSON mal formé ou incomplet, nombre hors limites, imbrication trop profonde.",
        401: "Clé d'API absente ou invalide (quand API_KEYS_REQUIRED est actif), ou pas de session.",
        403: "Compte sans accès à cette page.",
        409: "Une requête avec la même clé Idempotency-Key est en cours : réessayer un peu plus tard.",
        413: "Corps trop volumineux" + (" ou trop d'enregistrements." if batch else "."),
        415: "Content-Type autre que application/json (un corps sans Content-Type est lu comme du JSON).",
        422: "Données invalides : messages par champ"
        + (" et par index" if batch else "")
        + ", ou clé Idempotency-Key déjà utilisée pour une autre requête.",
        404: "Lot inconnu, d'une autre clé, pas terminé ou supprimé.",
        503: "Modèle ou base de données indisponible.",
        "4XX": "Requête refusée (adresse ou méthode inconnue…), avec le corps d'erreur habituel.",
    }
    return {str(code): _json(ref("BatchError" if batch and code == 422 else "Error"), texts[code]) for code in codes}


IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": "Rend les nouvelles tentatives sûres : pendant 24 h, une requête répétée avec la même clé reçoit "
    "la première réponse (en-tête Idempotent-Replayed: true) sans rien enregistrer de plus ; la même "
    "clé avec un autre corps donne 422.",
}
DETAILS_PARAMETER = {
    "name": "details",
    "in": "query",
    "required": False,
    "schema": {"type": "boolean", "default": False},
    "description": "Ajoute les identifiants stockés, la version du modèle, le seuil et les facteurs.",
}
RECOMMENDATIONS_PARAMETER = {
    "name": "recommendations",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 0, "maximum": 5, "default": 0},
    "description": "« Que faire ? » : ajoute `Recommandations`, les N changements des leviers (catalogue des "
    "leviers) qui baissent le plus le risque et la combinaison la moins coûteuse sous le seuil d'alerte, calculés "
    "exactement par le modèle ; ce que le modèle prédirait, pas un effet garanti.",
}
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "« true » quand la réponse est celle d'une requête précédente de même Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
OPEN: list = []  # `security: []`: no credentials needed
LOT_ID_PARAMETER = {"name": "job_id", "in": "path", "required": True, "schema": STRING}
LOT_NAME_PARAMETER = {
    "name": "nom",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Le nom du fichier, repris dans l'état du lot.",
}
LOT_UPLOAD = {
    "type": "object",
    "required": ["fichier"],
    "properties": {"fichier": {"type": "string", "format": "binary", "description": "Le fichier CSV."}},
}
LOT_ACCEPTED = {
    "type": "object",
    "required": ["id", "statut", "adresse"],
    "properties": {"id": STRING, "statut": STRING, "adresse": STRING},
}
LOT_STATUS = {
    "type": "object",
    "required": ["statut", "lignes_verifiees", "lignes_evaluees", "termine"],
    "properties": {
        "statut": {"type": "string", "enum": ["en_attente", "en_cours", "termine", "echoue", "annule"]},
        "phase": {"type": ["string", "null"]},
        "lignes_verifiees": {"type": "integer"},
        "lignes_evaluees": {"type": "integer"},
        "a_evaluer": {"type": ["integer", "null"]},
        "lignes_en_erreur": {"type": "integer"},
        "pourcent": {"type": "number"},
        "secondes_restantes": {"type": ["integer", "null"]},
        "termine": {"type": "boolean"},
        "resultat": STRING,
        "bandes": {"type": "object"},
        "message": STRING,
        "erreurs": {"type": "array", "items": {"type": "object"}},
    },
}
READY = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "not ready"]},
        "model_version": STRING,
        "reasons": {"type": "array", "items": STRING},
    },
}
MODEL = {
    "type": "object",
    "required": ["version", "threshold", "source"],
    "properties": {
        "version": STRING,
        "threshold": {"type": "number"},
        "source": {"type": "string", "description": "« local » ou hf://dépôt@révision"},
    },
}


def _operation(
    operation_id: str, summary: str, responses: dict, tag="Exploitation", security=OPEN, description="", **extra
) -> dict:
    """One operation; `extra` holds its parameters and request body."""
    head = {"operationId": operation_id, "tags": [tag], "summary": summary}
    if description:
        head["description"] = description
    return {**head, "security": security, **extra, "responses": responses}


def _paths(config, prediction: dict, ready: dict) -> dict:
    security = [{"ApiKeyAuth": []}] if config.get("API_KEYS_REQUIRED") else [{"ApiKeyAuth": []}, {}]
    features = derive_features(EXAMPLE_RAW)
    body_examples = {
        "caracteristiques": {"summary": "Les 30 caractéristiques (API d'origine)", "value": features},
        "dossier_brut": {"summary": "Dossier RH brut", "value": EXAMPLE_RAW},
        "export_rh": {"summary": "Dossier brut tel qu'exporté (« Oui », « 11 % »)", "value": as_exported(EXAMPLE_RAW)},
    }
    max_records = int(config["BATCH_MAX_RECORDS"])
    batch_body = {"type": "array", "minItems": 1, "maxItems": max_records, "items": ref("PredictionRequest")}
    predicted = _json(
        {"anyOf": [ref("PredictionDetails"), ref("Prediction")]},
        "La prédiction, enregistrée avec son entrée (PredictionDetails avec ?details=true).",
        example=prediction,
    )
    scored = _json(
        {"type": "array", "items": ref("Prediction")}, "Une prédiction par enregistrement, dans le même ordre."
    )
    status = {"type": "object", "required": ["status"], "properties": {"status": STRING}}
    metrics = {"description": "Format texte de Prometheus.", "content": {"text/plain": {"schema": STRING}}}
    return {
        "/predict": {
            "post": _operation(
                "predict",
                "Évaluer le risque de départ d'un employé",
                {"200": {**predicted, "headers": REPLAYED_HEADER}, **_errors(400, 401, 409, 413, 415, 422, 503)},
                tag="Prediction",
                security=security,
                parameters=[DETAILS_PARAMETER, RECOMMENDATIONS_PARAMETER, IDEMPOTENCY_PARAMETER],
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": ref("PredictionRequest"), "examples": body_examples}},
                },
            )
        },
        "/predict/batch": {
            "post": _operation(
                "predictBatch",
                "Évaluer un lot d'employés",
                {
                    "200": {**scored, "headers": REPLAYED_HEADER},
                    **_errors(400, 401, 409, 413, 415, 422, 503, batch=True),
                },
                tag="Prediction",
                security=security,
                description="Tout ou rien : un enregistrement invalide donne 422 et rien n'est enregistré. "
                f"Au plus {max_records} enregistrements (BATCH_MAX_RECORDS).",
                parameters=[IDEMPOTENCY_PARAMETER],
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": batch_body, "example": [EXAMPLE_RAW, features]}},
                },
            )
        },
        "/lots": {
            "post": _operation(
                "createLot",
                "Envoyer un gros fichier CSV, évalué en arrière-plan",
                {
                    "202": {
                        **_json(LOT_ACCEPTED, "Lot enregistré ; suivre son état à l'adresse Location."),
                        "headers": {"Location": {"description": "L'état du lot.", "schema": STRING}},
                    },
                    **_errors(400, 401, 413, 415, 422, 503),
                },
                tag="Prediction",
                security=security,
                description="Le fichier (export RH ou 30 variables, « ; » ou « , », UTF-8 ou Windows-1252) dans le "
                "champ « fichier » d'un formulaire multipart, ou comme corps text/csv ; "
                f"{int(config.get('LOT_MAX_LINES', Config.LOT_MAX_LINES))} lignes et "
                f"{int(config.get('LOT_MAX_BYTES', Config.LOT_MAX_BYTES)) // 2**20} Mo au plus. Tout ou rien : "
                "un fichier avec une ligne en erreur n'enregistre rien (les erreurs sont dans l'état du lot).",
                parameters=[LOT_NAME_PARAMETER],
                requestBody={"required": True, "content": {"multipart/form-data": {"schema": LOT_UPLOAD}}},
            ),
            # The same address is « Mes lots », a page of the HR workspace (its sign-in, not an API key).
            "get": _operation(
                "myLotsPage",
                "« Mes lots » : page HTML de l'espace RH (session de l'espace RH, pas de clé d'API)",
                {
                    "200": {"description": "La page.", "content": {"text/html": {"schema": STRING}}},
                    "302": {"description": "Pas connecté : vers la page de connexion."},
                    **_errors(401, 403),
                },
                tag="Espace RH",
            ),
        },
        "/api/lots/{job_id}": {
            "get": _operation(
                "lotStatus",
                "L'état d'un lot envoyé par l'API",
                {
                    "200": _json(LOT_STATUS, "Avancement ; une fois terminé, l'adresse du fichier évalué."),
                    **_errors(401, 404),
                },
                tag="Prediction",
                security=security,
                parameters=[LOT_ID_PARAMETER],
            )
        },
        "/api/lots/{job_id}/resultat.csv": {
            "get": _operation(
                "lotResult",
                "Le fichier évalué d'un lot terminé",
                {
                    "200": {
                        "description": "Le fichier envoyé, complété du risque de chacun.",
                        "content": {"text/csv": {"schema": STRING}},
                    },
                    **_errors(401, 404),
                },
                tag="Prediction",
                security=security,
                parameters=[LOT_ID_PARAMETER],
            )
        },
        "/health": {
            "get": _operation(
                "health",
                "Le processus répond",
                {"200": _json(status, "Vivant.", example={"status": "ok"}), **_errors("4XX")},
            )
        },
        "/ready": {
            "get": _operation(
                "ready",
                "Base de données et modèle disponibles",
                {
                    "200": _json(READY, "Prêt.", example=ready),
                    "503": _json(READY, "Pas prêt, avec les raisons."),
                    **_errors("4XX"),
                },
            )
        },
        "/model": {
            "get": _operation(
                "modelInfo",
                "Le modèle chargé",
                {
                    "200": _json(MODEL, "Version, seuil, métriques et caractéristiques du modèle."),
                    **_errors("4XX", 503),
                },
            )
        },
        "/metrics": {
            "get": _operation(
                "metrics",
                "Métriques Prometheus",
                {"200": metrics, **_errors(401)},
                security=[{"MetricsToken": []}] if config.get("METRICS_TOKEN") else OPEN,
                description="Quand METRICS_TOKEN est défini, il faut l'envoyer en « Authorization: Bearer ».",
            )
        },
        "/openapi.json": {
            "get": _operation(
                "openapi",
                "Ce document",
                {"200": _json({"type": "object"}, "Le document OpenAPI 3.1."), **_errors("4XX")},
            )
        },
    }


def _security_schemes(config) -> dict:
    schemes = {
        "ApiKeyAuth": {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "Clé d'intégrateur (`flask --app futurisys apikeys create NOM`). Obligatoire seulement "
            "quand API_KEYS_REQUIRED est actif ; un en-tête vide compte comme absent.",
        },
    }
    if config.get("METRICS_TOKEN"):
        schemes["MetricsToken"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "Le jeton METRICS_TOKEN, demandé par GET /metrics.",
        }
    return schemes


def build_document(config, predictor=None) -> dict:
    """The whole OpenAPI 3.1 document for an app configured with `config`, its examples scored by `predictor`."""
    prediction, ready = example_answers(predictor)
    outcome_paths, outcome_schemas = outcome_parts(config)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Futurisys",
            "version": API_VERSION,
            "description": "Prédiction du risque de départ des employés (modèle XGBoost). Chaque prédiction est "
            "enregistrée avec son entrée.",
            "license": {
                "name": "Propriétaire (Futurisys), tous droits réservés",
                "identifier": "LicenseRef-Futurisys-Proprietary",
            },
        },
        "servers": [{"url": "/", "description": "Ce service (même origine que ce document)."}],
        "tags": [
            {"name": "Prediction", "description": "Évaluer le risque de départ d'un employé ou d'un lot."},
            {"name": "Exploitation", "description": "Santé, disponibilité, modèle chargé, métriques et ce document."},
        ],
        "paths": {**_paths(config, prediction, ready), **outcome_paths},
        "components": {
            "schemas": {
                **record_schemas(EXAMPLE_RAW, derive_features(EXAMPLE_RAW)),
                **enum_schemas(),
                **response_schemas(prediction),
                **outcome_schemas,
            },
            "securitySchemes": _security_schemes(config),
        },
    }


def document(app) -> dict:
    """The app's document, built once per loaded model and kept in `app.extensions`."""
    # Never loads the model itself (gunicorn loads it before forking): until something has, the examples are generic.
    predictor = model_store.state(app).predictor if model_store.loaded(app) else None
    built = app.extensions.get(EXTENSION_KEY)
    if built is None or built[0] is not predictor:
        built = app.extensions[EXTENSION_KEY] = (predictor, build_document(app.config, predictor))
    return built[1]


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document(current_app._get_current_object()))
