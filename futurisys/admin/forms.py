"""Forms and query parameters of the admin area: history filters (a GET form), time windows, delete confirmation."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import abort, request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.meta import DefaultMeta
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import NumberInput

from futurisys.admin.queries import model_versions
from futurisys.domain.schema import LEAVES, STAYS
from futurisys.extensions import db
from futurisys.storage import stats
from futurisys.storage.models import EMPLOYEE_REF_LENGTH, SOURCES

SOURCE_LABELS = {
    "api": "API",
    "form": "Formulaire RH",
    "whatif": "Simulation",
    "batch": "Lot (API)",
    "lot": "Lot (CSV)",
}
assert set(SOURCE_LABELS) == set(SOURCES)
SORTS = {
    "date_desc": "Date, récentes d'abord",
    "date_asc": "Date, anciennes d'abord",
    "proba_desc": "Probabilité décroissante",
    "proba_asc": "Probabilité croissante",
}
LABELS = (LEAVES, STAYS)


class FrenchMeta(DefaultMeta):
    """WTForms' own French messages (Flask-WTF would look for Flask-Babel, which this app does not use)."""

    locales = ("fr_FR", "fr")

    def get_translations(self, form):
        return DefaultMeta.get_translations(self, form)


def _choices(pairs, everything: str | None = "Toutes") -> list[SelectChoice]:
    """Select options from (value, label) pairs, after an empty "all" option when `everything` is given."""
    head = [SelectChoice("", everything)] if everything else []
    return head + [SelectChoice(value, label) for value, label in pairs]


class PercentField(FloatField):
    """A percentage from 0 to 100; accepts a decimal comma; one clear message when it is not a number."""

    widget = NumberInput(step="any", min=0, max=100)

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        self.data = None
        if text:
            try:
                number = float(text.replace(",", "."))
            except ValueError:
                number = math.nan
            if not math.isfinite(number):  # "nan" and "1e999" parse as floats but compare to nothing sensibly
                raise ValueError("Doit être un nombre, par exemple 12,5.")
            self.data = number

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # not a number: the range check would only repeat it


def _percent(label: str) -> PercentField:
    return PercentField(label, [Optional(), NumberRange(0, 100, "Entre 0 et 100 %%.")])


class HistoryFilterForm(FlaskForm):
    """Filters and sort order of the history and of the export (query string, no CSRF: it changes nothing)."""

    class Meta(FrenchMeta):
        csrf = False

    date_from = DateField("Du", [Optional()])
    date_to = DateField("Au (inclus)", [Optional()])
    label = SelectField("Prédiction", choices=_choices((v, v) for v in LABELS), default="")
    proba_min = _percent("Risque min. (%, arrondi)")
    proba_max = _percent("Risque max. (%, arrondi)")
    source = SelectField("Origine", choices=_choices(SOURCE_LABELS.items()), default="")
    model_version = SelectField("Version du modèle", choices=_choices(()), default="")
    employee_ref = StringField(
        "Référence salarié",
        [Optional(), Length(max=EMPLOYEE_REF_LENGTH)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    sort = SelectField("Tri", choices=_choices(SORTS.items(), None), default="date_desc")

    def __init__(self, *args, model_versions: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.model_version.choices = _choices((v, v) for v in model_versions)

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("La date de fin précède la date de début.")

    def validate_proba_max(self, field):
        if field.data is not None and self.proba_min.data is not None and field.data < self.proba_min.data:
            raise ValidationError("Le maximum est inférieur au minimum.")

    def filters(self) -> dict:
        """The validated filters, without the empty ones and the sort order."""
        return {name: f.data for name, f in self._fields.items() if name != "sort" and f.data not in (None, "")}


class DeleteForm(FlaskForm):
    """Deleting a prediction and its input needs a ticked confirmation (works without JavaScript)."""

    class Meta(FrenchMeta):
        pass

    confirm = BooleanField(
        "Je confirme la suppression définitive de cette prédiction et des données saisies.",
        [DataRequired("Cochez la case pour confirmer la suppression.")],
    )
    submit = SubmitField("Supprimer définitivement")


def filter_form() -> HistoryFilterForm:
    """The history filters read from the query string (a GET form: Flask-WTF would only read POSTed data)."""
    return HistoryFilterForm(request.args, model_versions=model_versions())


def filter_args(form: HistoryFilterForm) -> dict:
    """The non-empty filter values, as they appear in the query string, for links that keep them."""
    return {name: request.args[name] for name in form._fields if request.args.get(name)}


WINDOWS = {
    "7d": ("7 derniers jours", timedelta(days=7)),
    "30d": ("30 derniers jours", timedelta(days=30)),
    "90d": ("90 derniers jours", timedelta(days=90)),
    "all": ("Tout l'historique", None),
}


class Window(NamedTuple):
    """A time window of the dashboard or the drift page: its key in WINDOWS and when it starts (None for all)."""

    key: str
    since: datetime | None
    choices = WINDOWS


def read_window(default: str = "30d") -> Window:
    """The window named by the `window` query parameter; a 400 error page when it names none."""
    key = request.args.get("window", default)
    if key not in WINDOWS:
        abort(400, f"Fenêtre inconnue : choisissez parmi {', '.join(WINDOWS)}.")
    span = WINDOWS[key][1]
    if span is None:
        return Window(key, None)
    # Whole days of the daily stats' calendar (today and the days before it): every past day of the window is read
    # from the stats, none in part from its raw rows (at 10M predictions a day holds some 27,000).
    connection = db.session.connection()
    return Window(key, stats.day_start(connection, stats.today(connection) - span + timedelta(days=1)))


class PurgeForm(FlaskForm):
    """A purge of the evaluations older than a number of days: confirmed by a ticked box (no JavaScript needed)."""

    class Meta(FrenchMeta):
        pass

    days = IntegerField(
        "Supprimer les évaluations de plus de (jours)",
        [InputRequired("Indiquez un nombre de jours."), NumberRange(1, 36_500, "Entre 1 et 36 500 jours.")],
        widget=NumberInput(min=1, max=36_500),
        description="Les prédictions, les données saisies et les décisions de ces évaluations partent avec elles ; "
        "les salariés sous gel juridique sont conservés.",
    )
    confirm = BooleanField(
        "Je confirme la suppression définitive de ces évaluations.",
        [DataRequired("Cochez la case pour confirmer la purge.")],
    )
    submit = SubmitField("Lancer la purge")
