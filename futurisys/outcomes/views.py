"""Pages of the outcomes: « Déclarer un départ » on an evaluation, and the admin's departures (list, import, edit)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from futurisys.auth.access import refuse_unless_role
from futurisys.domain import formatting
from futurisys.domain.csv_io import ENCODINGS, CsvProblem, error_lines, read_table
from futurisys.extensions import db
from futurisys.outcomes import csv_import
from futurisys.outcomes.forms import CorrectionForm, DepartureForm, ImportForm, RemovalForm
from futurisys.outcomes.kinds import KINDS, label, voluntary_kinds
from futurisys.outcomes.models import Departure, DepartureChange
from futurisys.outcomes.record import Actor, Conflict, correct, record_departures, remove
from futurisys.storage.keyset import bounded_count, keyset_page
from futurisys.web.forms import WhatIfForm
from futurisys.web.routes import evaluation_or_404, render_evaluation

log = logging.getLogger(__name__)
PER_PAGE = 50
MAX_LINES_SHOWN = 200

hr_bp = Blueprint("outcomes", __name__)
admin_bp = Blueprint("outcomes_admin", __name__, url_prefix="/admin")


@hr_bp.before_request
def _hr_staff_only():
    return refuse_unless_role("hr", "admin")


@admin_bp.before_request
def _admins_only():
    return refuse_unless_role("admin")


def _actor() -> Actor:
    return Actor(user_id=current_user.id, username=current_user.username)


def template_helpers() -> dict:
    """`departure_panel(evaluation)` for the evaluation page, `realised_figures()` for the model card and dashboard;
    `departure_kind` and `jour` (a date in French)."""
    from futurisys.outcomes.performance import realised_figures

    return {
        "departure_panel": departure_panel,
        "realised_figures": realised_figures,
        "departure_kind": label,
        "jour": formatting.full_day,
    }


def departure_panel(evaluation) -> dict:
    """What « Déclarer un départ » shows: its form (with errors after a refused post), the departures known."""
    known = []
    if evaluation.employee_ref:
        known = db.session.scalars(
            sa.select(Departure)
            .where(Departure.employee_ref == evaluation.employee_ref)
            .order_by(Departure.departure_date.desc())
            .limit(20)
        ).all()
    return {"form": g.get("departure_form") or DepartureForm(formdata=None), "known": known}


@hr_bp.post("/evaluations/<public_id>/depart")
def declare(public_id: str):
    """Record the departure of the employee an evaluation is about (its author or an admin; 404 for others)."""
    evaluation = evaluation_or_404(public_id)
    if not evaluation.employee_ref:
        abort(422, "Cette évaluation n'a pas de référence salarié : aucun départ ne peut lui être rattaché.")
    form = DepartureForm()
    item = form.departure(evaluation.employee_ref) if form.validate() else None
    if item is None:
        g.departure_form = form
        whatif = WhatIfForm(formdata=None, data=evaluation.raw_record or {})
        return render_evaluation(evaluation, whatif), 422
    recorded = record_departures([item], "form", _actor())
    day = formatting.full_day(item.departure_date)
    if recorded.created:
        flash(f"Départ enregistré : {label(item.kind)} le {day}.", "success:depart")
    else:
        flash(f"Ce départ ({label(item.kind)} le {day}) était déjà enregistré.", "info:depart")
    return redirect(url_for("web.evaluation", public_id=public_id, _anchor="depart"), 303)


def _list_page(form: ImportForm, status: int = 200, **context):
    reference = (request.args.get("reference") or "").strip()[:32]
    query = sa.select(Departure)
    if reference:
        query = query.where(Departure.employee_ref == reference)
    pagination = keyset_page(
        db.session,
        query,
        (Departure.departure_date, Departure.id),
        descending=True,
        key_of=lambda d: (d.departure_date, d.id),
        per_page=PER_PAGE,
        after=request.args.get("apres"),
        before=request.args.get("avant"),
    )
    total, exact = bounded_count(db.session, query.with_only_columns(Departure.id), 1000)
    voluntary = voluntary_kinds(current_app.config["OUTCOMES_VOLUNTARY_KINDS"])
    return render_template(
        "outcomes/departures.html",
        form=form,
        pagination=pagination,
        total=total,
        total_exact=exact,
        reference=reference,
        kinds=KINDS,
        voluntary=voluntary,
        columns=csv_import.COLUMNS,
        max_rows=formatting.number(current_app.config["BATCH_MAX_RECORDS"]),
        max_lines_shown=MAX_LINES_SHOWN,
        **context,
    ), status


@admin_bp.get("/departs")
def departures():
    """The recorded departures, newest first (filter by reference), and the CSV import form."""
    return _list_page(ImportForm(formdata=None))


@admin_bp.post("/departs")
def import_departures():
    """Import a CSV of departures: every line recorded (those already known left alone), or none."""
    form = ImportForm()
    if not form.validate_on_submit():
        return _list_page(form, 422)
    try:
        table = read_table(form.fichier.data.stream, current_app.config["BATCH_MAX_RECORDS"], csv_import.check_header)
    except CsvProblem as problem:
        return _list_page(form, 422, problem=str(problem))
    items, errors = csv_import.validate_table(table)
    summary = {
        "lignes": len(table.rows),
        "en_erreur": len(errors),
        "separateur": table.delimiter,
        "encodage": ENCODINGS[table.encoding],
    }
    if errors:
        lines = error_lines(table, dict(sorted(errors.items())[:MAX_LINES_SHOWN]), csv_import.LABELS)
        return _list_page(form, 422, summary=summary, error_lines=lines)
    recorded = record_departures(items, "csv", _actor())
    log.info("departures imported: %d new, %d known", recorded.created, recorded.known)
    flash(
        f"Fichier importé : {formatting.plural(recorded.created, 'départ enregistré', 'départs enregistrés')}, "
        f"{formatting.plural(recorded.known, 'déjà connu', 'déjà connus')}.",
        "success",
    )
    return redirect(url_for("outcomes_admin.departures"), 303)


@admin_bp.get("/departs/modele.csv")
def departures_template():
    """The example departures file, to fill in a spreadsheet."""
    response = Response(csv_import.template_csv(), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename="modele_departs_futurisys.csv")
    return response


def _departure_or_404(departure_id: int) -> Departure:
    departure = db.session.get(Departure, departure_id) if departure_id < 2**31 else None
    if departure is None:
        abort(404, "Départ introuvable (supprimé ou jamais enregistré).")
    return departure


def _edit_page(departure: Departure, form=None, removal=None, status: int = 200):
    history = db.session.scalars(
        sa.select(DepartureChange)
        .where(DepartureChange.departure_id == departure.id)
        .order_by(DepartureChange.changed_at, DepartureChange.id)
    ).all()
    if form is None:
        form = CorrectionForm(
            formdata=None,
            data={
                "reference_salarie": departure.employee_ref,
                "date_depart": departure.departure_date,
                "motif": departure.kind,
            },
        )
    return render_template(
        "outcomes/departure.html",
        departure=departure,
        form=form,
        removal=removal or RemovalForm(formdata=None),
        history=history,
    ), status


@admin_bp.get("/departs/<int:departure_id>")
def departure(departure_id: int):
    """One departure: the correction form, the removal form, and every change made to it (who, when)."""
    return _edit_page(_departure_or_404(departure_id))


@admin_bp.post("/departs/<int:departure_id>")
def correct_departure(departure_id: int):
    """Correct a departure's reference, date or type; the history keeps the previous values."""
    departure = _departure_or_404(departure_id)
    form = CorrectionForm()
    item = form.departure(form.reference_salarie.data or "") if form.validate() else None
    if item is None:
        return _edit_page(departure, form, status=422)
    try:
        changed = correct(departure, item, _actor())
    except Conflict as conflict:
        form.date_depart.errors = [str(conflict)]
        return _edit_page(departure, form, status=422)
    flash("Départ corrigé." if changed else "Aucune modification : le départ est inchangé.", "success")
    return redirect(url_for("outcomes_admin.departure", departure_id=departure_id), 303)


@admin_bp.post("/departs/<int:departure_id>/suppression")
def remove_departure(departure_id: int):
    """Remove a departure once the box is ticked; its history stays."""
    departure = _departure_or_404(departure_id)
    removal = RemovalForm()
    if not removal.validate_on_submit():
        return _edit_page(departure, removal=removal, status=422)
    remove(departure, _actor())
    flash("Départ supprimé ; son historique est conservé.", "success")
    return redirect(url_for("outcomes_admin.departures"), 303)
