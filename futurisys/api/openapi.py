"""The OpenAPI 3.1 document of the JSON API, generated from futurisys.schema and served at GET /openapi.json."""

from __future__ import annotations

from flask import current_app, jsonify

from futurisys import schema
from futurisys.api import bp
from futurisys.ml.features import derive_features
from futurisys.records import FALSE_WORDS, TRUE_WORDS

EXTENSION_KEY = "futurisys.openapi"
API_VERSION = "1.0.0"
# String forms parse_value accepts for integers (and "11 %" for the raise); the range is checked after parsing.
INTEGER_PATTERN = r"^\s*[+-]?[0-9]+\s*$"
PERCENT_PATTERN = r"^\s*[+-]?[0-9]+\s*%?\s*$"

#: Employee 1 of the reference data (who left the company), in the HR export's column order.
EXAMPLE_RAW = dict(
    zip(
        schema.RAW_NAMES,
        (
            41,
            "F",
            5993,
            "Célibataire",
            "Commercial",
            "Cadre Commercial",
            8,
            8,
            6,
            4,
            2,
            3,
            2,
            4,
            1,
            1,
            3,
            True,
            11,
            0,
            0,
            1,
            2,
            "Infra & Cloud",
            "Occasionnel",
            0,
            5,
        ),
        strict=True,
    )
)
EXAMPLE_PREDICTION = {"Prediction": "Part", "Probabilite_depart": 0.7627}  # employee 1, model fx-c2eb75d76e21


