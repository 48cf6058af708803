"""The HR forms: WTForms forms generated from the schema, the raw-record form in sections and its what-if variant.

The fields and forms delegate parsing, checks and cross-field rules to futurisys.domain.records, so the HTML form, the
JSON API and the CSV upload share one validation.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field as WTField
from wtforms import StringField, widgets
from wtforms.validators import Length, Optional, Regexp, StopValidation

from futurisys.domain import records, schema
from futurisys.storage.models import EMPLOYEE_REF_LENGTH


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
            self.data = records.parse_value(self.spec, valuelist[0])

    def _value(self):
        if self.raw_data:
            return "" if self.raw_data[0] is None else str(self.raw_data[0])
        return "" if self.data is None else str(self.data)

    def pre_validate(self, form):
        """Presence, then range or allowed values (with the allowed values listed)."""
        if self.process_errors:
            raise StopValidation()
        message = records.check_value(self.spec, self.data)
        if message or self.data is None:
            raise StopValidation(message or "")


class RecordForm(FlaskForm):
    """Base of the generated forms: `record` gives the validated values; cross-field rules in `validate`."""

    fields_spec: tuple[schema.Field, ...] = ()
    rules: records.Rules  # the shape's cross-field rules, set by `record_form_class`

    @property
    def record(self) -> dict:
        """The validated values, keyed by schema name (optional fields left out when empty)."""
        return {f.name: self[f.name].data for f in self.fields_spec if f.required or self[f.name].data is not None}

    def validate(self, extra_validators=None) -> bool:
        """Field checks first; cross-field rules only on fields that are valid on their own."""
        valid = super().validate(extra_validators)
        fields = [self[f.name] for f in self.fields_spec]
        errors = records.with_rule_errors(
            self.rules, {field.name: field.data for field in fields}, {field.name: field.errors for field in fields}
        )
        for name, messages in errors.items():
            self[name].errors = messages
        return valid and not errors


def record_form_class(name: str, fields: tuple[schema.Field, ...], rules: records.Rules) -> type[RecordForm]:
    """A WTForms form class with one SchemaField per schema field and the given cross-field rules."""
    attrs = {f.name: SchemaField(f) for f in fields}
    attrs.update(fields_spec=fields, rules=staticmethod(rules))
    return type(name, (RecordForm,), attrs)


#: The 27-field raw HR record.
RawRecordForm = record_form_class("RawRecordForm", schema.RAW_FIELDS, schema.raw_consistency_errors)

#: Facts a user may change on the result page; the rest of the record is carried in hidden fields.
WHATIF_FIELDS = (
    "heure_supplementaires",
    "frequence_deplacement",
    "satisfaction_employee_environnement",
    "satisfaction_employee_nature_travail",
    "satisfaction_employee_equipe",
    "satisfaction_employee_equilibre_pro_perso",
    "revenu_mensuel",
    "nombre_participation_pee",
    "nb_formations_suivies",
    "annees_depuis_la_derniere_promotion",
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
    """The string an <option> or radio posts for an allowed value (what `records.parse_value` reads back)."""
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
