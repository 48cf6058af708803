"""Routes of the HR pages: the evaluation form, each evaluation's own page, and its what-if simulations."""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from flask import abort, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import MultiDict

from futurisys.auth.access import pending_form
from futurisys.domain.explain import display_raw_value, drivers
from futurisys.domain.risk import band_for, scale_for, shown_percent
from futurisys.domain.schema import FEATURE_NAMES, RAW_NAMES, raw_field
from futurisys.extensions import db, model_store
from futurisys.ml.features import derive_features
from futurisys.registry.loading import ModelUnavailable
from futurisys.storage.models import Input
from futurisys.storage.predictions import Author, OutcomeUnknown, predict_and_store
from futurisys.web import bp
from futurisys.web.forms import EvaluationForm, WhatIfForm

log = logging.getLogger(__name__)
RESTORED = (
    "Votre session avait pris fin avant l'envoi : vos saisies sont conservées ci-dessous. Vérifiez-les, puis "
    "validez de nouveau."
)
INVALID = 422  # an invalid form is re-rendered with this status, its values kept
UNAVAILABLE = {
    ModelUnavailable: "Le modèle est indisponible pour le moment.",
    OperationalError: "La base de données est indisponible pour le moment.",
    OutcomeUnknown: "La base de données n'a pas confirmé l'enregistrement : l'évaluation a peut-être été "
    "enregistrée, vérifiez la liste de vos évaluations avant de recommencer.",
}


@bp.route("/", methods=["GET", "POST"])
def index():
    """The evaluation form; a valid submission is scored, stored (source "form") and shown on its own page."""
    started = time.perf_counter()
    form = EvaluationForm()
    if not form.is_submitted():
        restored = pending_form(request.path)
        if restored is not None:  # posted when the session had ended: shown back filled in, to check and submit
            form = EvaluationForm(formdata=MultiDict(restored))
            return render_template("web/form.html", form=form, notice=RESTORED)
        return render_template("web/form.html", form=form)
    if not form.validate():
        return render_template("web/form.html", form=form), INVALID
    try:
        predictor = model_store.predictor
        stored = predict_and_store(
            predictor,
            derive_features(form.record),
            form.record,
            source="form",
            request_id=g.request_id,
            started=started,
            author=Author(current_user.id, form.employee_ref),
        )
    except (ModelUnavailable, OperationalError, OutcomeUnknown) as exc:
        # Keep what was typed: the user can submit again once the service is back.
        log.warning("form prediction not made: %s", type(exc).__name__)
        notice = UNAVAILABLE[next(kind for kind in UNAVAILABLE if isinstance(exc, kind))]
        return render_template(
            "web/form.html",
            form=form,
            notice=notice + " Vos saisies sont conservées : réessayez dans quelques instants.",
        ), 503
    # Post/Redirect/Get: the result has an address, and reloading it stores nothing.
    return redirect(url_for("web.evaluation", public_id=stored.public_id), 303)


def evaluation_or_404(public_id: str) -> Input:
    """The evaluation behind `public_id`, if the signed-in account wrote it or is an admin; 404 otherwise."""
    query = sa.select(Input).where(Input.public_id == public_id)
    if current_user.role != "admin":
        query = query.where(Input.user_id == current_user.id)
    evaluation = db.session.scalar(query)
    if evaluation is None or evaluation.prediction is None:
        abort(404, "Évaluation introuvable.")
    return evaluation


def origin_of(evaluation: Input) -> Input:
    """The evaluation a what-if varies (itself when it is not a what-if): what-ifs always compare with it."""
    parent = evaluation.parent_input_id and db.session.get(Input, evaluation.parent_input_id)
    if evaluation.source == "whatif" and parent is not None and parent.user_id == evaluation.user_id:
        return parent
    return evaluation


@bp.get("/evaluations/<public_id>")
def evaluation(public_id: str):
    """One evaluation's page: its risk, what drives it, and the what-if form (a what-if shows its origin too)."""
    shown = evaluation_or_404(public_id)
    restored = pending_form(url_for("web.simulation", public_id=public_id))
    if restored is not None:
        return render_evaluation(shown, WhatIfForm(formdata=MultiDict(restored)), notice=RESTORED)
    whatif = WhatIfForm(formdata=None, data=shown.raw_record or {})
    return render_evaluation(shown, whatif)


@bp.get("/evaluations/<public_id>/simulation")
def simulation_page(public_id: str):
    """A what-if's address opened again (reload, history): its evaluation's page, where the what-if form is."""
    evaluation_or_404(public_id)
    return redirect(url_for("web.evaluation", public_id=public_id), 303)


@bp.post("/evaluations/<public_id>/simulation")
def simulation(public_id: str):
    """A what-if of this evaluation: stored (source "whatif") against its origin, then shown on its own page."""
    started = time.perf_counter()
    shown = evaluation_or_404(public_id)
    form = WhatIfForm()
    if not form.validate():
        return render_evaluation(shown, form), INVALID
    origin = origin_of(shown)
    stored = predict_and_store(
        model_store.predictor,
        derive_features(form.record),
        form.record,
        source="whatif",
        request_id=g.request_id,
        started=started,
        parent_input_id=origin.id,
        author=Author(current_user.id, origin.employee_ref),
    )
    return redirect(url_for("web.evaluation", public_id=stored.public_id), 303)


def render_evaluation(shown: Input, whatif: WhatIfForm, notice: str | None = None):
    """The result page of a stored evaluation (with its origin when it is a what-if)."""
    features = {name: getattr(shown, name) for name in FEATURE_NAMES}
    origin = origin_of(shown)
    before = None
    if origin is not shown:
        before = {
            "proba": origin.prediction.prediction_proba,
            "band": band_for(origin.prediction.prediction_proba, origin.prediction.threshold),
            "position": scale_for(origin.prediction.threshold).position(origin.prediction.prediction_proba),
            "threshold": origin.prediction.threshold,
            "public_id": origin.public_id,
            "changes": changes(origin.raw_record, shown.raw_record or {}),
            "delta": shown_percent(shown.prediction.prediction_proba)
            - shown_percent(origin.prediction.prediction_proba),
        }
    return render_template(
        "web/result.html",
        evaluation=shown,
        origin=origin,
        before=before,
        whatif=whatif,
        notice=notice,
        **result_context(features, shown.prediction.prediction_proba, shown.prediction.threshold),
    )


def result_context(features: dict, proba: float, threshold: float) -> dict:
    """What the result page shows for one scored record: risk band and position to the threshold, drivers."""
    found = drivers(model_store.predictor, features)  # 503 when no model is loaded
    largest = max((abs(d["contribution"]) for d in found), default=0) or 1
    for driver in found:
        driver["width"] = max(2, round(100 * abs(driver["contribution"]) / largest))
    scale = scale_for(threshold)
    return {
        "proba": proba,
        "position": scale.position(proba),
        "threshold": threshold,
        "band": scale.band(proba),
        "bands": scale.bands,
        "drivers": found,
    }


def changes(before: dict | None, after: dict) -> list[tuple[str, str, str]]:
    """The facts a what-if changed, as (label, old value, new value) in French."""
    if before is None:
        return []
    return [
        (raw_field(name).label, display_raw_value(name, before.get(name)), display_raw_value(name, after.get(name)))
        for name in RAW_NAMES
        if before.get(name) != after.get(name)
    ]
