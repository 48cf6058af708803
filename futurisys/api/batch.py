"""POST /predict/batch: many records scored in one vectorised pass and stored all together, or not at all."""

from __future__ import annotations

import time
from itertools import islice

from flask import Response, current_app, g

from futurisys.api import bp, idempotency
from futurisys.api.body import read_json
from futurisys.domain.records import validate_many
from futurisys.errors import error_response
from futurisys.extensions import model_store
from futurisys.storage.predictions import predict_and_store_many

#: Invalid records detailed in a 422 (the total is always given): 10,000 empty objects would make a 14 MB answer.
MAX_LISTED_INVALID = 100


@bp.post("/predict/batch", strict_slashes=False)
@idempotency.idempotent
def predict_batch():
    """Score a JSON array of records (each in either shape); answers in the same order, all or nothing."""
    started = time.perf_counter()
    payload = read_json()
    if not isinstance(payload, list):
        message = "Un tableau JSON d'enregistrements est attendu."
        return error_response(422, message, {"_body": [message]})
    if not payload:
        message = "Le tableau est vide : au moins un enregistrement est attendu."
        return error_response(422, message, {"_body": [message]})
    limit = current_app.config["BATCH_MAX_RECORDS"]
    if len(payload) > limit:
        return error_response(413, f"Trop d'enregistrements : {len(payload)} reçus, {limit} au plus par lot.")
    predictor = model_store.predictor  # 503 before validating when no model is loaded
    items, errors = validate_many(payload)
    if errors:
        message = f"{len(errors)} enregistrement(s) invalide(s) sur {len(payload)} : aucun n'a été enregistré."
        if len(errors) > MAX_LISTED_INVALID:
            message += f" Les {MAX_LISTED_INVALID} premiers sont détaillés."
        listed = dict(islice(errors.items(), MAX_LISTED_INVALID))
        return error_response(
            422,
            message,
            {str(index): record_errors for index, record_errors in listed.items()},
            invalid_records=len(errors),
        )
    replay = idempotency.prepare()
    if replay is not None:
        return replay
    scores, replay = idempotency.write_once(
        lambda key_row: predict_and_store_many(
            predictor,
            items,
            source="batch",
            request_id=g.request_id,
            started=started,
            api_key_name=g.get("api_key_name"),
            key_row=key_row,
            answer_text=_answer_text,
        )
    )
    if replay is not None:
        return replay
    return Response(_answer_text(scores), mimetype="application/json")


def _answer_text(scores) -> str:
    """The JSON of the batch's 200 (stored with its idempotency key, and sent)."""
    return current_app.json.dumps([{"Prediction": score.label, "Probabilite_depart": score.proba} for score in scores])
