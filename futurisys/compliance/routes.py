"""Pages of the DPO and admins (journal, employee file, rights, settings, documents) and HR's decision form.

Every request naming an employee sends the reference in a POST body, never in the URL: URLs reach access logs.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from futurisys.admin.export import cell
from futurisys.admin.forms import FrenchMeta
from futurisys.admin.queries import local_midnight
from futurisys.auth.access import refuse_unless_role
from futurisys.compliance import bp, files, journal, rights, settings
from futurisys.compliance.models import DECISION_ACTIONS, Decision
from futurisys.domain import schema
from futurisys.extensions import db
from futurisys.storage.models import EMPLOYEE_REF_LENGTH

JOURNAL_ROWS_SHOWN = 200
REFERENCE_VALIDATORS = [
    Length(max=EMPLOYEE_REF_LENGTH, message=schema.EMPLOYEE_REF_MESSAGE),
    Regexp(schema.EMPLOYEE_REF_PATTERN, message=schema.EMPLOYEE_REF_MESSAGE),
]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class JournalFilterForm(FlaskForm):
    """Filters of the journal: an employee, an account, dates (POSTed: the reference stays out of URLs)."""

    class Meta(FrenchMeta):
        pass

    reference = StringField("Référence salarié", [Optional(), *REFERENCE_VALIDATORS], filters=[_strip])
    utilisateur = StringField("Identifiant de l'utilisateur", [Optional(), Length(max=64)], filters=[_strip])
    du = DateField("Du", [Optional()])
    au = DateField("Au (inclus)", [Optional()])

    def validate_au(self, field):
        if field.data and self.du.data and field.data < self.du.data:
            raise ValidationError("La date de fin précède la date de début.")

    def select(self):
        """The matching entries' query."""
        since = local_midnight(self.du.data) if self.du.data else None
        until = local_midnight(self.au.data + timedelta(days=1)) if self.au.data else None
        return journal.entries_select(self.reference.data or None, self.utilisateur.data or None, since, until)


class ReferenceForm(FlaskForm):
    """One employee's reference."""

    class Meta(FrenchMeta):
        pass

    reference = StringField(
        "Référence salarié",
        [DataRequired("Indiquez la référence du salarié."), *REFERENCE_VALIDATORS],
        filters=[_strip],
    )


class FlagsForm(ReferenceForm):
    """Legal hold and objection of one employee."""

    legal_hold = BooleanField("Gel juridique (bloque l'effacement et les purges)")
    objection = BooleanField("Opposition (refuse toute nouvelle évaluation)")


class EraseForm(ReferenceForm):
    """Erasure, confirmed by a ticked box."""

    confirm = BooleanField(
        "Je confirme l'effacement définitif de toutes les données de ce salarié",
        [DataRequired("Cochez la case pour confirmer l'effacement.")],
    )


class RectifyForm(ReferenceForm):
    """Rectification: the rows filed under this reference belong to another employee."""

    new_reference = StringField(
        "Référence exacte du salarié",
        [DataRequired("Indiquez la référence exacte."), *REFERENCE_VALIDATORS],
        filters=[_strip],
    )
    confirm = BooleanField(
        "Je confirme que ces lignes concernent le salarié de la référence exacte",
        [DataRequired("Cochez la case pour confirmer la rectification.")],
    )


class DecisionForm(FlaskForm):
    """What HR decided after an evaluation."""

    class Meta(FrenchMeta):
        pass

    action = RadioField(
        "Suite donnée",
        choices=[SelectChoice(key, label) for key, label in DECISION_ACTIONS.items()],
        validators=[InputRequired("Choisissez une suite.")],
    )
    avis = RadioField(
        "Par rapport à l'avis du modèle",
        choices=[
            SelectChoice("suit", "Je suis l'avis du modèle"),
            SelectChoice("ne_suit_pas", "Je ne suis pas l'avis du modèle"),
        ],
        validators=[InputRequired("Indiquez si vous suivez l'avis du modèle.")],
    )
    commentaire = TextAreaField(
        "Commentaire (facultatif, sans donnée sensible)", [Optional(), Length(max=2000)], filters=[_strip]
    )


def settings_form_class():
    """The settings form: one field per setting, validated by compliance.settings."""

    class SettingsForm(FlaskForm):
        class Meta(FrenchMeta):
            pass

    for key, spec in settings.SPECS.items():
        if key == "scoring_suspended":
            field = BooleanField("Suspendre toutes les évaluations (formulaire, lot, API)")
        else:
            field = StringField(spec.label, filters=[_strip])
        setattr(SettingsForm, key, field)
    return SettingsForm


def _subject_filter(form: JournalFilterForm) -> list[journal.Subject]:
    return [journal.Subject(form.reference.data)] if form.reference.data else []


