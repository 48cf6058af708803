"""WTForms forms generated from the schema: the same validation for the HR form, JSON payloads and CSV rows.

Every field accepts both what a browser posts (strings) and what a JSON client sends (typed values), plus the
forms HR exports use where unambiguous ("Oui"/"Non", "11 %"). Messages are in French.

JSON payloads and CSV rows go through `clean_record`: the forms' very checks (`parse_value`, `check_value`, the
schema's cross-field rules) without a form object per record, which batches of thousands could not afford.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence

from flask_wtf import FlaskForm
from wtforms import Field as WTField
from wtforms import widgets
from wtforms.validators import StopValidation

from futurisys import formatting, schema

_INTEGER = re.compile(r"^\s*([+-]?\d+)\s*%?\s*$")
_NUMBER = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*$")
# French writing of numbers: groups of three digits after a space (plain, no-break, narrow or thin), decimal comma
# ("3 500", "3 500,50"); the spaces are dropped before the patterns above apply.
_GROUPED = re.compile(r"^\s*[+-]?\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?:[.,]\d+)?\s*%?\s*$")
_GROUP_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")


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


def _choice(field: schema.Field, text: str):
    """The allowed value `text` spells (code or label, any case or accents), else `text` stripped."""
    spellings = _SPELLINGS.get(id(field)) or _spellings(field)
    return spellings.get(_fold(text), text.strip())


#: The spellings a boolean may take in a form, a JSON string or a CSV cell (compared lower-cased).
TRUE_WORDS = frozenset({"oui", "true", "vrai", "yes", "1"})
FALSE_WORDS = frozenset({"non", "false", "faux", "no", "0"})


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
        value = _without_group_spaces(value)
        if field.choices and not _NUMBER.match(value):  # a labelled scale: "3 — Élevée", "Niveau 2"
            value = _choice(field, value)
    if field.kind == "int":
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        match = _INTEGER.match(value) if isinstance(value, str) and len(value) <= _MAX_DIGITS else None
        if match and ("%" not in value or field.name == "augementation_salaire_precedente"):
            return int(match.group(1))
        raise ValueError("Doit être un nombre entier.")
    if isinstance(value, (int, float)):
        return _float(value)
    match = _NUMBER.match(value) if isinstance(value, str) else None
    if match:
        return float(match.group(1).replace(",", "."))
    raise ValueError("Doit être un nombre.")


# Longest integer string parsed (Python refuses more than 4,300 digits; no field needs more than a few).
_MAX_DIGITS = 64


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


# The schema fields' allowed values, by identity: `Field.values` builds a tuple on each call, and this check runs
# for every value of every record of a batch.
_ALLOWED = {id(field): frozenset(field.values) for field in schema.RAW_FIELDS + schema.FEATURES}


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


class SchemaField(WTField):
    """A WTForms field driven by one schema field: parsing, presence, range and allowed values."""

    widget = widgets.TextInput()

    def __init__(self, spec: schema.Field, **kwargs):
        kwargs.setdefault("label", spec.label)
        kwargs.setdefault("description", spec.help)
        super().__init__(**kwargs)
        self.spec = spec

    def process_formdata(self, valuelist):
        """Parse the first posted value; an empty string or JSON null counts as absent."""
        if valuelist and valuelist[0] is not None and valuelist[0] != "":
            self.data = parse_value(self.spec, valuelist[0])

    def _value(self):
        if self.raw_data:
            return "" if self.raw_data[0] is None else str(self.raw_data[0])
        return "" if self.data is None else str(self.data)

    def pre_validate(self, form):
        """Presence, then range or allowed values (with the allowed values listed)."""
        if self.process_errors:
            raise StopValidation()
        message = check_value(self.spec, self.data)
        if message or self.data is None:
            raise StopValidation(message or "")


class RecordForm(FlaskForm):
    """Base of the generated forms: `record` gives the validated values; cross-field rules in `validate`."""

    fields_spec: tuple[schema.Field, ...] = ()

    @property
    def record(self) -> dict:
        """The validated values, keyed by schema name (optional fields left out when empty)."""
        return {f.name: self[f.name].data for f in self.fields_spec if f.required or self[f.name].data is not None}

    def consistency_errors(self, values: dict) -> dict[str, list[str]]:
        """Cross-field rules (overridden per shape)."""
        return {}

    def validate(self, extra_validators=None) -> bool:
        """Field checks first; cross-field rules only on fields that are valid on their own."""
        valid = super().validate(extra_validators)
        values = {f.name: self[f.name].data for f in self.fields_spec if not self[f.name].errors}
        for name, messages in self.consistency_errors(values).items():
            self[name].errors = list(self[name].errors) + messages
            valid = False
        return valid

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """{field: [messages]} for the fields that failed (CSRF included)."""
        return {name: list(errors) for name, errors in self.errors.items() if errors}


def record_form_class(name: str, fields: tuple[schema.Field, ...], rules) -> type[RecordForm]:
    """A WTForms form class with one SchemaField per schema field and the given cross-field rules."""
    attrs = {f.name: SchemaField(f) for f in fields}
    attrs.update(fields_spec=fields, consistency_errors=lambda self, values: rules(values))
    return type(name, (RecordForm,), attrs)


#: The 27-field raw HR record.
RawRecordForm = record_form_class("RawRecordForm", schema.RAW_FIELDS, schema.raw_consistency_errors)


def is_raw_record(payload: Mapping) -> bool:
    """The documented rule: all 30 feature keys make the feature payload, else any raw-only key a raw record."""
    if all(name in payload for name in schema.FEATURE_NAMES):
        return False
    return any(key in payload for key in schema.RAW_ONLY_NAMES)


def clean_record(fields: tuple[schema.Field, ...], rules, payload: Mapping) -> tuple[dict, dict[str, list[str]]]:
    """What a generated form does, without building one: (validated record, {field: [messages]}).

    JSON and CSV records come in by the thousand; a form object per record costs more than the checks
    themselves, so this applies the same `parse_value`, `check_value` and cross-field rules directly.
    tests/test_api_batch.py holds it to the forms' results.
    """
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
    for name, messages in rules(values).items():
        errors[name] = errors.get(name, []) + messages
    if errors:
        return {}, {field.name: errors[field.name] for field in fields if field.name in errors}
    return {field.name: values[field.name] for field in fields if field.required or values[field.name] is not None}, {}


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
        from futurisys.ml.features import derive_features

        return derive_features(record), record, {}
    return record, None, {}


def validate_many(payloads: Sequence) -> tuple[list[tuple[dict, dict | None]], dict[int, dict]]:
    """Validate records of either shape: ([(features, raw record or None)], {index: errors}).

    A non-object item is an error at its index; the list of items is only meaningful when there are no errors.
    """
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
