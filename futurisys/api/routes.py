"""Routes of the JSON API."""

from __future__ import annotations

import re
import time
from functools import partial

from flask import abort, current_app, g, jsonify, request
from sqlalchemy import text

from futurisys.api import bp, idempotency
from futurisys.api.body import read_json
from futurisys.domain.explain import drivers
from futurisys.domain.records import validate_payload
from futurisys.domain.schema import FEATURE_NAMES
from futurisys.errors import error_response
from futurisys.extensions import db, model_store
from futurisys.metrics import public_source
from futurisys.ml.predictor import Score
from futurisys.storage.db_timeouts import deadline
from futurisys.storage.predictions import StoredPrediction, predict_and_store

DETAILS_VALUES = frozenset({"true", "false", "1", "0", ""})


@bp.before_app_request
def status_for_json_clients():
    """GET / answers the original API's `{"status": "API OK"}` to clients preferring JSON; browsers get the form."""
    if (
        request.path == "/"
        and request.method in ("GET", "HEAD")
        and request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
    ):
        return jsonify(status="API OK")
    return None


@bp.after_app_request
def vary_home_page_on_accept(response):
    """GET / depends on Accept: caches must keep the JSON and HTML answers apart."""
    if request.path == "/":
        response.vary.add("Accept")
    return response


# An absolute path (not the "//" of hf://owner/name), with any ":line" after it, as library messages carry them.
_PATH = re.compile(r"(?<![\w:/.])/(?:[\w.@+-]+/)*[\w.@+-]+(?::\d+)*")


def without_paths(text: str) -> str:
    """`text` with the server's file paths (and source lines) replaced by « <chemin> »."""
    return _PATH.sub("<chemin>", text)


def _details_flag() -> bool:
    """The `details` query parameter: true/false (or 1/0, any case), absent means false; anything else is a 400."""
    value = request.args.get("details", "false").strip().lower()
    if value not in DETAILS_VALUES:
        abort(400, "Paramètre details invalide : true ou false attendu.")
    return value in ("true", "1")


def _recommendations_count() -> int:
    """The `recommendations` query parameter: how many single changes « Que faire ? » lists (0 to 5, 0 if absent)."""
    from futurisys.recourse.catalogue import MAX_RECOMMENDATIONS

    value = request.args.get("recommendations", "0").strip()
    if not value.isdigit() or int(value) > MAX_RECOMMENDATIONS:
        abort(400, f"Paramètre recommendations invalide : un entier de 0 à {MAX_RECOMMENDATIONS} attendu.")
    return int(value)


@bp.post("/predict", strict_slashes=False)
@idempotency.idempotent
def predict():
    """Score one employee, given as the original 30 features or as a raw HR record."""
    started = time.perf_counter()
    with_details = _details_flag()
    recommendations = _recommendations_count()
    payload = read_json()
    if not isinstance(payload, dict):
        return error_response(422, "Un objet JSON est attendu.", {"_body": ["Un objet JSON est attendu."]})
    predictor = model_store.predictor  # 503 before validating when no model is loaded
    features, raw, errors = validate_payload(payload)
    if errors:
        return error_response(422, "Données invalides.", errors)
    rebuild = partial(_stored_answer, predictor, with_details, recommendations)
    replay = idempotency.prepare(rebuild)
    if replay is not None:
        return replay
    stored, replay = idempotency.write_once(
        lambda key_row: predict_and_store(
            predictor,
            features,
            raw,
            source="api",
            request_id=g.request_id,
            started=started,
            api_key_name=g.get("api_key_name"),
            key_row=key_row,
        ),
        rebuild,
    )
    if replay is not None:
        return replay
    return jsonify(_answer(predictor, stored, features, raw, with_details, recommendations))


def _answer(
    predictor, stored: StoredPrediction, features: dict, raw: dict | None, with_details: bool, recommendations: int = 0
) -> dict:
    """The body of /predict's 200 (with the ids, version, threshold and drivers when details are asked, and
    « Que faire ? » when recommendations are)."""
    body = {"Prediction": stored.score.label, "Probabilite_depart": stored.score.proba}
    if with_details:
        body.update(
            prediction_id=stored.prediction_id,
            input_id=stored.input_id,
            model_version=stored.model_version,
            threshold=stored.threshold,
            shape="raw" if raw is not None else "features",
            drivers=drivers(predictor, features),
        )
    if recommendations:
        from futurisys.recourse.catalogue import as_json, proposals

        body["Recommandations"] = as_json(proposals(predictor, features, raw, recommendations))
    return body


def _stored_answer(predictor, with_details: bool, recommendations: int, row) -> dict:
    """/predict's 200 again, from the rows a first request with the same key stored."""
    stored = StoredPrediction(
        Score(row.prediction_proba, row.prediction_label), row.id, row.input_id, row.model_version, row.threshold
    )
    features = {name: row._mapping[name] for name in FEATURE_NAMES}
    return _answer(predictor, stored, features, row.raw_record, with_details, recommendations)


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
            if db.engine.dialect.name == "postgresql":
                # A standby (or a primary demoted during a failover) answers, but refuses every write.
                if db.session.execute(text("SELECT current_setting('transaction_read_only')")).scalar() == "on":
                    reasons.append("database read-only")
            else:
                db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means not ready
        db.session.rollback()
        reasons.append(f"database unreachable: {type(exc).__name__}")
    state = model_store.state()
    if state.predictor is None:
        reasons.append(f"model not loaded: {without_paths(state.error or '')}")
    if reasons:
        return jsonify({"status": "not ready", "reasons": reasons}), 503
    return {"status": "ready", "model_version": state.predictor.version}


@bp.get("/model")
def model_info():
    """Version, threshold, metrics and features of the loaded bundle."""
    state = model_store.state()
    if state.predictor is None:
        return error_response(503, "Modèle indisponible, réessayez plus tard.")
    meta = state.predictor.metadata
    keys = (
        "version",
        "created_at",
        "training_data_md5",
        "threshold",
        "threshold_rule",
        "class_labels",
        "model",
        "metrics",
        "features",
        "library_versions",
    )
    return jsonify({**{key: meta.get(key) for key in keys}, "source": public_source(state.source)})