@bp.route("/", methods=["GET", "POST"], endpoint="journal")
def journal_page():
    """« Qui a consulté le salarié X », « qu'a consulté l'utilisateur Y », by dates; the latest entries first."""
    form = JournalFilterForm()
    if request.method == "POST" and not form.validate():
        return render_template("compliance/journal.html", form=form, entries=None, actions=journal.ACTIONS), 422
    entries = db.session.scalars(form.select().limit(JOURNAL_ROWS_SHOWN)).all()
    journal.record("journal", _subject_filter(form), {"utilisateur": form.utilisateur.data or None})
    return render_template(
        "compliance/journal.html", form=form, entries=entries, actions=journal.ACTIONS, limit=JOURNAL_ROWS_SHOWN
    )


@bp.post("/journal.csv")
def journal_csv():
    """The entries matching the filters as CSV (`;`, UTF-8 with BOM, Paris time)."""
    form = JournalFilterForm()
    if not form.validate():
        return render_template("compliance/journal.html", form=form, entries=None, actions=journal.ACTIONS), 422
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "numero",
            "date_paris",
            "utilisateur",
            "role",
            "action",
            "salarie_pseudonyme",
            "evaluation",
            "adresse_ip",
            "detail",
            "empreinte",
        ]
    )
    for entry in db.session.scalars(form.select()):
        writer.writerow(
            cell(v)
            for v in (
                entry.seq,
                journal.when(entry),
                entry.username,
                entry.role,
                journal.ACTIONS.get(entry.action, entry.action),
                entry.employee_key,
                entry.input_id,
                entry.address,
                entry.detail,
                entry.hash,
            )
        )
    journal.record("journal_export", _subject_filter(form), {"utilisateur": form.utilisateur.data or None})
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="journal-futurisys-{datetime.now():%Y-%m-%d}.csv"'},
    )


@bp.route("/salarie", methods=["GET", "POST"])
def employee():
    """Find an employee by reference: their file's summary, downloads and, for admins, their rights."""
    form = ReferenceForm()
    if request.method == "GET" or not form.validate():
        status = 422 if form.errors else 200
        return render_template("compliance/employee.html", form=form, file=None), status
    ref = form.reference.data
    file = files.build(ref)
    journal.record("dossier", [journal.Subject(ref)], {"vue": "synthese"})
    return _employee_page(ref, file)


def _employee_page(ref: str, file: dict, status: int = 200, **forms):
    """The employee's summary with the admins' forms (flags, rectification, erasure), `forms` replacing defaults."""
    defaults = {
        "flags": FlagsForm(formdata=None, reference=ref, **_flag_values(file)),
        "rectify": RectifyForm(formdata=None, reference=ref),
        "erase": EraseForm(formdata=None, reference=ref),
    }
    return render_template(
        "compliance/employee.html",
        form=ReferenceForm(formdata=None, reference=ref),
        file=file,
        **{**defaults, **forms},
    ), status


def _flag_values(file: dict) -> dict:
    return {"legal_hold": file["drapeaux"]["gel_juridique"], "objection": file["drapeaux"]["opposition"]}


@bp.post("/salarie/dossier.<any(json, html):kind>")
def employee_file(kind: str):
    """The employee's whole file: JSON to download, or the printable French page."""
    form = ReferenceForm()
    if not form.validate():
        return render_template("compliance/employee.html", form=form, file=None), 422
    ref = form.reference.data
    file = files.build(ref)
    journal.record("dossier", [journal.Subject(ref)], {"vue": kind})
    if kind == "json":
        response = Response(json.dumps(file, ensure_ascii=False, indent=2), mimetype="application/json")
        response.headers.set("Content-Disposition", "attachment", filename=f"dossier-{ref}.json")
        return response
    return render_template("compliance/file.html", file=file, actions=DECISION_ACTIONS)


@bp.post("/salarie/drapeaux")
def flags():
    """Set or lift the legal hold and the objection of an employee (admins)."""
    form = FlagsForm()
    if not form.validate():
        abort(422, "Référence invalide.")
    ref, current = form.reference.data, rights.flags_of(form.reference.data)
    for name in ("legal_hold", "objection"):
        if bool(getattr(current, name)) != form[name].data:
            rights.set_flag(ref, name, form[name].data, current_user.username)
    flash("Gel juridique et opposition enregistrés.", "success")
    return _employee_page(ref, files.build(ref), flags=form)


