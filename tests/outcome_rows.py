"""Helpers of the outcome tests (no tests): predictions and departures written straight at chosen dates."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.models import Input, Prediction
from futurisys.outcomes.kinds import DEFAULT_VOLUNTARY
from futurisys.outcomes.models import Departure
from tests.payloads import FEATURES

VOLUNTARY = frozenset(DEFAULT_VOLUNTARY)


def add_predictions(rows: list[dict]) -> list[int]:
    """Insert predictions given as {created_at, employee_ref, proba, version, source}; return their ids."""
    inputs, predictions = Input.__table__, Prediction.__table__
    ids = []
    with db.engine.begin() as connection:
        for row in rows:
            input_id = connection.execute(
                inputs.insert().returning(inputs.c.id),
                {
                    **FEATURES,
                    "source": row.get("source", "form"),
                    "request_id": "test",
                    "created_at": row["created_at"],
                    "employee_ref": row.get("employee_ref"),
                },
            ).scalar_one()
            proba = row.get("proba", 0.5)
            ids.append(
                connection.execute(
                    predictions.insert().returning(predictions.c.id),
                    {
                        "input_id": input_id,
                        "prediction_label": "Part" if proba >= row.get("threshold", 0.5) else "Reste",
                        "prediction_proba": proba,
                        "threshold": row.get("threshold", 0.5),
                        "model_version": row.get("version", "v1"),
                        "created_at": row["created_at"],
                        "latency_ms": 1.0,
                    },
                ).scalar_one()
            )
    return ids


def add_departures(rows: list[tuple[str, date, str]]) -> None:
    """Insert departures given as (reference, date, kind)."""
    if not rows:
        return
    with db.engine.begin() as connection:
        connection.execute(
            Departure.__table__.insert(),
            [
                {
                    "employee_ref": ref,
                    "departure_date": day,
                    "kind": kind,
                    "source": "api",
                    "created_at": datetime.now(),
                }
                for ref, day, kind in rows
            ],
        )


def clear() -> None:
    """Remove what the helpers wrote."""
    with db.engine.begin() as connection:
        for table in ("departures", "predictions", "inputs"):
            connection.execute(sa.text(f"DELETE FROM {table}"))
