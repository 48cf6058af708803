"""Routes of the HR pages: the evaluation form, its result, and the what-if simulation."""
from __future__ import annotations

import logging
import time

from flask import g, render_template
from sqlalchemy.exc import OperationalError

from futurisys.errors import error_response
from futurisys.explain import display_raw_value, display_value, drivers
from futurisys.extensions import db, model_store
from futurisys.ml.features import derive_features
from futurisys.model_store import ModelUnavailable
from futurisys.models import Input
from futurisys.predictions import predict_and_store
from futurisys.risk import BANDS, risk_band
from futurisys.schema import FEATURE_NAMES, RAW_NAMES, feature, raw_field
from futurisys.web import bp
from futurisys.web.forms import EvaluationForm, WhatIfForm

log = logging.getLogger(__name__)
INVALID = 422  # an invalid form is re-rendered with this status, its values kept


@bp.route("/", methods=["GET", "POST"])
def index():
    """The evaluation form; a valid submission is scored, stored (source "form") and its result shown."""
    started = time.perf_counter()
    form = EvaluationForm()
    if not form.is_submitted():
        return render_template("web/form.html", form=form)
    if not form.validate():
        return render_template("web/form.html", form=form), INVALID
    record = form.record
    features = derive_features(record)
    try:
        stored = predict_and_store(features, record, source="form", request_id=g.request_id, started=started)
    except (ModelUnavailable, OperationalError) as exc:
        # Keep what was typed: the user can submit again once the service is back.
        log.warning("form prediction not made: %s", type(exc).__name__)
        notice = ("Le modèle est indisponible pour le moment." if isinstance(exc, ModelUnavailable)
                  else "La base de données est indisponible pour le moment.")
        return render_template("web/form.html", form=form, notice=notice + " Vos saisies sont conservées : "
                               "réessayez dans quelques instants."), 503
    whatif = WhatIfForm(formdata=None, data=record, parent_input_id=stored.input_id)
    return render_template("web/result.html", **result_context(
        features, stored.score.proba, stored.score.label, stored.threshold), whatif=whatif)


@bp.post("/simulation")
def simulation():
    """A what-if: the record of an evaluation with a few facts changed, stored (source "whatif") and compared."""
    started = time.perf_counter()
    form = WhatIfForm()
    parent = db.session.get(Input, form.parent_input_id.data) if form.parent_input_id.data else None
    if parent is None or parent.prediction is None:
        return error_response(400, "Évaluation d'origine introuvable : recommencez depuis le formulaire.")
    parent_features = {name: getattr(parent, name) for name in FEATURE_NAMES}
    if not form.validate():
        context = result_context(parent_features, parent.prediction.prediction_proba,
                                 parent.prediction.prediction_label, parent.prediction.threshold)
        return render_template("web/result.html", **context, whatif=form), INVALID
    record = form.record
    features = derive_features(record)
    stored = predict_and_store(features, record, source="whatif", request_id=g.request_id, started=started,
                               parent_input_id=parent.id)
    before = {"proba": parent.prediction.prediction_proba, "label": parent.prediction.prediction_label,
              "band": risk_band(parent.prediction.prediction_proba), "changes": changes(parent.raw_record, record)}
    # The next what-if still compares with the original evaluation, starting from this scenario.
    whatif = WhatIfForm(formdata=None, data=record, parent_input_id=parent.id)
    return render_template("web/result.html", **result_context(
        features, stored.score.proba, stored.score.label, stored.threshold), whatif=whatif, before=before)


def result_context(features: dict, proba: float, label: str, threshold: float) -> dict:
    """What the result page shows for one scored record: label, risk band, drivers and features."""
    found = drivers(model_store.predictor, features)
    largest = max((abs(d["contribution"]) for d in found), default=0) or 1
    for driver in found:
        driver["width"] = max(2, round(100 * abs(driver["contribution"]) / largest))
    return {"proba": proba, "label": label, "threshold": threshold, "band": risk_band(proba), "bands": BANDS,
            "drivers": found,
            "features": [(feature(name).label, display_value(name, features[name])) for name in FEATURE_NAMES]}


def changes(before: dict | None, after: dict) -> list[tuple[str, str, str]]:
    """The facts a what-if changed, as (label, old value, new value) in French."""
    if before is None:
        return []
    return [(raw_field(name).label, display_raw_value(name, before.get(name)), display_raw_value(name, after.get(name)))
            for name in RAW_NAMES if before.get(name) != after.get(name)]