#: The cross-field rules of futurisys.schema, written out for integrators (tests/test_openapi.py holds them to the
#: code). JSON Schema cannot express them, so a spec-valid body may still get a 422.
RULES_EXTENSION = "x-cross-field-rules"
RAW_RULES = [
    {
        "rule": "annees_dans_l_entreprise <= annee_experience_totale",
        "field": "annees_dans_l_entreprise",
        "description": "pas plus d'années dans l'entreprise que d'expérience totale",
    },
    {
        "rule": "annees_dans_le_poste_actuel <= annees_dans_l_entreprise",
        "field": "annees_dans_le_poste_actuel",
        "description": "pas plus d'années dans le poste que dans l'entreprise",
    },
    {
        "rule": "annees_depuis_la_derniere_promotion <= annees_dans_l_entreprise",
        "field": "annees_depuis_la_derniere_promotion",
        "description": "pas plus d'années depuis la dernière promotion que dans l'entreprise",
    },
    {
        "rule": "annes_sous_responsable_actuel <= annees_dans_l_entreprise",
        "field": "annes_sous_responsable_actuel",
        "description": "pas plus d'années avec le responsable actuel que dans l'entreprise",
    },
    {
        "rule": "age - annee_experience_totale >= 14",
        "field": "annee_experience_totale",
        "description": "début de carrière à 14 ans au plus tôt",
    },
]
FEATURE_RULES = [
    {
        "rule": "annees_depuis_la_derniere_promotion <= annees_dans_l_entreprise",
        "field": "annees_depuis_la_derniere_promotion",
        "description": "pas plus d'années depuis la dernière promotion que dans l'entreprise",
    },
    {
        "rule": "evolution_cat_evol == ('hausse' if ecart_note_evaluation > 0 "
        "else 'baisse' if ecart_note_evaluation < 0 else 'stable')",
        "field": "evolution_cat_evol",
        "description": "l'évolution suit le signe de l'écart de note",
    },
]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _caseless(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


BOOLEAN_PATTERN = r"^\s*(" + "|".join(_caseless(w) for w in sorted(TRUE_WORDS | FALSE_WORDS)) + r")\s*$"


def enum_name(field: schema.Field) -> str:
    """The ASCII name of a field's list of allowed values, as a component (`statut_marital` → `StatutMarital`)."""
    return "".join(part.capitalize() for part in field.name.split("_"))


def _has_enum(field: schema.Field) -> bool:
    return field.kind != "bool" and bool(field.choices)


def _canonical(field: schema.Field) -> dict:
    """The field in its JSON form: type, then allowed values (a shared component) or range."""
    if _has_enum(field):
        return _ref(enum_name(field))
    out: dict = {"type": field.json_type}
    if field.minimum is not None and field.kind != "category":
        out.update(minimum=field.minimum, maximum=field.maximum)
    return out


def enum_schemas() -> dict:
    """Every list of allowed values once, named after its field (the same list in both shapes)."""
    out = {}
    for field in schema.FEATURES + schema.RAW_FIELDS:
        if _has_enum(field):
            out[enum_name(field)] = {
                "type": field.json_type,
                "enum": list(field.values),
                "description": f"Valeurs permises de « {field.label} ».",
            }
    return out


def _described(field: schema.Field, body: dict) -> dict:
    out = {"title": field.label, **body}
    if field.help:
        out["description"] = field.help
    return out


def feature_property(field: schema.Field) -> dict:
    """A property of EmployeeFeatures: the original API's strict JSON types."""
    return _described(field, _canonical(field))


def raw_property(field: schema.Field) -> dict:
    """A property of RawHrRecord: the JSON form plus the string forms found in HR exports."""
    forms = [_canonical(field)]
    if field.kind == "bool":
        forms += [{"type": "integer", "enum": [0, 1]}, {"type": "string", "pattern": BOOLEAN_PATTERN}]
    elif field.kind == "int":
        pattern = PERCENT_PATTERN if field.name == "augementation_salaire_precedente" else INTEGER_PATTERN
        forms.append({"type": "string", "pattern": pattern})
    if not field.required:
        forms.append({"type": "null"})
    return _described(field, forms[0] if len(forms) == 1 else {"anyOf": forms})


def _record_schemas() -> dict:
    features = {
        "type": "object",
        "description": "Caractéristiques du modèle (API d'origine) : les 30 caractéristiques, toutes obligatoires. "
        "Les clés en plus sont ignorées." + _rules_text(FEATURE_RULES),
        "properties": {f.name: feature_property(f) for f in schema.FEATURES},
        "required": list(schema.FEATURE_NAMES),
        RULES_EXTENSION: FEATURE_RULES,
        "examples": [derive_features(EXAMPLE_RAW)],
    }
    raw = {
        "type": "object",
        "description": "Dossier RH brut : les 27 colonnes de l'export RH. Sont aussi acceptés : « Oui »/« Non » (ou "
        "true/false, 1/0) pour les booléens, les entiers écrits en chaîne (« 5993 ») et « 11 % » pour "
        "la dernière augmentation. Les bornes sont vérifiées après conversion, puis la cohérence "
        "entre champs." + _rules_text(RAW_RULES),
        "properties": {f.name: raw_property(f) for f in schema.RAW_FIELDS},
        "required": [f.name for f in schema.RAW_FIELDS if f.required],
        RULES_EXTENSION: RAW_RULES,
        "examples": [EXAMPLE_RAW],
    }
    return {"EmployeeFeatures": features, "RawHrRecord": raw}


def _rules_text(rules: list[dict]) -> str:
    return (
        " Règles entre champs (422 sinon) : "
        + " ; ".join(f"{rule['rule']} ({rule['description']})" for rule in rules)
        + "."
    )


def _response_schemas() -> dict:
    string_list = {"type": "array", "items": {"type": "string"}}
    field_errors = {"type": "object", "description": "Messages par champ.", "additionalProperties": string_list}
    detail = {
        "type": "array",
        "items": _ref("ValidationErrorItem"),
        "description": "Les mêmes erreurs au format du framework d'origine (422 seulement).",
    }
    driver = {
        "type": "object",
        "required": ["feature", "label", "value", "contribution", "increases", "text"],
        "properties": {
            "feature": {"type": "string", "enum": list(schema.FEATURE_NAMES)},
            "label": {"type": "string"},
            "value": {"type": "string"},
            "contribution": {"type": "number", "description": "Contribution en log-odds."},
            "increases": {"type": "boolean"},
            "text": {"type": "string"},
        },
    }
    return {
        "PredictionRequest": {
            "description": "Un employé sous l'une des deux formes. Règle : un corps qui contient les 30 clés "
            "d'EmployeeFeatures est lu comme tel (les autres clés sont ignorées) ; sinon, un corps qui "
            "contient au moins une clé propre au dossier brut "
            f"({', '.join(sorted(schema.RAW_ONLY_NAMES))}) est lu comme un RawHrRecord ; sinon comme "
            "les 30 EmployeeFeatures.",
            "anyOf": [_ref("EmployeeFeatures"), _ref("RawHrRecord")],
        },
        "Prediction": {
            "type": "object",
            "required": ["Prediction", "Probabilite_depart"],
            "properties": {
                "Prediction": {"type": "string", "enum": list(schema.CLASS_LABELS.values())},
                "Probabilite_depart": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "examples": [EXAMPLE_PREDICTION],
        },
        "PredictionDetails": {
            "description": "Réponse de POST /predict?details=true.",
            "allOf": [
                _ref("Prediction"),
                {
                    "type": "object",
                    "required": ["prediction_id", "input_id", "model_version", "threshold", "shape", "drivers"],
                    "properties": {
                        "prediction_id": {"type": "integer"},
                        "input_id": {"type": "integer"},
                        "model_version": {"type": "string"},
                        "threshold": {"type": "number", "minimum": 0, "maximum": 1},
                        "shape": {"type": "string", "enum": ["features", "raw"]},
                        "drivers": {
                            "type": "array",
                            "items": driver,
                            "description": "Les facteurs les plus influents, en français.",
                        },
                    },
                },
            ],
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "description": "Une erreur : message en français, et pour un 422 les messages par champ "
            "(`errors`) et la même liste au format du framework d'origine (`detail`).",
            "properties": {"error": {"type": "string"}, "errors": field_errors, "detail": detail},
            "examples": [
                {
                    "error": "Données invalides.",
                    "errors": {"age": ["Doit être compris entre 16 et 75."]},
                    "detail": [
                        {"loc": ["body", "age"], "msg": "Doit être compris entre 16 et 75.", "type": "value_error"}
                    ],
                }
            ],
        },
        "BatchError": {
            "type": "object",
            "required": ["error"],
            "description": "Erreurs indexées par la position (à partir de 0) de l'enregistrement dans le tableau : "
            "les 100 premiers enregistrements invalides, et leur nombre total (`invalid_records`).",
            "properties": {
                "error": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {"anyOf": [field_errors, string_list]}},
                "detail": detail,
                "invalid_records": {"type": "integer", "minimum": 1},
            },
            "examples": [
                {
                    "error": "1 enregistrement(s) invalide(s) sur 4 : aucun n'a été enregistré.",
                    "errors": {"3": {"age": ["Champ obligatoire."]}},
                    "detail": [{"loc": ["body", 3, "age"], "msg": "Champ obligatoire.", "type": "value_error"}],
                    "invalid_records": 1,
                }
            ],
        },
        "ValidationErrorItem": {
            "type": "object",
            "required": ["loc", "msg", "type"],
            "description": "Une erreur de validation au format du framework de l'API d'origine.",
            "properties": {
                "loc": {
                    "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    "description": "Où : « body », puis l'index de l'enregistrement et le champ.",
                },
                "msg": {"type": "string"},
                "type": {"type": "string"},
            },
        },
    }


def _json(schema_: dict, description: str, **extra) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema_, **extra}}}


