"""The OpenAPI 3.1 document of the JSON API, generated from futurisys.schema and served at GET /openapi.json."""
from __future__ import annotations

from flask import current_app, jsonify

from futurisys import schema
from futurisys.api import bp
from futurisys.ml.features import derive_features
from futurisys.validation import FALSE_WORDS, TRUE_WORDS

EXTENSION_KEY = "futurisys.openapi"
API_VERSION = "1.0.0"
# String forms parse_value accepts for integers (and "11 %" for the raise); the range is checked after parsing.
INTEGER_PATTERN = r"^\s*[+-]?[0-9]+\s*$"
PERCENT_PATTERN = r"^\s*[+-]?[0-9]+\s*%?\s*$"

#: Employee 1 of the reference data (who left the company), in the HR export's column order.
EXAMPLE_RAW = dict(zip(schema.RAW_NAMES, (
    41, "F", 5993, "Célibataire", "Commercial", "Cadre Commercial", 8, 8, 6, 4, 2, 3, 2, 4, 1, 1, 3, True, 11, 0, 0,
    1, 2, "Infra & Cloud", "Occasionnel", 0, 5), strict=True))
EXAMPLE_PREDICTION = {"Prediction": "Part", "Probabilite_depart": 0.7627}  # employee 1, model fx-c2eb75d76e21


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _caseless(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


BOOLEAN_PATTERN = r"^\s*(" + "|".join(_caseless(w) for w in sorted(TRUE_WORDS | FALSE_WORDS)) + r")\s*$"


def _canonical(field: schema.Field) -> dict:
    """The field in its JSON form: type, then allowed values or range."""
    out: dict = {"type": field.json_type}
    if field.kind != "bool" and field.choices:
        out["enum"] = list(field.values)
    if field.minimum is not None and field.kind != "category":
        out.update(minimum=field.minimum, maximum=field.maximum)
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
    raw_only = sorted(schema.RAW_ONLY_NAMES)
    features = {
        "type": "object",
        "title": "Caractéristiques du modèle (API d'origine)",
        "description": "Les 30 caractéristiques de l'API d'origine, toutes obligatoires. Une clé propre au dossier RH "
                       f"brut ({', '.join(raw_only)}) ferait lire le corps comme un dossier brut.",
        "properties": {f.name: feature_property(f) for f in schema.FEATURES},
        "required": list(schema.FEATURE_NAMES),
        "propertyNames": {"not": {"enum": raw_only}},
        "examples": [derive_features(EXAMPLE_RAW)],
    }
    raw = {
        "type": "object",
        "title": "Dossier RH brut",
        "description": "Les 27 colonnes de l'export RH. Sont aussi acceptés : « Oui »/« Non » (ou true/false, 1/0) "
                       "pour les booléens, les entiers écrits en chaîne (« 5993 ») et « 11 % » pour la dernière "
                       "augmentation. Les bornes sont vérifiées après conversion, puis la cohérence entre champs.",
        "properties": {f.name: raw_property(f) for f in schema.RAW_FIELDS},
        "required": [f.name for f in schema.RAW_FIELDS if f.required],
        "examples": [EXAMPLE_RAW],
    }
    return {"EmployeeFeatures": features, "RawHrRecord": raw}


def _response_schemas() -> dict:
    string_list = {"type": "array", "items": {"type": "string"}}
    field_errors = {"type": "object", "description": "Messages par champ.", "additionalProperties": string_list}
    driver = {"type": "object", "required": ["feature", "label", "value", "contribution", "increases", "text"],
              "properties": {"feature": {"type": "string", "enum": list(schema.FEATURE_NAMES)},
                             "label": {"type": "string"}, "value": {"type": "string"},
                             "contribution": {"type": "number", "description": "Contribution en log-odds."},
                             "increases": {"type": "boolean"}, "text": {"type": "string"}}}
    return {
        "PredictionRequest": {
            "description": "Un employé sous l'une des deux formes. Règle : un corps qui contient au moins une clé "
                           f"propre au dossier brut ({', '.join(sorted(schema.RAW_ONLY_NAMES))}) est lu comme un "
                           "RawHrRecord, sinon comme les 30 EmployeeFeatures.",
            "oneOf": [_ref("EmployeeFeatures"), _ref("RawHrRecord")]},
        "Prediction": {
            "type": "object", "required": ["Prediction", "Probabilite_depart"],
            "properties": {"Prediction": {"type": "string", "enum": list(schema.CLASS_LABELS.values())},
                           "Probabilite_depart": {"type": "number", "minimum": 0, "maximum": 1}},
            "examples": [EXAMPLE_PREDICTION]},
        "PredictionDetails": {
            "description": "Réponse de POST /predict?details=true.",
            "allOf": [_ref("Prediction"), {
                "type": "object",
                "required": ["prediction_id", "input_id", "model_version", "threshold", "shape", "drivers"],
                "properties": {"prediction_id": {"type": "integer"}, "input_id": {"type": "integer"},
                               "model_version": {"type": "string"},
                               "threshold": {"type": "number", "minimum": 0, "maximum": 1},
                               "shape": {"type": "string", "enum": ["features", "raw"]},
                               "drivers": {"type": "array", "items": driver,
                                           "description": "Les facteurs les plus influents, en français."}}}]},
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": {"type": "string"}, "errors": field_errors},
                  "examples": [{"error": "Données invalides.",
                                "errors": {"age": ["Doit être compris entre 16 et 75."]}}]},
        "BatchError": {
            "type": "object", "required": ["error"],
            "description": "Erreurs indexées par la position (à partir de 0) de l'enregistrement dans le tableau.",
            "properties": {"error": {"type": "string"},
                           "errors": {"type": "object", "additionalProperties": {
                               "anyOf": [field_errors, string_list]}}},
            "examples": [{"error": "Données invalides.", "errors": {"3": {"age": ["Champ obligatoire."]}}}]},
    }


