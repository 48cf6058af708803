"""Helpers of the outcome tests (no tests): predictions and departures written straight at chosen dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.outcomes.kinds import DEFAULT_VOLUNTARY
from futurisys.outcomes.models import Departure
from futurisys.storage.models import Input, Prediction
from tests.payloads import FEATURES

VOLUNTARY = frozenset(DEFAULT_VOLUNTARY)
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # the outcome tests' "now"


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


def history(months: int = 20, per_month: int = 30, seed: int = 3, version: str = "v1") -> None:
    """`per_month` employees scored on the 5th of each month, each leaving within the year with their probability."""
    rng = np.random.default_rng(seed)
    rows, exits = [], []
    start = datetime(2024, 11, 5, 9, 0, tzinfo=UTC)
    for month in range(months):
        moment = start + timedelta(days=30.5 * month)
        for k in range(per_month):
            ref, proba = f"M{month}-{k}", float(rng.beta(2, 4))
            rows.append(
                {"created_at": moment, "employee_ref": ref, "proba": proba, "threshold": 0.45, "version": version}
            )
            if rng.random() < proba:
                exits.append((ref, (moment + timedelta(days=int(rng.integers(1, 360)))).date(), "demission"))
            elif rng.random() < 0.05:
                exits.append((ref, (moment + timedelta(days=int(rng.integers(1, 360)))).date(), "fin_cdd"))
    rows.append(
        {"created_at": start, "employee_ref": "M0-0", "proba": 0.99, "threshold": 0.45, "version": version}
    )  # same month again
    add_predictions(rows)
    add_departures([e for e in exits if e[1] <= NOW.date()])
