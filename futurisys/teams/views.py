"""« Vue équipes »: the heatmap of the latest evaluations per job (or level) and department, and its CSV export.

Admins see every HR evaluation, HR staff the ones they wrote (as in « Mes évaluations »). Both the page and the
export are built from `table.publish`, which leaves out every figure of a group under the k setting.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional, ValidationError

from futurisys.admin.forms import FrenchMeta
from futurisys.admin.queries import local_midnight, local_time
from futurisys.auth.access import refuse_unless_role
from futurisys.compliance import settings
from futurisys.domain.formatting import spreadsheet_text
from futurisys.domain.risk import HIGH_RISK_FROM, shown_percent
from futurisys.domain.schema import raw_field
from futurisys.outcomes.kinds import voluntary_kinds
from futurisys.storage.models import utcnow
from futurisys.teams import queries
from futurisys.teams.table import TONE_LABELS, Shown, TeamTable, publish, trend_points

bp = Blueprint("teams", __name__)
#: The longest period one table covers: a trend of three years at most, and a bounded query.
MAX_DAYS = 3 * 366
HIDDEN = "masqué"


@bp.before_request
def _hr_and_admins():
    return refuse_unless_role("admin", "hr")


class TeamFilterForm(FlaskForm):
    """The period and the rows of the heatmap (query string, no CSRF: it changes nothing)."""

    class Meta(FrenchMeta):
        csrf = False

    date_from = DateField("Du", [Optional()])
    date_to = DateField("Au (inclus)", [Optional()])
    rows = SelectField(
        "Lignes du tableau",
        choices=[SelectChoice(key, label) for key, label in queries.ROW_CHOICES.items()],
        default="poste",
    )

    def validate_date_to(self, field):
        start, end = self.period()
        if end < start:
            raise ValidationError("La date de fin précède la date de début.")
        if (end - start).days > MAX_DAYS:
            raise ValidationError("Choisissez une période de trois ans au plus.")

    def period(self) -> tuple[date, date]:
        """The chosen days, first and last included (by default the twelve months up to today)."""
        today = local_time(utcnow()).date()
        end = self.date_to.data or today
        start = self.date_from.data or _twelve_months_before(end)
        return start, end


def _twelve_months_before(day: date) -> date:
    """The first day of the month eleven months before `day`'s: twelve whole months of trend."""
    month = day.year * 12 + day.month - 1 - 11
    return date(month // 12, month % 12 + 1, 1)


def _scope(form: TeamFilterForm) -> queries.Scope:
    start, end = form.period()
    return queries.Scope(
        start=local_midnight(start),
        end=local_midnight(end + timedelta(days=1)),
        rows=form.rows.data if form.rows.data in queries.ROW_CHOICES else "poste",
        author_id=None if current_user.role == "admin" else current_user.id,
    )


def _voluntary() -> frozenset[str]:
    return voluntary_kinds(current_app.config["OUTCOMES_VOLUNTARY_KINDS"])


def _actions_table(scope: queries.Scope, with_departures: bool) -> TeamTable | None:
    """Acted-on and other employees at or above the threshold, and who of them left: once departures exist."""
    if not with_departures:
        return None
    tallies = queries.action_tallies(scope, _voluntary(), local_time(utcnow()).date())
    if not any(key[0] == queries.ACTED for key in tallies):
        return None
    rows = (queries.ACTED, queries.NOT_ACTED)
    return publish(tallies, settings.team_min_group(), with_departures=True, rows=rows, columns=("Tous",))


def _team_table(scope: queries.Scope, with_departures: bool) -> TeamTable:
    high_from = current_app.config.get("RISK_HIGH_FROM", HIGH_RISK_FROM)
    tallies = queries.period_tallies(scope, high_from, _voluntary(), local_time(utcnow()).date())
    return publish(
        tallies,
        settings.team_min_group(),
        monthly=queries.monthly_tallies(scope),
        with_departures=with_departures,
        rows=_ordered_rows(scope.rows, tallies),
    )


def _ordered_rows(rows: str, tallies: dict) -> tuple:
    """The rows in the schema's order (jobs as the form lists them, levels 1 to 5), « Non renseigné » last."""
    present = {row for row, _ in tallies}
    order = [queries.row_label(rows, value) for value, _ in raw_field(_field_of(rows)).choices]
    return tuple(row for row in [*order, queries.NOT_GIVEN] if row in present) + tuple(
        sorted(present - {*order, queries.NOT_GIVEN})
    )


def _field_of(rows: str) -> str:
    return "poste" if rows == "poste" else "niveau_hierarchique_poste"


def _filters() -> tuple[TeamFilterForm, queries.Scope | None]:
    """The query string's filters, and the scope they ask for (None when invalid: the form says what to fix)."""
    form = TeamFilterForm(request.args)
    return form, (_scope(form) if form.validate() else None)


@bp.get("/equipes")
def index():
    """The heatmap, with its legend, the period's form and the export link."""
    form, scope = _filters()
    if scope is None:
        return render_template("teams/index.html", form=form, table=None), 422
    form.date_from.data, form.date_to.data = form.period()  # the form shows the period the table covers
    levels = queries.has_levels(scope)
    notice = None
    if scope.rows == "niveau" and not levels:
        scope = queries.Scope(scope.start, scope.end, "poste", scope.author_id)
        notice = "Aucune évaluation de la période ne renseigne le niveau hiérarchique : le tableau est par poste."
    args = {name: request.args[name] for name in form._fields if request.args.get(name)}
    with_departures = queries.has_departures()
    return render_template(
        "teams/index.html",
        form=form,
        table=_team_table(scope, with_departures),
        actions=_actions_table(scope, with_departures),
        rows_label=queries.ROW_CHOICES[scope.rows],
        levels=levels,
        notice=notice,
        unreferenced=queries.unreferenced_count(scope),
        period=form.period(),
        args=args,
        tone_labels=TONE_LABELS,
        trend_points=trend_points,
    )


@bp.get("/equipes.csv")
def export():
    """The same table as CSV (`;`, UTF-8 with BOM for Excel): hidden groups read « masqué »."""
    form, scope = _filters()
    if scope is None:
        return render_template("teams/index.html", form=form, table=None), 422
    body = team_csv(_team_table(scope, queries.has_departures()), queries.ROW_CHOICES[scope.rows])
    response = Response(body, mimetype="text/csv")
    start, end = form.period()
    response.headers.set("Content-Disposition", "attachment", filename=f"vue_equipes_{start}_{end}.csv")
    return response


CSV_HEADER = (
    "mois",
    "ligne",
    "departement",
    "salaries_evalues",
    "part_risque_eleve_pourcent",
    "risque_moyen_pourcent",
    "taux_depart_realise_pourcent",
)


def team_csv(table: TeamTable, rows_label: str) -> bytes:
    """The published table as CSV: the period's cells and totals, then the mean risk of each month shown."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([*CSV_HEADER[:1], rows_label.lower(), *CSV_HEADER[2:]])
    everyone = "Tous"
    groups = [
        *(((row, column), table.cells[(row, column)]) for row in table.rows for column in table.columns),
        *(((row, everyone), table.row_totals[row]) for row in table.rows),
        *(((everyone, column), table.column_totals[column]) for column in table.columns),
        ((everyone, everyone), table.total),
    ]
    for (row, column), shown in groups:
        writer.writerow(["période", spreadsheet_text(str(row)), spreadsheet_text(str(column)), *_csv_figures(shown)])
    for (row, column), shown in groups:
        for month, mean in shown.trend:
            writer.writerow(
                [month.strftime("%Y-%m"), spreadsheet_text(str(row)), spreadsheet_text(str(column)), "", "",
                 shown_percent(mean), ""]
            )  # fmt: skip
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_figures(shown: Shown) -> list:
    if shown.hidden:
        return [HIDDEN] * 4
    if shown.figures is None:
        return [0, "", "", ""]
    figures = shown.figures
    rate = "" if figures.departure_rate is None else shown_percent(figures.departure_rate)
    return [figures.n, shown_percent(figures.share_high), shown_percent(figures.mean_risk), rate]
