"""Employee records checked against the schema, without Flask: parsing, range checks, cross-field rules, shape.

The HR form (futurisys.web.forms), JSON payloads and CSV rows all go through these functions; JSON and CSV
records skip the form objects, which batches of thousands could not afford. Messages are in French.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from futurisys.domain import formatting, schema
from futurisys.ml.features import derive_features

#: Cross-field rules: values → {field: [French messages]} (see schema.raw_consistency_errors).
Rules = Callable[[dict], dict[str, list[str]]]

_INTEGER = re.compile(r"^\s*([+-]?\d+)\s*%?\s*$")
_NUMBER = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*$")
# The euro sign after an amount ("3 500 €", "3500,50€"): dropped before the number is read.
_EURO_SIGN = re.compile(r"\s*(?:€|EUR)\s*$", re.IGNORECASE)
# French writing of numbers: groups of three digits after a space (plain, no-break, narrow or thin), decimal comma
# ("3 500", "3 500,50"); the spaces are dropped before the patterns above apply.
_GROUPED = re.compile(r"^\s*[+-]?\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?:[.,]\d+)?\s*%?\s*$")
_GROUP_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
# Longest integer string parsed (Python refuses more than 4,300 digits; no field needs more than a few).
_MAX_DIGITS = 64

#: The spellings a boolean may take in a form, a JSON string or a CSV cell (compared lower-cased).
TRUE_WORDS = frozenset({"oui", "true", "vrai", "yes", "1"})
FALSE_WORDS = frozenset({"non", "false", "faux", "no", "0"})


def _without_group_spaces(text: str) -> str:
    """ "3 500,50" → "3500,50"; other text unchanged."""
    return _GROUP_SPACES.sub("", text.strip()) if _GROUPED.match(text) else text


def _fold(text: str) -> str:
    """Text compared without case, accents or repeated spaces ("Fréquent" ≈ "frequent")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _spellings(field: schema.Field) -> dict[str, object]:
    """Every accepted spelling of a field's allowed values: its code and the French label the form shows."""
    spellings = {}
    for value, label in field.choices:
        spellings.setdefault(_fold(label), value)
    for value, _ in field.choices:
        spellings[_fold(str(value))] = value  # a code wins over a label that happens to spell it
    return spellings


_SPELLINGS = {id(field): _spellings(field) for field in schema.RAW_FIELDS + schema.FEATURES if field.choices}
# The schema fields' allowed values, by identity: `Field.values` builds a tuple on each call, and this check runs
# for every value of every record of a batch.
_ALLOWED = {id(field): frozenset(field.values) for field in schema.RAW_FIELDS + schema.FEATURES}


def _choice(field: schema.Field, text: str):
    """The allowed value `text` spells (code or label, any case or accents), else `text` stripped."""
    spellings = _SPELLINGS.get(id(field)) or _spellings(field)
    return spellings.get(_fold(text), text.strip())


