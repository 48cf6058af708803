"""Scoring a validated record and storing its input and prediction rows together, in one transaction."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from flask import current_app

from futurisys.config import SCORING_BIND
from futurisys.extensions import db, model_store
from futurisys.metrics import count_predictions
from futurisys.ml.predictor import Predictor, Score
from futurisys.storage.db_timeouts import refuse_while_cooling_down
from futurisys.storage.models import Input, Prediction, compact_raw, utcnow
from futurisys.storage.pg_copy import copy_rows
from futurisys.storage.sqlite_writes import write_turn

log = logging.getLogger(__name__)

STORE_CHUNK = 1000  # rows built and written at a time by the batch paths


class ScoringRefused(Exception):
    """A guard refused to score these employees: nothing is stored; `status` and the French `message` say why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


#: Checks run on the employee references of every HR evaluation before it is scored (compliance adds the
#: objection check); each raises ScoringRefused to stop it.
GUARDS: list = []


def _guard(authors) -> None:
    check_guards([author.employee_ref for author in authors if author is not None and author.employee_ref])


def check_guards(references: list[str]) -> None:
    """Run the guards on employee references about to be scored (raises ScoringRefused)."""
    if references:
        for check in GUARDS:
            check(references)


@dataclass(frozen=True)
class StoredPrediction:
    """A prediction as answered, with the ids of the rows behind it."""

    score: Score
    prediction_id: int
    input_id: int
    model_version: str
    threshold: float
    public_id: str | None = None


@dataclass(frozen=True)
class Author:
    """Who asked for an evaluation on the HR pages: the account, and the employee's reference when given."""

    user_id: int
    employee_ref: str | None = None


def new_public_id() -> str:
    """The unguessable id of an evaluation's page (128 random bits)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class _Request:
    """What every row written for one request shares."""

    predictor: Predictor
    source: str
    request_id: str
    latency_ms: float
    api_key_name: str | None
    created_at: datetime
    challenger_version: str | None = None


def shadow_scores(predictor: Predictor, records: list[dict]) -> tuple[str | None, list[float | None]]:
    """The registry's challenger's probabilities for `records` (never shown, never returned), when one is set.

    A challenger that fails never fails the request: its probabilities are then left empty.
    """
    challenger = model_store.challenger_of(predictor)
    if challenger is None:
        return None, [None] * len(records)
    try:
        return challenger.version, [score.proba for score in challenger.predict_many(records)]
    except Exception as exc:  # noqa: BLE001 — the active model's answer stands alone
        log.warning("challenger %s failed to score: %s", challenger.version, type(exc).__name__)
        return None, [None] * len(records)


def _rows(
    features: dict,
    raw: dict | None,
    score: Score,
    request: _Request,
    author: Author | None = None,
    parent_input_id: int | None = None,
    challenger_proba: float | None = None,
) -> tuple[dict, dict]:
    """The `inputs` and `predictions` rows of one scored record."""
    input_row = {
        **features,
        "raw_record": compact_raw(raw),  # the 21 fields the feature columns repeat are not stored twice
        "source": request.source,
        "request_id": request.request_id,
        "created_at": request.created_at,
        "parent_input_id": parent_input_id,
        "user_id": author and author.user_id,
        "employee_ref": author and author.employee_ref,
        "public_id": author and new_public_id(),
    }
    prediction_row = {
        "prediction_label": score.label,
        "prediction_proba": score.proba,
        "threshold": request.predictor.threshold,
        "model_version": request.predictor.version,
        "created_at": request.created_at,
        "latency_ms": request.latency_ms,
        "api_key_name": request.api_key_name,
        "challenger_proba": challenger_proba,
        "challenger_version": request.challenger_version if challenger_proba is not None else None,
    }
    return input_row, prediction_row


@cache
def _insert_returning_id(table: sa.Table) -> sa.Insert:
    """`INSERT ... RETURNING id`, built once: SQLAlchemy then finds it in its cache without recomputing its key."""
    return table.insert().returning(table.c.id)


#: Columns only a lot's lines fill (store_lot_lines); a single prediction leaves them null.
LOT_ONLY = ("id", "lot_id", "lot_line")


@cache
def _pair_sql(dialect, key_table: sa.Table | None = None) -> str:
    """One PostgreSQL statement writing both rows (the prediction's insert takes the input's new id from a CTE).

    With `key_table`, the same statement also writes the request's idempotency key, pointing at the prediction: the
    key exists if and only if the prediction does. Compiled once from the tables and run as driver SQL:
    SQLAlchemy's per-call compilation and type processing cost more than the insert itself on this path.
    Parameters are the rows' keys, prefixed `input_`/`prediction_`/`key_`.
    """
    inputs, predictions = Input.__table__, Prediction.__table__
    new_input = (
        inputs.insert()
        .values({c.name: sa.bindparam(f"input_{c.name}") for c in inputs.columns if c.name not in LOT_ONLY})
        .returning(inputs.c.id)
        .cte("new_input")
    )
    values = {
        c.name: sa.bindparam(f"prediction_{c.name}") for c in predictions.columns if c.name not in ("id", "input_id")
    }
    values["input_id"] = sa.select(new_input.c.id).scalar_subquery()
    new_prediction = predictions.insert().values(values).returning(predictions.c.input_id, predictions.c.id)
    if key_table is None:
        return str(new_prediction.add_cte(new_input).compile(dialect=dialect))
    new_prediction = new_prediction.cte("new_prediction")
    key_values = {
        c.name: sa.bindparam(f"key_{c.name}") for c in key_table.columns if c.name not in ("id", "prediction_id")
    }
    key_values["prediction_id"] = sa.select(new_prediction.c.id).scalar_subquery()
    new_key = key_table.insert().values(key_values).returning(key_table.c.id).cte("new_key")
    statement = (
        sa.select(new_prediction.c.input_id, new_prediction.c.id)
        .add_cte(new_input)
        .add_cte(new_prediction)
        .add_cte(new_key)
    )
    return str(statement.compile(dialect=dialect))


class OutcomeUnknown(Exception):
    """The database failed after a write was sent: it may or may not have stored it (see errors.py's 503)."""


def database_unavailable(exc: Exception) -> bool:
    """The error says the database could not be reached or answered in time (a 503), not that the data was wrong."""
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.TimeoutError)) or (
        isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
    )