@bp.post("/salarie/rectification")
def rectify():
    """Move the rows filed under a wrong reference to the right one (admins), unless a legal hold is set."""
    form = RectifyForm()
    if not form.validate():
        ref = form.reference.data if not form.reference.errors else None
        if not ref:
            return render_template("compliance/employee.html", form=ReferenceForm(formdata=None), file=None), 422
        return _employee_page(ref, files.build(ref), 422, rectify=form)
    try:
        moved = rights.rectify_reference(form.reference.data, form.new_reference.data)
    except rights.LegalHold as exc:
        abort(409, str(exc))
    except rights.RectificationRefused as exc:
        form.new_reference.errors = [str(exc)]
        return _employee_page(form.reference.data, files.build(form.reference.data), 422, rectify=form)
    flash(
        f"Rectification enregistrée : {sum(moved.values())} ligne(s) rattachée(s) à {form.new_reference.data}.",
        "success",
    )
    return redirect(url_for("compliance.employee"), 303)


@bp.post("/salarie/effacement")
def erase():
    """Erase every row of an employee (admins), unless a legal hold is set."""
    form = EraseForm()
    if not form.validate():
        ref = form.reference.data if not form.reference.errors else None
        if not ref:
            return render_template("compliance/employee.html", form=ReferenceForm(formdata=None), file=None), 422
        return _employee_page(ref, files.build(ref), 422, erase=form)
    try:
        removed = rights.erase(form.reference.data)
    except rights.LegalHold as exc:
        abort(409, str(exc))
    flash(f"Données du salarié effacées : {sum(removed.values())} ligne(s) supprimée(s).", "success")
    return redirect(url_for("compliance.employee"), 303)


@bp.route("/parametres", methods=["GET", "POST"])
def settings_page():
    """Retention, documents' details and the suspend switch; the DPO reads them, admins change them."""
    form = settings_form_class()(formdata=None, data=_form_data())
    if request.method == "POST":
        form = settings_form_class()()
        valid = form.validate()  # the CSRF token (validate() resets field errors: ours are added after)
        for key in settings.SPECS:
            message = settings.validate(key, _posted(form, key)) if key != "scoring_suspended" else None
            if message:
                form[key].errors = [*form[key].errors, message]
                valid = False
        if valid:
            changed = settings.save({key: _posted(form, key) for key in settings.SPECS}, current_user.username)
            for key, (old, new) in changed.items():
                action = "suspension" if key in ("scoring_suspended", "suspension_reason") else "parametres"
                journal.record(action, detail={"parametre": key, "avant": old, "apres": new})
            flash("Paramètres enregistrés." if changed else "Aucun changement.", "success")
            return redirect(url_for("compliance.settings_page"), 303)
        return _settings_page(form), 422
    return _settings_page(form)


def _posted(form, key: str) -> str:
    if key == "scoring_suspended":
        return "1" if form[key].data else "0"
    return form[key].data or ""


def _form_data() -> dict:
    values = dict(settings.all_settings())
    values["scoring_suspended"] = values["scoring_suspended"] == "1"
    return values


def _settings_page(form):
    return render_template(
        "compliance/settings.html",
        form=form,
        months=settings.MONTH_SETTINGS,
        held=files.held_count(),
        can_edit=current_user.role == "admin",
        specs=settings.SPECS,
    )


@bp.get("/logique")
def logic():
    """« Logique du traitement »: the loaded model, from its card."""
    return render_template("compliance/logic.html", logic=files.logic())


def _document(template: str):
    return render_template(template, logic=files.logic(), values=settings.all_settings())


@bp.get("/notice")
def notice():
    """The information notice to employees, from the live settings and model."""
    return _document("compliance/notice.html")


@bp.get("/annexe-cse")
def annex():
    """The annex for the works council (CSE) and the impact assessment (AIPD)."""
    return _document("compliance/annex.html")


# HR's decision on an evaluation lives beside the evaluation's own page, for the HR roles.
oversight_bp = Blueprint("oversight", __name__)


@oversight_bp.before_request
def _hr_staff_only():
    return refuse_unless_role("hr", "admin")


@oversight_bp.post("/evaluations/<public_id>/decision")
def decision(public_id: str):
    """Record what HR decided after this evaluation, then show the evaluation again."""
    from futurisys.web.routes import evaluation_or_404

    shown = evaluation_or_404(public_id)
    form = DecisionForm()
    if not form.validate():
        messages = " ".join(message for errors in form.errors.values() for message in errors)
        flash(f"Décision non enregistrée : {messages}", "error:decision")
        return redirect(url_for("web.evaluation", public_id=public_id, _anchor="decision"), 303)
    db.session.add(
        Decision(
            input_id=shown.id,
            action=form.action.data,
            follows_model=form.avis.data == "suit",
            comment=form.commentaire.data or None,
            user_id=current_user.id,
            username=current_user.username,
        )
    )
    db.session.commit()
    journal.record("decision", [journal.Subject(shown.employee_ref, shown.id)], {"suite": form.action.data})
    flash("Décision enregistrée.", "success:decision")
    return redirect(url_for("web.evaluation", public_id=public_id, _anchor="decision"), 303)