def parse_value(field: schema.Field, value):
    """Convert a posted or JSON value to the field's Python type; raise ValueError with a French message."""
    if field.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        raise ValueError("Doit être « Oui » ou « Non ».")
    if field.kind == "category":
        if not isinstance(value, str):
            raise ValueError("Doit être une chaîne de caractères.")
        if not _encodable(value):
            raise ValueError("Contient un caractère invalide (substitut Unicode isolé).")
        return value if value in _ALLOWED.get(id(field), ()) else _choice(field, value)
    if isinstance(value, bool):
        raise ValueError("Doit être un nombre, pas un booléen.")
    if isinstance(value, str):
        if field.unit == "€":
            value = _EURO_SIGN.sub("", value)
        value = _without_group_spaces(value)
        if field.choices and not _NUMBER.match(value):  # a labelled scale: "3 — Élevée", "Niveau 2"
            value = _choice(field, value)
    if field.kind == "int":
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        match = _INTEGER.match(value) if isinstance(value, str) and len(value) <= _MAX_DIGITS else None
        if match and ("%" not in value or field.accepts_percent):
            return int(match.group(1))
        cents = (
            _NUMBER.match(value) if field.unit == "€" and isinstance(value, str) and len(value) <= _MAX_DIGITS else None
        )
        if cents:  # an amount with its cents ("3500,50"): the model reads whole euros, rounded half up
            return int(Decimal(cents.group(1).replace(",", ".")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        raise ValueError("Doit être un nombre entier.")
    if isinstance(value, (int, float)):
        return _float(value)
    match = _NUMBER.match(value) if isinstance(value, str) else None
    if match:
        return float(match.group(1).replace(",", "."))
    raise ValueError("Doit être un nombre.")


def _encodable(text: str) -> bool:
    # A lone surrogate ("\ud800" in JSON) cannot be written back in UTF-8, e.g. echoed in an error message.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _float(number) -> float:
    # An integer of 400 digits is valid JSON but too large for a float; NaN and infinities have no range.
    try:
        value = float(number)
    except OverflowError:
        raise ValueError("Nombre hors limites.") from None
    if not math.isfinite(value):
        raise ValueError("Nombre hors limites.")
    return value


def check_value(field: schema.Field, value) -> str | None:
    """Presence, then range or allowed values, of a parsed value: the French message, or None when it is fine."""
    if value is None:
        return "Champ obligatoire." if field.required else None
    if field.kind == "category" or (field.choices and field.kind != "bool"):
        if value not in (_ALLOWED.get(id(field)) or frozenset(field.values)):
            # The form's labels, with the API's code when it differs; the numbers of a scale as they are typed.
            allowed = ", ".join(
                str(code) if field.kind != "category" or label == code else f"{label} ({code})"
                for code, label in field.choices
            )
            return f"Valeur inconnue « {value} ». Valeurs permises : {allowed}."
    elif field.minimum is not None and not field.minimum <= value <= field.maximum:
        return f"Doit être compris entre {formatting.number(field.minimum)} et {formatting.number(field.maximum)}."
    return None


def with_rule_errors(rules: Rules, values: Mapping, errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The field `errors` plus the cross-field rules' messages; the rules see only the fields valid on their own."""
    merged = {name: list(messages) for name, messages in errors.items() if messages}
    for name, messages in rules({k: v for k, v in values.items() if k not in merged}).items():
        merged[name] = merged.get(name, []) + messages
    return merged


def clean_record(fields: tuple[schema.Field, ...], rules: Rules, payload: Mapping) -> tuple[dict, dict[str, list[str]]]:
    """What a generated form does, without building one: (validated record, {field: [messages]})."""
    values, errors = {}, {}
    for field in fields:
        value = payload.get(field.name)
        try:
            data = None if value is None or value == "" else parse_value(field, value)
        except ValueError as exc:
            errors[field.name] = [exc.args[0]]
            continue
        message = check_value(field, data)
        if message:
            errors[field.name] = [message]
        else:
            values[field.name] = data
    errors = with_rule_errors(rules, values, errors)
    if errors:
        return {}, {field.name: errors[field.name] for field in fields if field.name in errors}
    return {field.name: values[field.name] for field in fields if field.required or values[field.name] is not None}, {}


def is_raw_record(payload: Mapping) -> bool:
    """The documented rule: all 30 feature keys make the feature payload, else any raw-only key a raw record."""
    if all(name in payload for name in schema.FEATURE_NAMES):
        return False
    return any(key in payload for key in schema.RAW_ONLY_NAMES)


def validate_payload(payload: Mapping) -> tuple[dict | None, dict | None, dict]:
    """Validate one JSON record of either shape: (features, raw record or None, errors)."""
    raw = is_raw_record(payload)
    if raw:
        record, errors = clean_record(schema.RAW_FIELDS, schema.raw_consistency_errors, payload)
    else:
        record, errors = clean_record(schema.FEATURES, schema.feature_consistency_errors, payload)
    if errors:
        return None, None, errors
    if raw:
        return derive_features(record), record, {}
    return {name: record.get(name) for name in schema.FEATURE_NAMES}, None, {}


def validate_many(payloads: Sequence) -> tuple[list[tuple[dict, dict | None]], dict[int, dict]]:
    """Validate records of either shape: ([(features, raw record or None)], {index: errors}); items only when valid."""
    items, errors = [], {}
    for index, payload in enumerate(payloads):
        if not isinstance(payload, Mapping):
            errors[index] = {"_record": ["Un objet JSON est attendu."]}
            continue
        features, raw, record_errors = validate_payload(payload)
        if record_errors:
            errors[index] = record_errors
        else:
            items.append((features, raw))
    return items, errors