def _errors(*codes: int | str, batch: bool = False) -> dict:
    texts = {
        400: "Corps JSON mal formé ou incomplet, nombre hors limites, imbrication trop profonde.",
        401: "Clé d'API absente ou invalide (quand API_KEYS_REQUIRED est actif).",
        409: "Une requête avec la même clé Idempotency-Key est en cours : réessayer un peu plus tard.",
        413: "Corps trop volumineux" + (" ou trop d'enregistrements." if batch else "."),
        415: "Content-Type autre que application/json (un corps sans Content-Type est lu comme du JSON).",
        422: "Données invalides : messages par champ"
        + (" et par index" if batch else "")
        + ", ou clé Idempotency-Key déjà utilisée pour une autre requête.",
        503: "Modèle ou base de données indisponible.",
        "4XX": "Requête refusée (adresse ou méthode inconnue…), avec le corps d'erreur habituel.",
    }
    return {str(code): _json(_ref("BatchError" if batch and code == 422 else "Error"), texts[code]) for code in codes}


IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": "Rend les nouvelles tentatives sûres : pendant 24 h, une requête répétée avec la même clé reçoit "
    "la première réponse (en-tête Idempotent-Replayed: true) sans rien enregistrer de plus ; la même "
    "clé avec un autre corps donne 422.",
}
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "« true » quand la réponse est celle d'une requête précédente de même Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
OPEN: list = []  # `security: []`: no credentials needed


