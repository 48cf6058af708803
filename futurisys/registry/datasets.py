"""Training data: the reference dataset, labelled HR histories uploaded as CSV, and the service's matured outcomes.

A labelled history is the HR export of /lot (same columns, encodings and line-by-line checks) plus the departure
column `a_quitte_l_entreprise` (Oui/Non); it is kept all or nothing: one line in error and nothing is stored.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

import numpy as np
import sqlalchemy as sa
from flask import current_app

from futurisys.domain import csv_io, schema
from futurisys.extensions import db
from futurisys.ml.train import TrainingData
from futurisys.outcomes.models import KnownOutcomeCount
from futurisys.registry.models import TrainingDataset
from futurisys.storage.models import utcnow
from futurisys.storage.sqlite_writes import write_turn

DEPARTURE_COLUMN = schema.TARGET
DEPARTURE_VALUES = {"oui": 1, "non": 0}
DEPARTURE_LABEL = "A quitté l'entreprise"
#: A company's history in one file: more lines than this are refused (split it, or ask for a bigger limit).
MAX_ROWS = 100_000
#: The sources a training may draw on, as the form names them.
REFERENCE, OUTCOMES = "reference", "issues"
KNOWN_COUNTS = KnownOutcomeCount.__table__


@dataclass
class Checked:
    """An uploaded history once checked: its rows, or the lines in error (then nothing is kept)."""

    records: list[dict] = field(default_factory=list)
    target: list[int] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    encoding: str = ""


def _check_header(table: csv_io.CsvTable) -> None:
    csv_io.check_shape(table)
    missing = [f.name for f in schema.RAW_FIELDS if f.required and f.name not in table.header]
    if DEPARTURE_COLUMN not in table.header:
        missing.append(DEPARTURE_COLUMN)
    if missing:
        raise csv_io.CsvProblem(
            f"Colonnes manquantes : {', '.join(missing)}. L'en-tête doit reprendre les colonnes de l'export RH "
            f"(celles d'un lot) et la colonne {DEPARTURE_COLUMN} (Oui ou Non)."
        )


def departure(value: str) -> int | None:
    """1 for « Oui », 0 for « Non » (any case, spaces around), None otherwise."""
    return DEPARTURE_VALUES.get(value.strip().casefold())


def check_upload(stream: BinaryIO) -> Checked:
    """Read and check every line of a labelled history; CsvProblem when the file as a whole cannot be used."""
    table = csv_io.read_table(stream, MAX_ROWS, check_header=_check_header)
    checked, errors = Checked(encoding=csv_io.ENCODINGS[table.encoding]), {}
    column = table.header.index(DEPARTURE_COLUMN)
    for line, cells in table.rows:
        features, _raw, _ref, line_errors = csv_io.validate_line(table, cells)
        left = departure(cells[column]) if cells is not None and column < len(cells) else None
        if cells is not None and left is None:
            line_errors = {**line_errors, DEPARTURE_COLUMN: ["« Oui » ou « Non » attendu."]}
        if line_errors:
            errors[line] = line_errors
        else:
            checked.records.append(features)
            checked.target.append(left)
    if errors:
        checked.errors = csv_io.error_lines(table, errors, labels=None)
        for entry in checked.errors:
            for problem in entry["problems"]:
                if problem["column"] == DEPARTURE_COLUMN:
                    problem["label"] = DEPARTURE_LABEL
        checked.error_count = len(errors)
        checked.records, checked.target = [], []
    return checked


def _content(records: list[dict], target: list[int]) -> bytes:
    """The rows as stored: canonical JSON (sorted keys), gzip'd; its md5 identifies the data in a version."""
    return json.dumps({"records": records, "target": target}, sort_keys=True, separators=(",", ":")).encode()


def save(name: str, checked: Checked, username: str | None) -> TrainingDataset:
    """Keep a checked history under `name` (ValueError when the name is taken)."""
    if db.session.scalar(sa.select(TrainingDataset.id).where(TrainingDataset.name == name)) is not None:
        raise ValueError("Ce nom est déjà pris par un autre jeu de données.")
    plain = _content(checked.records, checked.target)
    row = {
        "name": name,
        "rows": len(checked.target),
        "leavers": int(sum(checked.target)),
        "content": gzip.compress(plain, mtime=0),
        "md5": hashlib.md5(plain, usedforsecurity=False).hexdigest(),
        "uploaded_by": username,
        "uploaded_at": utcnow(),
    }
    with write_turn(current_app), db.engine.begin() as connection:
        connection.execute(TrainingDataset.__table__.insert(), row)
    return db.session.scalar(sa.select(TrainingDataset).where(TrainingDataset.name == name))


def stored(dataset: TrainingDataset) -> TrainingData:
    """A kept history's rows, as training takes them."""
    content = json.loads(gzip.decompress(dataset.content))
    return TrainingData(content["records"], np.asarray(content["target"], dtype=np.int64), dataset.md5)


def _known(now=None):
    """The counted evaluations with a known outcome and an employee reference, as a subquery of the outcomes."""
    from futurisys.outcomes.horizon import DEFAULT_HORIZON, PARTI, RESTE, outcomes
    from futurisys.outcomes.kinds import voluntary_kinds

    known = outcomes(
        db.engine.dialect.name,
        DEFAULT_HORIZON,
        now or utcnow(),
        voluntary_kinds(current_app.config["OUTCOMES_VOLUNTARY_KINDS"]),
    )
    return known, sa.and_(known.c.counted, known.c.status.in_((PARTI, RESTE)), known.c.employee_ref.is_not(None))


