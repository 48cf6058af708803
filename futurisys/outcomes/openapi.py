"""The OpenAPI description of POST /outcomes (no Flask: the API's document imports it)."""

from __future__ import annotations

from futurisys.outcomes.kinds import KINDS

FIELDS = ("reference_salarie", "date_depart", "motif")


def openapi_parts(config) -> tuple[dict, dict]:
    """The /outcomes operation and its schemas, added to the API's OpenAPI document."""
    security = [{"ApiKeyAuth": []}] if config.get("API_KEYS_REQUIRED") else [{"ApiKeyAuth": []}, {}]
    error = {"$ref": "#/components/schemas/Error"}
    batch_error = {"$ref": "#/components/schemas/BatchError"}

    def answer(schema: dict, text: str) -> dict:
        return {"description": text, "content": {"application/json": {"schema": schema}}}

    departure = {
        "type": "object",
        "required": list(FIELDS),
        "additionalProperties": False,
        "properties": {
            "reference_salarie": {
                "type": "string",
                "pattern": r"^\s*[A-Za-z0-9._-]{1,32}\s*$",
                "description": "La référence du salarié, telle qu'envoyée avec ses évaluations.",
            },
            "date_depart": {
                "type": "string",
                "description": "Date du départ (AAAA-MM-JJ ou JJ/MM/AAAA), pas dans le futur.",
                "examples": ["2025-03-31"],
            },
            "motif": {
                "type": "string",
                "description": "Type de départ : "
                + ", ".join(f"{code} ({text})" for code, text in KINDS.items())
                + ". Le libellé français est accepté aussi.",
                "examples": ["demission"],
            },
        },
    }
    recorded = {
        "type": "object",
        "required": ["enregistres", "deja_connus"],
        "properties": {
            "enregistres": {"type": "integer", "minimum": 0},
            "deja_connus": {"type": "integer", "minimum": 0},
        },
    }
    texts = {
        "400": "Corps JSON mal formé ou incomplet.",
        "401": "Clé d'API absente ou invalide (quand API_KEYS_REQUIRED est actif).",
        "413": "Corps trop volumineux ou trop de départs.",
        "415": "Content-Type autre que application/json.",
        "4XX": "Requête refusée, avec le corps d'erreur habituel.",
    }
    limit = int(config["BATCH_MAX_RECORDS"])
    operation = {
        "operationId": "recordOutcomes",
        "tags": ["Prediction"],
        "summary": "Déclarer les départs constatés",
        "description": "Tout ou rien : un départ invalide donne 422 et rien n'est enregistré. Idempotent : un départ "
        f"déjà connu (même référence, même date, même type) n'est pas enregistré deux fois. Au plus {limit} départs.",
        "security": security,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": limit,
                        "items": {"$ref": "#/components/schemas/Departure"},
                    },
                    "example": [{"reference_salarie": "MAT-0042", "date_depart": "2025-03-31", "motif": "demission"}],
                }
            },
        },
        "responses": {
            "200": answer({"$ref": "#/components/schemas/DeparturesRecorded"}, "Départs enregistrés et déjà connus."),
            "422": answer(batch_error, "Départs invalides, indexés par leur position dans le tableau."),
            **{code: answer(error, text) for code, text in texts.items()},
        },
    }
    return {"/outcomes": {"post": operation}}, {"Departure": departure, "DeparturesRecorded": recorded}
