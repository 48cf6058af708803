"""The lever catalogue page (admins) and the « Que faire ? » proposals of an evaluation page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, HiddenField, IntegerField, SelectChoice, SelectField
from wtforms.validators import InputRequired, NumberRange

from futurisys.admin.forms import FrenchMeta
from futurisys.auth.access import refuse_unless_role
from futurisys.domain.schema import raw_field
from futurisys.extensions import db, model_store
from futurisys.ml.recourse import CAVEAT, DIRECTIONS, LEVERS, LeverError, LeverRule
from futurisys.recourse import catalogue
from futurisys.recourse.models import EngagedAction
from futurisys.web.forms import WhatIfForm

bp = Blueprint("recourse", __name__, url_prefix="/admin/leviers")
#: Largest gap between the stored risk and the served model's for the proposals to start from the page's figure.
STALE_GAP = 0.0005
#: HR's side: marking a proposal « action engagée » on an evaluation.
hr_bp = Blueprint("recourse_hr", __name__)


@bp.before_request
def _admins_only():
    return refuse_unless_role("admin")


class LeverForm(FlaskForm):
    """One lever's rule."""

    class Meta(FrenchMeta):
        pass

    name = HiddenField()
    enabled = BooleanField("Peut être proposé")
    direction = SelectField("Sens", choices=[SelectChoice(k, v) for k, v in DIRECTIONS.items()])
    max_change = FloatField("Écart maximal", [InputRequired("Indiquez l'écart maximal."), NumberRange(min=0)])
    step = FloatField("Pas", [InputRequired("Indiquez le pas."), NumberRange(min=0)])
    cost = IntegerField("Coût (1 à 5)", [InputRequired("Indiquez un coût."), NumberRange(1, 5, "Entre 1 et 5.")])


def _forms(posted: LeverForm | None = None) -> list[tuple[str, LeverForm]]:
    rules = catalogue.rules()
    forms = []
    for name in LEVERS:
        if posted is not None and posted.name.data == name:
            forms.append((raw_field(name).label, posted))
            continue
        rule = rules[name]
        form = LeverForm(formdata=None, prefix=name, data={**rule.__dict__})
        forms.append((raw_field(name).label, form))
    return forms


@bp.get("/", endpoint="catalogue")
def catalogue_page():
    """Every lever HR may be offered, with its rule; protected attributes and context data are never levers."""
    return render_template("recourse/catalogue.html", forms=_forms())


@bp.post("/<name>", endpoint="save_lever")
def save_lever(name: str):
    """Save one lever's rule (a protected attribute or a context field is refused with a clear message)."""
    form = LeverForm(prefix=name)
    form.name.data = name
    if name not in LEVERS:
        message = str(_refusal(name))
        return render_template("recourse/catalogue.html", forms=_forms(), refused=message), 422
    if not form.validate():
        return render_template("recourse/catalogue.html", forms=_forms(form)), 422
    rule = LeverRule(name, form.enabled.data, form.direction.data, form.max_change.data, form.step.data, form.cost.data)
    try:
        catalogue.save(rule, current_user.username)
    except LeverError as exc:
        form.max_change.errors = [str(exc)]
        return render_template("recourse/catalogue.html", forms=_forms(form)), 422
    from futurisys.compliance import journal

    journal.record("parametres", detail={"levier": name, **{k: v for k, v in rule.__dict__.items() if k != "name"}})
    flash(f"Levier « {raw_field(name).label} » enregistré.", "success")
    return redirect(url_for("recourse.catalogue"), 303)


@hr_bp.before_request
def _hr_staff_only():
    return refuse_unless_role("hr", "admin")


class EngageForm(FlaskForm):
    """Which proposal was acted on: its position on the page (« seul-1 », « combinaison »…)."""

    class Meta(FrenchMeta):
        pass

    proposition = HiddenField(validators=[InputRequired()])


