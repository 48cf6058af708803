"""The OpenAPI component schemas: the two record shapes from futurisys.domain.schema's attributes, and the answers."""

from __future__ import annotations

from futurisys.domain import schema
from futurisys.domain.records import FALSE_WORDS, TRUE_WORDS

#: Where the cross-field rules are written out: JSON Schema cannot express them, so a spec-valid body may get a 422.
RULES_EXTENSION = "x-cross-field-rules"
# String forms parse_value accepts for integers (with "%" where the field accepts it); the range is checked after.
INTEGER_PATTERN = r"^\s*[+-]?[0-9]+\s*$"
PERCENT_PATTERN = r"^\s*[+-]?[0-9]+\s*%?\s*$"


def _caseless(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


BOOLEAN_PATTERN = r"^\s*(" + "|".join(_caseless(w) for w in sorted(TRUE_WORDS | FALSE_WORDS)) + r")\s*$"


def ref(name: str) -> dict:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def enum_name(field: schema.Field) -> str:
    """The ASCII name of a field's list of allowed values, as a component (`statut_marital` → `StatutMarital`)."""
    return "".join(part.capitalize() for part in field.name.split("_"))


def _has_enum(field: schema.Field) -> bool:
    return field.kind != "bool" and bool(field.choices)


def _canonical(field: schema.Field) -> dict:
    """The field in its JSON form: type, then allowed values (a shared component) or range."""
    if _has_enum(field):
        return ref(enum_name(field))
    out: dict = {"type": field.json_type}
    if field.minimum is not None and field.kind != "category":
        out.update(minimum=field.minimum, maximum=field.maximum)
    return out


def _described(field: schema.Field, body: dict) -> dict:
    return {"title": field.label, **body, **({"description": field.help} if field.help else {})}


def feature_property(field: schema.Field) -> dict:
    """A property of EmployeeFeatures: the original API's strict JSON types."""
    return _described(field, _canonical(field))


def raw_property(field: schema.Field) -> dict:
    """A property of RawHrRecord: the JSON form plus the string forms found in HR exports."""
    forms = [_canonical(field)]
    if field.kind == "bool":
        forms += [{"type": "integer", "enum": [0, 1]}, {"type": "string", "pattern": BOOLEAN_PATTERN}]
    elif field.kind == "int":
        forms.append({"type": "string", "pattern": PERCENT_PATTERN if field.accepts_percent else INTEGER_PATTERN})
    if not field.required:
        forms.append({"type": "null"})
    return _described(field, forms[0] if len(forms) == 1 else {"anyOf": forms})


def _rules(rules: tuple[schema.Rule, ...]) -> tuple[str, list[dict]]:
    """The rules as a sentence of the description, and as the extension's list."""
    text = " Règles entre champs (422 sinon) : " + " ; ".join(f"{r.rule} ({r.description})" for r in rules) + "."
    return text, [{"rule": r.rule, "field": r.field, "description": r.description} for r in rules]


def record_schemas(example_raw: dict, example_features: dict) -> dict:
    """EmployeeFeatures and RawHrRecord, with the given examples."""
    feature_rules, feature_list = _rules(schema.FEATURE_RULES)
    raw_rules, raw_list = _rules(schema.RAW_RULES)
    percent = ", ".join(f.name for f in schema.RAW_FIELDS if f.accepts_percent)
    return {
        "EmployeeFeatures": {
            "type": "object",
            "description": "Caractéristiques du modèle (API d'origine) : les 30 caractéristiques, toutes obligatoires. "
            "Les clés en plus sont ignorées." + feature_rules,
            "properties": {f.name: feature_property(f) for f in schema.FEATURES},
            "required": list(schema.FEATURE_NAMES),
            RULES_EXTENSION: feature_list,
            "examples": [example_features],
        },
        "RawHrRecord": {
            "type": "object",
            "description": "Dossier RH brut : les 27 colonnes de l'export RH. Sont aussi acceptés : « Oui »/« Non » "
            "(ou true/false, 1/0) pour les booléens, les entiers écrits en chaîne (« 5993 ») et les pourcentages "
            f"(« 11 % ») pour {percent}. Les bornes sont vérifiées après conversion, puis la cohérence entre "
            "champs." + raw_rules,
            "properties": {f.name: raw_property(f) for f in schema.RAW_FIELDS},
            "required": [f.name for f in schema.RAW_FIELDS if f.required],
            RULES_EXTENSION: raw_list,
            "examples": [example_raw],
        },
    }


def enum_schemas() -> dict:
    """Every list of allowed values once, named after its field (the same list in both shapes)."""
    return {
        enum_name(field): {
            "type": field.json_type,
            "enum": list(field.values),
            "description": f"Valeurs permises de « {field.label} ».",
        }
        for field in schema.FEATURES + schema.RAW_FIELDS
        if _has_enum(field)
    }


def _object(required: list[str], properties: dict, **extra) -> dict:
    return {"type": "object", "required": required, **extra, "properties": properties}


STRING, INTEGER = {"type": "string"}, {"type": "integer"}
PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
_STRINGS = {"type": "array", "items": STRING}
_FIELD_ERRORS = {"type": "object", "description": "Messages par champ.", "additionalProperties": _STRINGS}
_DETAIL = {
    "type": "array",
    "items": ref("ValidationErrorItem"),
    "description": "Les mêmes erreurs au format du framework d'origine (422 seulement).",
}
_DRIVER = _object(
    ["feature", "label", "value", "contribution", "increases", "text"],
    {
        "feature": {"type": "string", "enum": list(schema.FEATURE_NAMES)},
        "label": STRING,
        "value": STRING,
        "contribution": {"type": "number", "description": "Contribution en log-odds."},
        "increases": {"type": "boolean"},
        "text": STRING,
    },
)
_DETAILS = _object(
    ["prediction_id", "input_id", "model_version", "threshold", "shape", "drivers"],
    {
        "prediction_id": INTEGER,
        "input_id": INTEGER,
        "model_version": STRING,
        "threshold": PROBABILITY,
        "shape": {"type": "string", "enum": ["features", "raw"]},
        "drivers": {"type": "array", "items": _DRIVER, "description": "Les facteurs les plus influents, en français."},
    },
)
_ERROR_EXAMPLE = {
    "error": "Données invalides.",
    "errors": {"age": ["Doit être compris entre 16 et 75."]},
    "detail": [{"loc": ["body", "age"], "msg": "Doit être compris entre 16 et 75.", "type": "value_error"}],
}
_BATCH_ERROR_EXAMPLE = {
    "error": "1 enregistrement(s) invalide(s) sur 4 : aucun n'a été enregistré.",
    "errors": {"3": {"age": ["Champ obligatoire."]}},
    "detail": [{"loc": ["body", 3, "age"], "msg": "Champ obligatoire.", "type": "value_error"}],
    "invalid_records": 1,
}


def response_schemas(example_prediction: dict) -> dict:
    """The request union, the answers and the error bodies."""
    return {
        "PredictionRequest": {
            "description": "Un employé sous l'une des deux formes. Règle : un corps qui contient les 30 clés "
            "d'EmployeeFeatures est lu comme tel (les autres clés sont ignorées) ; sinon, un corps qui "
            "contient au moins une clé propre au dossier brut "
            f"({', '.join(sorted(schema.RAW_ONLY_NAMES))}) est lu comme un RawHrRecord ; sinon comme "
            "les 30 EmployeeFeatures.",
            "anyOf": [ref("EmployeeFeatures"), ref("RawHrRecord")],
        },
        "Prediction": _object(
            ["Prediction", "Probabilite_depart"],
            {
                "Prediction": {"type": "string", "enum": list(schema.CLASS_LABELS.values())},
                "Probabilite_depart": PROBABILITY,
                "Recommandations": {
                    "type": "object",
                    "description": "Avec ?recommendations=N : changements simples (`changements_simples`), "
                    "combinaison la moins coûteuse sous le seuil (`combinaison`, ou null), sinon le plus bas atteint "
                    "(`meilleur_possible`) et les contraintes qui l'empêchent, et l'avertissement à afficher.",
                },
            },
            examples=[example_prediction],
        ),
        "PredictionDetails": {
            "description": "Réponse de POST /predict?details=true.",
            "allOf": [ref("Prediction"), _DETAILS],
        },
        "Error": _object(
            ["error"],
            {"error": STRING, "errors": _FIELD_ERRORS, "detail": _DETAIL},
            description="Une erreur : message en français, et pour un 422 les messages par champ "
            "(`errors`) et la même liste au format du framework d'origine (`detail`).",
            examples=[_ERROR_EXAMPLE],
        ),
        "BatchError": _object(
            ["error"],
            {
                "error": STRING,
                "errors": {"type": "object", "additionalProperties": {"anyOf": [_FIELD_ERRORS, _STRINGS]}},
                "detail": _DETAIL,
                "invalid_records": {"type": "integer", "minimum": 1},
            },
            description="Erreurs indexées par la position (à partir de 0) de l'enregistrement dans le tableau : "
            "les 100 premiers enregistrements invalides, et leur nombre total (`invalid_records`).",
            examples=[_BATCH_ERROR_EXAMPLE],
        ),
        "ValidationErrorItem": _object(
            ["loc", "msg", "type"],
            {
                "loc": {
                    "type": "array",
                    "items": {"anyOf": [STRING, INTEGER]},
                    "description": "Où : « body », puis l'index de l'enregistrement et le champ.",
                },
                "msg": STRING,
                "type": STRING,
            },
            description="Une erreur de validation au format du framework de l'API d'origine.",
        ),
    }