def _store_pair(input_row: dict, prediction_row: dict, key_row: tuple[sa.Table, dict] | None) -> tuple[int, int]:
    """Write an input and its prediction (and the request's idempotency key), all or none: (input id, prediction id).

    Raises OutcomeUnknown when the database fails once the write was sent: it may have landed.
    """
    scoring = db.engines[SCORING_BIND]
    key_table, key_values = key_row or (None, {})
    if scoring.dialect.name == "postgresql":
        # One statement on an autocommit connection: one round trip and one durable commit, all or nothing. A
        # transaction around two inserts takes four (BEGIN, INSERT, INSERT, COMMIT), each also work for the server.
        params = {f"input_{name}": value for name, value in input_row.items()}
        params["input_raw_record"] = None if input_row["raw_record"] is None else json.dumps(input_row["raw_record"])
        params.update((f"prediction_{name}", value) for name, value in prediction_row.items())
        params.update((f"key_{name}", value) for name, value in key_values.items())
        with scoring.connect() as connection:
            refuse_while_cooling_down(connection)  # nothing is sent to a database that just timed out
            try:
                input_id, prediction_id = connection.exec_driver_sql(
                    _pair_sql(scoring.dialect, key_table), params
                ).one()
            except sa.exc.DBAPIError as exc:
                if database_unavailable(exc):
                    raise OutcomeUnknown() from exc
                raise
        return input_id, prediction_id
    with write_turn(current_app), db.engine.begin() as connection:
        input_id = connection.execute(_insert_returning_id(Input.__table__), input_row).scalar_one()
        prediction_id = connection.execute(
            _insert_returning_id(Prediction.__table__), {**prediction_row, "input_id": input_id}
        ).scalar_one()
        if key_table is not None:
            connection.execute(key_table.insert(), {**key_values, "prediction_id": prediction_id})
    return input_id, prediction_id


def predict_and_store(
    predictor: Predictor,
    features: dict,
    raw: dict | None,
    *,
    source: str,
    request_id: str,
    started: float,
    api_key_name: str | None = None,
    parent_input_id: int | None = None,
    author: Author | None = None,
    key_row: tuple[sa.Table, dict] | None = None,
) -> StoredPrediction:
    """Score one feature record with `predictor` and write its `inputs` and `predictions` rows in one transaction.

    An `author` (HR pages) gives the input an unguessable public id, its account and the employee's reference.
    `key_row` (the idempotency table and the request's key row) is written with them.
    """
    _guard([author])
    score = predictor.predict_one(features)
    challenger_version, (challenger_proba,) = shadow_scores(predictor, [features])
    latency_ms = (time.perf_counter() - started) * 1000
    request = _Request(predictor, source, request_id, latency_ms, api_key_name, utcnow(), challenger_version)
    input_row, prediction_row = _rows(features, raw, score, request, author, parent_input_id, challenger_proba)
    input_id, prediction_id = _store_pair(input_row, prediction_row, key_row)
    count_predictions((score.label,), predictor.version)
    return StoredPrediction(
        score, prediction_id, input_id, predictor.version, predictor.threshold, input_row["public_id"]
    )


