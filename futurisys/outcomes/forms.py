"""Forms of the outcome pages: declare a departure, correct or remove one, import a CSV, choose a horizon."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from futurisys.admin.forms import FrenchMeta
from futurisys.outcomes.kinds import KINDS
from futurisys.outcomes.record import NewDeparture, validate
from futurisys.storage.models import EMPLOYEE_REF_LENGTH

KIND_CHOICES = [SelectChoice("", "— Choisir —"), *(SelectChoice(code, text) for code, text in KINDS.items())]


class DepartureForm(FlaskForm):
    """« Déclarer un départ » on an evaluation's page: the date and the type (the reference is the evaluation's)."""

    class Meta(FrenchMeta):
        pass

    date_depart = DateField("Date de départ", [InputRequired("Indiquez la date de départ.")])
    motif = SelectField("Type de départ", [DataRequired("Choisissez le type de départ.")], choices=KIND_CHOICES)

    def departure(self, reference: str) -> NewDeparture | None:
        """The departure typed in, or None with the errors set on the fields (dates in the future refused)."""
        item, errors = validate(reference, self.date_depart.data, self.motif.data)
        for name, messages in errors.items():
            getattr(self, name, self.date_depart).errors = list(messages)
        return item


class CorrectionForm(DepartureForm):
    """An admin's correction of a departure: the reference may be corrected too."""

    reference_salarie = StringField(
        "Référence du salarié",
        [DataRequired("Indiquez la référence du salarié."), Length(max=EMPLOYEE_REF_LENGTH)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


class RemovalForm(FlaskForm):
    """Removing a departure, once a box is ticked."""

    class Meta(FrenchMeta):
        pass

    confirmer = BooleanField(
        "Je confirme la suppression de ce départ", [DataRequired("Cochez la case pour confirmer.")]
    )


class ImportForm(FlaskForm):
    """The departures CSV upload (CSRF-protected)."""

    class Meta(FrenchMeta):
        pass

    fichier = FileField(
        "Fichier CSV des départs",
        validators=[
            FileRequired("Choisissez un fichier CSV."),
            FileAllowed(["csv", "txt"], "Le fichier doit être un fichier CSV (.csv)."),
        ],
    )
