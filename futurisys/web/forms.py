"""The HR forms: the generated raw-record form, presented in sections, and its what-if variant.

Both subclass `RawRecordForm`, so the HTML form, the JSON API and the CSV upload share one validation.
"""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import Length, Optional, Regexp

from futurisys import schema
from futurisys.models import EMPLOYEE_REF_LENGTH
from futurisys.validation import RawRecordForm, SchemaField

#: Facts a user may change on the result page; the rest of the record is carried in hidden fields.
WHATIF_FIELDS = (
    "heure_supplementaires",
    "frequence_deplacement",
    "satisfaction_employee_environnement",
    "satisfaction_employee_nature_travail",
    "satisfaction_employee_equipe",
    "satisfaction_employee_equilibre_pro_perso",
    "revenu_mensuel",
)
# Scales with this many points or fewer read best as radio buttons; longer lists as a select.
_MAX_RADIOS = 4


def widget_for(spec: schema.Field) -> str:
    """How a schema field is best presented: "radio", "select" or "number"."""
    if spec.kind == "bool":
        return "radio"
    if spec.kind == "category" or len(spec.choices) > _MAX_RADIOS:
        return "select"
    return "radio" if spec.choices else "number"


def option_value(value) -> str:
    """The string an <option> or radio posts for an allowed value (what `parse_value` reads back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def current_value(field: SchemaField) -> str:
    """What the field shows: the text as posted (kept even when invalid), else its data in posted form."""
    if field.raw_data:
        return "" if field.raw_data[0] is None else str(field.raw_data[0])
    return "" if field.data is None else option_value(field.data)


class EvaluationForm(RawRecordForm):
    """The 27-field raw HR record, as HR staff fill it in, with the employee's optional reference."""

    reference_salarie = StringField(
        "Référence salarié",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            Optional(),
            Length(max=EMPLOYEE_REF_LENGTH, message=schema.EMPLOYEE_REF_MESSAGE),
            Regexp(schema.EMPLOYEE_REF_PATTERN, message=schema.EMPLOYEE_REF_MESSAGE),
        ],
        description=schema.EMPLOYEE_REF_HELP,
        render_kw={"autocomplete": "off", "spellcheck": "false", "maxlength": EMPLOYEE_REF_LENGTH},
    )

    @property
    def employee_ref(self) -> str | None:
        """The reference as stored (None when left empty)."""
        return self.reference_salarie.data or None

    def sections(self) -> list[tuple[str, list[SchemaField]]]:
        """The fields grouped by the schema's sections, in section order, export order inside each."""
        return [
            (section, [self[f.name] for f in self.fields_spec if f.section == section]) for section in schema.SECTIONS
        ]

    def error_list(self) -> list[tuple[SchemaField, str]]:
        """Every (field, message) pair, in the order the fields appear on the page."""
        ordered = [self.reference_salarie] + [field for _, fields in self.sections() for field in fields]
        return [(field, message) for field in ordered for message in field.errors]


class WhatIfForm(RawRecordForm):
    """The record of an evaluation with a few facts editable (the evaluation it varies is in the URL)."""

    def editable(self) -> list[SchemaField]:
        """The fields shown to the user."""
        return [self[name] for name in WHATIF_FIELDS]

    def carried(self) -> list[SchemaField]:
        """The fields carried unchanged, as hidden inputs."""
        return [self[f.name] for f in self.fields_spec if f.name not in WHATIF_FIELDS]

    def error_list(self) -> list[tuple[SchemaField, str]]:
        """Every (field, message) pair, editable fields first (hidden ones only when tampered with)."""
        fields = self.editable() + self.carried()
        return [(field, message) for field in fields for message in field.errors]