def matured_outcomes(now=None) -> TrainingData:
    """The service's evaluations whose outcome is known (left voluntarily, or stayed past the horizon).

    One row per employee (their latest counted evaluation), features as stored; what-ifs and evaluations without
    an employee reference are never outcomes.
    """
    from futurisys.outcomes.horizon import PARTI
    from futurisys.storage.models import Input, Prediction

    inputs, predictions = Input.__table__, Prediction.__table__
    known, kept = _known(now)
    query = (
        sa.select(known.c.employee_ref, known.c.status, *(inputs.c[name] for name in schema.FEATURE_NAMES))
        .select_from(
            known.join(predictions, predictions.c.id == known.c.prediction_id).join(
                inputs, inputs.c.id == predictions.c.input_id
            )
        )
        .where(kept)
        .order_by(known.c.created_at.desc(), known.c.prediction_id.desc())
    )
    records, target, seen = [], [], set()
    for row in db.session.execute(query).mappings():
        if row["employee_ref"] in seen:
            continue
        seen.add(row["employee_ref"])
        records.append({name: row[name] for name in schema.FEATURE_NAMES})
        target.append(int(row["status"] == PARTI))
    plain = _content(records, target)
    return TrainingData(
        records, np.asarray(target, dtype=np.int64), hashlib.md5(plain, usedforsecurity=False).hexdigest()
    )


@dataclass(frozen=True)
class KnownCounts:
    """How many employees matured_outcomes() would give, how many of them left, and when that was counted."""

    employees: int
    leavers: int
    counted_at: datetime


def count_known_outcomes(connection, now=None) -> KnownCounts:
    """Count in SQL what matured_outcomes() gives (one row per employee: their latest known outcome)."""
    from futurisys.outcomes.horizon import PARTI

    known, kept = _known(now)
    latest = sa.func.row_number().over(
        partition_by=known.c.employee_ref, order_by=(known.c.created_at.desc(), known.c.prediction_id.desc())
    )
    ranked = sa.select(known.c.status, latest.label("latest")).where(kept).subquery("ranked")
    employees, leavers = connection.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((ranked.c.status == PARTI, 1), else_=0)), 0))
        .select_from(ranked)
        .where(ranked.c.latest == 1)
    ).one()
    return KnownCounts(int(employees), int(leavers), now or utcnow())


def _kinds() -> str:
    from futurisys.outcomes.kinds import voluntary_kinds
    from futurisys.outcomes.summaries import kinds_key

    return kinds_key(voluntary_kinds(current_app.config["OUTCOMES_VOLUNTARY_KINDS"]))


def stored_known_counts() -> KnownCounts | None:
    """The last count of the known outcomes kept for the configured exit types, if any."""
    row = db.session.execute(sa.select(KNOWN_COUNTS).where(KNOWN_COUNTS.c.kinds == _kinds())).first()
    return KnownCounts(row.employees, row.leavers, row.counted_at) if row else None


def refresh_known_counts(budget_s: float | None = None) -> KnownCounts | None:
    """Count the known outcomes and keep the count; with `budget_s` (a page), give up past that many seconds on
    PostgreSQL (None then: the job engine counts them)."""
    from futurisys.storage.db_timeouts import limit_statements, maintenance

    # The job engine's count is maintenance work: the limit of long commands, not a request's.
    seconds = budget_s if budget_s is not None else float(current_app.config["MAINTENANCE_STATEMENT_TIMEOUT"])
    try:
        # A read: the write turn (SQLite) is taken only to keep the count.
        with maintenance(seconds) if budget_s is None else nullcontext(), db.engine.begin() as connection:
            limit_statements(connection, seconds)
            counts = count_known_outcomes(connection)
    except sa.exc.OperationalError:
        if budget_s is None:
            raise
        return None  # over the page's budget (PostgreSQL cancelled the count): the job engine counts it
    kinds = _kinds()
    try:
        with write_turn(current_app), db.engine.begin() as connection:
            connection.execute(KNOWN_COUNTS.delete().where(KNOWN_COUNTS.c.kinds == kinds))
            connection.execute(
                KNOWN_COUNTS.insert(),
                {"kinds": kinds, "employees": counts.employees, "leavers": counts.leavers}
                | {"counted_at": counts.counted_at},
            )
    except sa.exc.IntegrityError:
        pass  # another request kept its count meanwhile: as good as this one
    return counts


def combined(parts: list[TrainingData]) -> TrainingData:
    """Several sources end to end, with one digest for the whole (a version depends on all its data)."""
    if len(parts) == 1:
        return parts[0]
    records = [record for part in parts for record in part.records]
    target = np.concatenate([part.target for part in parts])
    md5 = hashlib.md5("+".join(part.md5 for part in parts).encode(), usedforsecurity=False).hexdigest()
    return TrainingData(records, target, md5, tuple(part.md5 for part in parts))


def datasets() -> list[TrainingDataset]:
    """The kept histories, newest first (without loading their rows)."""
    return db.session.scalars(
        sa.select(TrainingDataset)
        .options(sa.orm.defer(TrainingDataset.content))
        .order_by(TrainingDataset.uploaded_at.desc(), TrainingDataset.id.desc())
    ).all()