def _json(schema_: dict, description: str, **extra) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema_, **extra}}}


def _errors(*codes: int, batch: bool = False) -> dict:
    texts = {400: "Corps JSON mal formé.", 401: "Clé d'API absente ou invalide (quand API_KEYS_REQUIRED est actif).",
             413: "Corps trop volumineux" + (" ou trop d'enregistrements." if batch else "."),
             415: "Content-Type autre que application/json.",
             422: "Données invalides : messages par champ" + (" et par index." if batch else "."),
             503: "Modèle ou base de données indisponible."}
    return {str(code): _json(_ref("BatchError" if batch and code == 422 else "Error"), texts[code])
            for code in codes}


def _paths(config) -> dict:
    security = [{"ApiKeyAuth": []}] if config.get("API_KEYS_REQUIRED") else [{"ApiKeyAuth": []}, {}]
    exported = {**EXAMPLE_RAW, "heure_supplementaires": "Oui", "augementation_salaire_precedente": "11 %"}
    body_examples = {
        "caracteristiques": {"summary": "Les 30 caractéristiques (API d'origine)",
                             "value": derive_features(EXAMPLE_RAW)},
        "dossier_brut": {"summary": "Dossier RH brut", "value": EXAMPLE_RAW},
        "export_rh": {"summary": "Dossier brut tel qu'exporté (« Oui », « 11 % »)", "value": exported},
    }
    details = {"name": "details", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
               "description": "Ajoute les identifiants stockés, la version du modèle, le seuil et les facteurs."}
    status = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
    ready = {"type": "object", "required": ["status"],
             "properties": {"status": {"type": "string", "enum": ["ready", "not ready"]},
                            "model_version": {"type": "string"},
                            "reasons": {"type": "array", "items": {"type": "string"}}}}
    max_records = int(config["BATCH_MAX_RECORDS"])
    return {
        "/predict": {"post": {
            "operationId": "predict", "tags": ["Prédiction"], "summary": "Évaluer le risque de départ d'un employé",
            "security": security, "parameters": [details],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("PredictionRequest"), "examples": body_examples}}},
            "responses": {"200": _json({"anyOf": [_ref("Prediction"), _ref("PredictionDetails")]},
                                       "La prédiction, enregistrée avec son entrée.",
                                       example=EXAMPLE_PREDICTION),
                          **_errors(400, 401, 413, 415, 422, 503)}}},
        "/predict/batch": {"post": {
            "operationId": "predictBatch", "tags": ["Prédiction"], "summary": "Évaluer un lot d'employés",
            "description": "Tout ou rien : un enregistrement invalide donne 422 et rien n'est enregistré. "
                           f"Au plus {max_records} enregistrements (BATCH_MAX_RECORDS).",
            "security": security,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"type": "array", "minItems": 1, "maxItems": max_records,
                           "items": _ref("PredictionRequest")},
                "example": [EXAMPLE_RAW, derive_features(EXAMPLE_RAW)]}}},
            "responses": {"200": _json({"type": "array", "items": _ref("Prediction")},
                                       "Une prédiction par enregistrement, dans le même ordre."),
                          **_errors(400, 401, 413, 415, 422, 503, batch=True)}}},
        "/health": {"get": {"operationId": "health", "tags": ["Exploitation"], "summary": "Le processus répond",
                            "responses": {"200": _json(status, "Vivant.", example={"status": "ok"})}}},
        "/ready": {"get": {
            "operationId": "ready", "tags": ["Exploitation"], "summary": "Base de données et modèle disponibles",
            "responses": {"200": _json(ready, "Prêt.", example={"status": "ready", "model_version": "fx-c2eb75d76e21"}),
                          "503": _json(ready, "Pas prêt, avec les raisons.")}}},
        "/model": {"get": {
            "operationId": "modelInfo", "tags": ["Exploitation"], "summary": "Le modèle chargé",
            "responses": {"200": _json({"type": "object", "required": ["version", "threshold", "source"],
                                        "properties": {"version": {"type": "string"},
                                                       "threshold": {"type": "number"},
                                                       "source": {"type": "string"}}},
                                       "Version, seuil, métriques et caractéristiques du modèle."),
                          **_errors(503)}}},
        "/metrics": {"get": {
            "operationId": "metrics", "tags": ["Exploitation"], "summary": "Métriques Prometheus",
            "responses": {"200": {"description": "Format texte de Prometheus.",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {
            "operationId": "openapi", "tags": ["Exploitation"], "summary": "Ce document",
            "responses": {"200": _json({"type": "object"}, "Le document OpenAPI 3.1.")}}},
    }


def build_document(config) -> dict:
    """The whole OpenAPI 3.1 document for an app configured with `config`."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Futurisys", "version": API_VERSION,
                 "description": "Prédiction du risque de départ des employés (modèle XGBoost). Chaque prédiction est "
                                "enregistrée avec son entrée."},
        "tags": [{"name": "Prédiction"}, {"name": "Exploitation"}],
        "paths": _paths(config),
        "components": {
            "schemas": {**_record_schemas(), **_response_schemas()},
            "securitySchemes": {"ApiKeyAuth": {
                "type": "apiKey", "in": "header", "name": "X-API-Key",
                "description": "Clé d'intégrateur (`flask --app futurisys apikeys create NOM`). Obligatoire "
                               "seulement quand API_KEYS_REQUIRED est actif."}},
        },
    }


def document(app) -> dict:
    """The app's document, built once and kept in `app.extensions`."""
    if EXTENSION_KEY not in app.extensions:
        app.extensions[EXTENSION_KEY] = build_document(app.config)
    return app.extensions[EXTENSION_KEY]


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document(current_app))
