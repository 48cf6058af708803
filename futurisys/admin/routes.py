"""History, detail and deletion of stored predictions."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from futurisys.admin import bp
from futurisys.admin.forms import SORTS, SOURCE_LABELS, DeleteForm, filter_args, filter_form
from futurisys.admin.queries import history_page, history_totals
from futurisys.domain.explain import display_raw_value, display_value, drivers
from futurisys.domain.risk import band_for
from futurisys.domain.schema import FEATURE_NAMES, FEATURES, RAW_FIELDS
from futurisys.extensions import db, model_store
from futurisys.storage import hooks, stats
from futurisys.storage.models import Input, Prediction

log = logging.getLogger(__name__)
PER_PAGE = 50
MAX_ID = 2**63 - 1


@bp.get("/", endpoint="history")
@bp.get("/predictions", endpoint="history")
def history():
    """The predictions, newest first by default, filtered, sorted and paginated by key (same cost on any page)."""
    form = filter_form()
    if not form.validate():
        return render_template(
            "admin/history.html", form=form, pagination=None, counts={}, args={}, sources=SOURCE_LABELS
        ), 422
    filters, sort = form.filters(), form.sort.data
    totals = history_totals(filters)
    page = history_page(filters, sort, PER_PAGE, after=request.args.get("apres"), before=request.args.get("avant"))
    return render_template(
        "admin/history.html",
        form=form,
        pagination=page,
        totals=totals,
        counts=totals.per_label,
        args=filter_args(form),
        sort_label=SORTS[sort],
        sources=SOURCE_LABELS,
    )


def _detail_context(prediction_id: int) -> dict:
    if prediction_id > MAX_ID:  # SQLite cannot even bind such an integer
        abort(404, "Prédiction introuvable (supprimée ou jamais enregistrée).")
    prediction = db.session.scalar(
        sa.select(Prediction).options(joinedload(Prediction.input)).where(Prediction.id == prediction_id)
    )
    if prediction is None:
        abort(404, "Prédiction introuvable (supprimée ou jamais enregistrée).")
    record = prediction.input
    features = {name: getattr(record, name) for name in FEATURE_NAMES}
    raw = record.raw_record
    state = model_store.state()
    same_model = state.predictor is not None and state.predictor.version == prediction.model_version
    return {
        "prediction": prediction,
        "record": record,
        "band": band_for(prediction.prediction_proba, prediction.threshold),
        "source_label": SOURCE_LABELS.get(record.source, record.source),
        "feature_rows": [(f.label, f.name, display_value(f.name, features[f.name])) for f in FEATURES],
        "raw_rows": [(f.label, display_raw_value(f.name, raw.get(f.name))) for f in RAW_FIELDS] if raw else None,
        "drivers": drivers(state.predictor, features) if same_model else None,
        "loaded_version": state.predictor.version if state.predictor else None,
    }


@bp.get("/predictions/<int:prediction_id>")
def detail(prediction_id: int):
    """One prediction with its inputs, its traceability fields and its drivers (when its model is loaded)."""
    return render_template("admin/detail.html", form=DeleteForm(), **_detail_context(prediction_id))


@bp.post("/predictions/<int:prediction_id>/suppression")
def delete(prediction_id: int):
    """Delete one input and, by ON DELETE CASCADE, its prediction, once the confirmation box is ticked."""
    form = DeleteForm()
    context = _detail_context(prediction_id)
    if not form.validate_on_submit():
        return render_template("admin/detail.html", form=form, **context), 422
    stats.discount(db.session.connection(), stats.INPUT.c.id == context["record"].id)  # counted stats follow
    hooks.predictions_changed(db.session.connection(), context["record"].created_at)
    db.session.execute(sa.delete(Input).where(Input.id == context["record"].id))
    db.session.commit()
    log.info("prediction %d and its input deleted by user %d", prediction_id, current_user.id)
    flash(f"La prédiction n° {prediction_id} et ses données ont été supprimées.", "success")
    return redirect(url_for("admin.history"))