def predict_and_store_many(
    predictor: Predictor,
    items: list[tuple[dict, dict | None]],
    *,
    source: str,
    request_id: str,
    started: float,
    api_key_name: str | None = None,
    authors: list[Author] | None = None,
    key_row: tuple[sa.Table, dict] | None = None,
    answer_text: Callable[[list[Score]], str] | None = None,
) -> list[Score]:
    """Score many records in one vectorised pass and store all their rows in one transaction.

    `authors`, aligned with `items`, is given by the HR upload (account and employee reference of each line).
    Rows are built and written a chunk at a time, so 10,000 records never exist as rows all at once. `key_row`
    (the idempotency table and the request's key row) is written first, in the same transaction, with the answer
    `answer_text(scores)` gives. Raises OutcomeUnknown when the commit fails: it may have landed.
    """
    if not items:
        return []
    _guard(authors or [])
    scores = predictor.predict_many([features for features, _ in items])
    challenger_version, shadows = shadow_scores(predictor, [features for features, _ in items])
    latency_ms = (time.perf_counter() - started) * 1000
    request = _Request(predictor, source, request_id, latency_ms, api_key_name, utcnow(), challenger_version)
    authors = authors or [None] * len(items)
    with write_turn(current_app), db.engine.connect() as connection:
        transaction = connection.begin()
        if key_row is not None:
            key_table, key_values = key_row
            connection.execute(key_table.insert(), {**key_values, "response_body": answer_text(scores)})
        for start in range(0, len(items), STORE_CHUNK):
            chunk = slice(start, start + STORE_CHUNK)
            rows = [
                _rows(features, raw, score, request, author, challenger_proba=shadow)
                for (features, raw), score, author, shadow in zip(
                    items[chunk], scores[chunk], authors[chunk], shadows[chunk], strict=False
                )
            ]
            _store_rows(connection, rows)
        try:
            transaction.commit()
        except sa.exc.DBAPIError as exc:
            if connection.dialect.name == "postgresql" and database_unavailable(exc):
                raise OutcomeUnknown() from exc  # COMMIT was sent: it may have landed
            raise
    count_predictions((score.label for score in scores), predictor.version)
    return scores


def store_lot_lines(
    connection,
    predictor: Predictor,
    items: list[tuple[dict, dict | None]],
    scores: list[Score],
    authors: list[Author],
    *,
    lot_id: str,
    lines: list[int],
    request_id: str,
    latency_ms: float,
) -> None:
    """Store scored lines of a lot on `connection`, inside the caller's transaction (with the lot's progress).

    Each input row carries the lot and its line number, unique together: a line cannot be stored twice.
    """
    challenger_version, shadows = shadow_scores(predictor, [features for features, _ in items])
    request = _Request(predictor, "lot", request_id, latency_ms, None, utcnow(), challenger_version)
    rows = []
    for (features, raw), score, author, line, shadow in zip(items, scores, authors, lines, shadows, strict=True):
        input_row, prediction_row = _rows(features, raw, score, request, author, challenger_proba=shadow)
        rows.append(({**input_row, "lot_id": lot_id, "lot_line": line}, prediction_row))
    _store_rows(connection, rows)
    count_predictions((score.label for score in scores), predictor.version)


def _store_rows(connection, rows: list[tuple[dict, dict]]) -> None:
    """Insert (input, prediction) row pairs on `connection`, inside its transaction."""
    inputs, predictions = Input.__table__, Prediction.__table__
    if connection.dialect.name == "postgresql":
        # COPY, with the input ids taken from the sequence first: 10,000 pairs of rows in a fraction of a
        # second, where multi-row INSERTs (even batched by SQLAlchemy's insertmanyvalues) take seconds.
        ids = (
            connection.execute(
                sa.text("SELECT nextval(pg_get_serial_sequence('inputs', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)},
            )
            .scalars()
            .all()
        )
        copy_rows(
            connection,
            inputs,
            [{**input_row, "id": input_id} for (input_row, _), input_id in zip(rows, ids, strict=False)],
        )
        copy_rows(
            connection,
            predictions,
            [
                {**prediction_row, "input_id": input_id}
                for (_, prediction_row), input_id in zip(rows, ids, strict=False)
            ],
        )
    else:
        ids = (
            connection.execute(
                inputs.insert().returning(inputs.c.id, sort_by_parameter_order=True),
                [input_row for input_row, _ in rows],
            )
            .scalars()
            .all()
        )
        connection.execute(
            predictions.insert(),
            [
                {**prediction_row, "input_id": input_id}
                for (_, prediction_row), input_id in zip(rows, ids, strict=False)
            ],
        )