def _paths(config) -> dict:
    security = [{"ApiKeyAuth": []}] if config.get("API_KEYS_REQUIRED") else [{"ApiKeyAuth": []}, {}]
    exported = {**EXAMPLE_RAW, "heure_supplementaires": "Oui", "augementation_salaire_precedente": "11 %"}
    body_examples = {
        "caracteristiques": {
            "summary": "Les 30 caractéristiques (API d'origine)",
            "value": derive_features(EXAMPLE_RAW),
        },
        "dossier_brut": {"summary": "Dossier RH brut", "value": EXAMPLE_RAW},
        "export_rh": {"summary": "Dossier brut tel qu'exporté (« Oui », « 11 % »)", "value": exported},
    }
    details = {
        "name": "details",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean", "default": False},
        "description": "Ajoute les identifiants stockés, la version du modèle, le seuil et les facteurs.",
    }
    status = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
    ready = {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "not ready"]},
            "model_version": {"type": "string"},
            "reasons": {"type": "array", "items": {"type": "string"}},
        },
    }
    max_records = int(config["BATCH_MAX_RECORDS"])
    metrics_security = [{"MetricsToken": []}] if config.get("METRICS_TOKEN") else OPEN
    return {
        "/predict": {
            "post": {
                "operationId": "predict",
                "tags": ["Prediction"],
                "summary": "Évaluer le risque de départ d'un employé",
                "security": security,
                "parameters": [details, IDEMPOTENCY_PARAMETER],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("PredictionRequest"), "examples": body_examples}},
                },
                "responses": {
                    "200": {
                        **_json(
                            {"anyOf": [_ref("PredictionDetails"), _ref("Prediction")]},
                            "La prédiction, enregistrée avec son entrée (PredictionDetails avec ?details=true).",
                            example=EXAMPLE_PREDICTION,
                        ),
                        "headers": REPLAYED_HEADER,
                    },
                    **_errors(400, 401, 409, 413, 415, 422, 503),
                },
            }
        },
        "/predict/batch": {
            "post": {
                "operationId": "predictBatch",
                "tags": ["Prediction"],
                "summary": "Évaluer un lot d'employés",
                "description": "Tout ou rien : un enregistrement invalide donne 422 et rien n'est enregistré. "
                f"Au plus {max_records} enregistrements (BATCH_MAX_RECORDS).",
                "security": security,
                "parameters": [IDEMPOTENCY_PARAMETER],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": max_records,
                                "items": _ref("PredictionRequest"),
                            },
                            "example": [EXAMPLE_RAW, derive_features(EXAMPLE_RAW)],
                        }
                    },
                },
                "responses": {
                    "200": {
                        **_json(
                            {"type": "array", "items": _ref("Prediction")},
                            "Une prédiction par enregistrement, dans le même ordre.",
                        ),
                        "headers": REPLAYED_HEADER,
                    },
                    **_errors(400, 401, 409, 413, 415, 422, 503, batch=True),
                },
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "tags": ["Exploitation"],
                "summary": "Le processus répond",
                "security": OPEN,
                "responses": {"200": _json(status, "Vivant.", example={"status": "ok"}), **_errors("4XX")},
            }
        },
        "/ready": {
            "get": {
                "operationId": "ready",
                "tags": ["Exploitation"],
                "summary": "Base de données et modèle disponibles",
                "security": OPEN,
                "responses": {
                    "200": _json(ready, "Prêt.", example={"status": "ready", "model_version": "fx-c2eb75d76e21"}),
                    "503": _json(ready, "Pas prêt, avec les raisons."),
                    **_errors("4XX"),
                },
            }
        },
        "/model": {
            "get": {
                "operationId": "modelInfo",
                "tags": ["Exploitation"],
                "summary": "Le modèle chargé",
                "security": OPEN,
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["version", "threshold", "source"],
                            "properties": {
                                "version": {"type": "string"},
                                "threshold": {"type": "number"},
                                "source": {"type": "string", "description": "« local » ou hf://dépôt@révision"},
                            },
                        },
                        "Version, seuil, métriques et caractéristiques du modèle.",
                    ),
                    **_errors("4XX", 503),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["Exploitation"],
                "summary": "Métriques Prometheus",
                "description": "Quand METRICS_TOKEN est défini, il faut l'envoyer en « Authorization: Bearer ».",
                "security": metrics_security,
                "responses": {
                    "200": {
                        "description": "Format texte de Prometheus.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(401),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["Exploitation"],
                "summary": "Ce document",
                "security": OPEN,
                "responses": {"200": _json({"type": "object"}, "Le document OpenAPI 3.1."), **_errors("4XX")},
            }
        },
    }


def build_document(config) -> dict:
    """The whole OpenAPI 3.1 document for an app configured with `config`."""
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
        "paths": _paths(config),
        "components": {
            "schemas": {**_record_schemas(), **enum_schemas(), **_response_schemas()},
            "securitySchemes": _security_schemes(config),
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


def document(app) -> dict:
    """The app's document, built once and kept in `app.extensions`."""
    if EXTENSION_KEY not in app.extensions:
        app.extensions[EXTENSION_KEY] = build_document(app.config)
    return app.extensions[EXTENSION_KEY]


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document(current_app))