def _proposal_at(recourse: dict, key: str):
    if key.startswith("seul-") and key[5:].isdigit() and 1 <= int(key[5:]) <= len(recourse["singles"]):
        return recourse["singles"][int(key[5:]) - 1]["proposal"]
    entry = {"combinaison": recourse["combination"], "meilleur": recourse["best"]}.get(key)
    return entry["proposal"] if entry else None


@hr_bp.post("/evaluations/<public_id>/actions")
def engage(public_id: str):
    """Mark one of the page's proposals « action engagée » (stored with who and when, journaled)."""
    from futurisys.compliance import journal
    from futurisys.web.routes import evaluation_or_404

    shown = evaluation_or_404(public_id)
    form = EngageForm()
    recourse = proposals_for(shown) if form.validate() else None
    proposal = _proposal_at(recourse, form.proposition.data) if recourse else None
    if proposal is None:
        flash(
            "Action non enregistrée : cette proposition n'est plus celle de la page, rechargez-la.", "error:que-faire"
        )
        return redirect(url_for("web.evaluation", public_id=public_id, _anchor="titre-que-faire"), 303)
    db.session.add(
        EngagedAction(
            input_id=shown.id,
            levers=",".join(change.lever for change in proposal.changes),
            description=proposal.phrase[:500],
            proba_before=recourse["found"].proba,
            proba_after=proposal.proba,
            user_id=current_user.id,
            username=current_user.username,
        )
    )
    db.session.commit()
    subject = journal.Subject(shown.employee_ref, shown.id)
    journal.record("action_engagee", [subject], {"leviers": [c.lever for c in proposal.changes]})
    flash("Action engagée enregistrée.", "success:que-faire")
    return redirect(url_for("web.evaluation", public_id=public_id, _anchor="titre-que-faire"), 303)


def engaged_on(input_id: int) -> list[EngagedAction]:
    """The actions engaged on an evaluation, oldest first."""
    query = sa.select(EngagedAction).where(EngagedAction.input_id == input_id).order_by(EngagedAction.id)
    return list(db.session.scalars(query))


def engaged_among(input_ids) -> set[int]:
    """Which of these evaluations have an action engaged (« Mes évaluations »: one query for the page)."""
    ids = list(input_ids)
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(EngagedAction.input_id).where(EngagedAction.input_id.in_(ids))))


def _refusal(name: str) -> LeverError:
    from futurisys.ml.recourse import check_rule

    try:
        check_rule(LeverRule(name))
    except LeverError as exc:
        return exc
    return LeverError("Levier inconnu.")  # pragma: no cover — every non-lever is refused by check_rule


def proposals_for(evaluation) -> dict | None:
    """The evaluation page's « Que faire ? »: proposals, each with the what-if form that tries it in one click."""
    predictor = model_store.state().predictor
    if predictor is None or evaluation.prediction is None:
        return None
    from futurisys.domain.schema import FEATURE_NAMES

    features = {name: getattr(evaluation, name) for name in FEATURE_NAMES}
    raw = evaluation.raw_record
    found = catalogue.proposals(predictor, features, raw)
    stored = evaluation.prediction
    if stored.model_version != predictor.version or abs(found.proba - stored.prediction_proba) > STALE_GAP:
        # Scored by another version of the model: its proposals would start from another risk than the page's.
        return {"stale": True, "version": stored.model_version}

    def entry(proposal):
        if proposal is None:
            return None
        # Without the raw record (an API record of the 30 features) there is no what-if form to fill.
        return {"proposal": proposal, "form": WhatIfForm(formdata=None, data=proposal.record) if raw else None}

    return {
        "found": found,
        "singles": [entry(p) for p in found.singles],
        "combination": entry(found.combination),
        "best": entry(found.best),
        "caveat": CAVEAT,
        "lever_label": lambda name: raw_field(name).label,
        "engaged": engaged_on(evaluation.id),
    }
