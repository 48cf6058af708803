"""Routes of the JSON API."""
from __future__ import annotations

import time

from flask import abort, current_app, g, jsonify, request
from sqlalchemy import text
from werkzeug.exceptions import BadRequest

from futurisys.api import bp
from futurisys.db_timeouts import deadline
from futurisys.errors import error_response
from futurisys.explain import drivers
from futurisys.extensions import db, model_store
from futurisys.predictions import predict_and_store
from futurisys.validation import TRUE_WORDS, validate_payload


def read_json():
    """The request's JSON body: 415 when it is not JSON, 400 when it does not parse."""
    if not request.is_json:
        abort(415, "Content-Type attendu : application/json.")
    try:
        return request.get_json()
    except BadRequest:
        abort(400, "Corps JSON mal formé.")


@bp.post("/predict")
def predict():
    """Score one employee, given as the original 30 features or as a raw HR record."""
    started = time.perf_counter()
    payload = read_json()
    if not isinstance(payload, dict):
        return error_response(422, "Un objet JSON est attendu.", {"_body": ["Un objet JSON est attendu."]})
    model_store.predictor  # 503 before validating when no model is loaded
    features, raw, errors = validate_payload(payload)
    if errors:
        return error_response(422, "Données invalides.", errors)
    stored = predict_and_store(features, raw, source="api", request_id=g.request_id, started=started,
                               api_key_name=g.get("api_key_name"))
    body = {"Prediction": stored.score.label, "Probabilite_depart": stored.score.proba}
    if request.args.get("details", "").strip().lower() in TRUE_WORDS:
        body.update(prediction_id=stored.prediction_id, input_id=stored.input_id,
                    model_version=stored.model_version, threshold=stored.threshold,
                    shape="raw" if raw is not None else "features",
                    drivers=drivers(model_store.predictor, features))
    return jsonify(body)


@bp.get("/health")
def health():
    """The process is alive (touches neither the database nor the model)."""
    return {"status": "ok"}


@bp.get("/ready")
def ready():
    """Ready when the database answers and a model is loaded; 503 with the reasons otherwise."""
    reasons = []
    try:
        with deadline(current_app.config["READY_DB_TIMEOUT"]):  # a probe must answer before its caller gives up
            db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means not ready
        db.session.rollback()
        reasons.append(f"database unreachable: {type(exc).__name__}")
    state = model_store.state()
    if state.predictor is None:
        reasons.append(f"model not loaded: {state.error}")
    if reasons:
        return jsonify({"status": "not ready", "reasons": reasons}), 503
    return {"status": "ready", "model_version": state.predictor.version}


@bp.get("/model")
def model_info():
    """Version, threshold, metrics and features of the loaded bundle."""
    state = model_store.state()
    if state.predictor is None:
        return error_response(503, f"Modèle indisponible : {state.error}")
    meta = state.predictor.metadata
    keys = ("version", "created_at", "training_data_md5", "threshold", "threshold_rule", "class_labels", "model",
            "metrics", "features", "library_versions")
    return jsonify({**{key: meta.get(key) for key in keys}, "source": state.source})
