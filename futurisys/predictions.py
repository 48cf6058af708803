"""Scoring a validated record and storing its input and prediction rows together, in one transaction."""
from __future__ import annotations

import time
from dataclasses import dataclass

from futurisys.extensions import db, model_store
from futurisys.ml.predictor import Score
from futurisys.models import Input, Prediction, utcnow


@dataclass(frozen=True)
class StoredPrediction:
    """A prediction as answered, with the ids of the rows behind it."""

    score: Score
    prediction_id: int
    input_id: int
    model_version: str
    threshold: float


def _rows(features: dict, raw: dict | None, score: Score, *, source: str, request_id: str, latency_ms: float,
          predictor, api_key_name=None, parent_input_id=None, now=None):
    now = now or utcnow()
    input_row = {**features, "raw_record": raw, "source": source, "request_id": request_id, "created_at": now,
                 "parent_input_id": parent_input_id}
    prediction_row = {"prediction_label": score.label, "prediction_proba": score.proba,
                      "threshold": predictor.threshold, "model_version": predictor.version, "created_at": now,
                      "latency_ms": latency_ms, "api_key_name": api_key_name}
    return input_row, prediction_row


def predict_and_store(features: dict, raw: dict | None, *, source: str, request_id: str, started: float,
                      api_key_name: str | None = None, parent_input_id: int | None = None) -> StoredPrediction:
    """Score one feature record and write its `inputs` and `predictions` rows in a single transaction."""
    predictor = model_store.predictor
    score = predictor.predict_one(features)
    latency_ms = (time.perf_counter() - started) * 1000
    input_row, prediction_row = _rows(features, raw, score, source=source, request_id=request_id,
                                      latency_ms=latency_ms, predictor=predictor, api_key_name=api_key_name,
                                      parent_input_id=parent_input_id)
    # SQLAlchemy Core on one connection: two inserts and a commit, or nothing at all.
    with db.engine.begin() as connection:
        input_id = connection.execute(Input.__table__.insert().returning(Input.__table__.c.id),
                                      input_row).scalar_one()
        prediction_id = connection.execute(
            Prediction.__table__.insert().returning(Prediction.__table__.c.id),
            {**prediction_row, "input_id": input_id}).scalar_one()
    return StoredPrediction(score, prediction_id, input_id, predictor.version, predictor.threshold)


def predict_and_store_many(items: list[tuple[dict, dict | None]], *, source: str, request_id: str, started: float,
                           api_key_name: str | None = None) -> list[Score]:
    """Score many records in one vectorised pass and store all their rows in one transaction."""
    predictor = model_store.predictor
    scores = predictor.predict_many([features for features, _ in items])
    latency_ms = (time.perf_counter() - started) * 1000
    now = utcnow()
    rows = [_rows(features, raw, score, source=source, request_id=request_id, latency_ms=latency_ms,
                  predictor=predictor, api_key_name=api_key_name, now=now)
            for (features, raw), score in zip(items, scores)]
    with db.engine.begin() as connection:
        ids = connection.execute(Input.__table__.insert().returning(Input.__table__.c.id, sort_by_parameter_order=True),
                                 [input_row for input_row, _ in rows]).scalars().all()
        connection.execute(Prediction.__table__.insert(),
                           [{**prediction_row, "input_id": input_id} for (_, prediction_row), input_id in zip(rows, ids)])
    return scores
