"""Lots: an HR export scored in the background, a chunk of lines per transaction, resumable after a crash.

A lot runs in two phases. « Vérification » reads every line through the API's validation; a file with any error
stores nothing (the errors go to a file of their own). « Évaluation » then scores the lines a chunk at a time:
each chunk's rows, its part of the result file and the lot's progress commit together, and only while this run
still holds the job's lease. A run that dies leaves whole chunks behind; the next run resumes after the last one.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections import Counter
from datetime import timedelta
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app

from futurisys.domain.csv_io import (
    ENCODINGS,
    ERRORS_HEADER,
    MAX_LINES_SHOWN,
    CsvProblem,
    error_entry,
    error_rows,
    open_rows,
    scored_header,
    scored_lines,
    validate_line,
)
from futurisys.domain.explain import main_factors
from futurisys.domain.risk import scale_for
from futurisys.extensions import db, model_store
from futurisys.jobs import files
from futurisys.jobs.models import CANCELLED, DONE, FAILED, RUNNING, WAITING, Job
from futurisys.jobs.runs import JobRun, LeaseLost, insert_job, send
from futurisys.storage import stats
from futurisys.storage.models import Input, Prediction, utcnow
from futurisys.storage.predictions import Author, ScoringRefused, check_guards, store_lot_lines
from futurisys.storage.sqlite_writes import write_turn

log = logging.getLogger(__name__)
JOBS = Job.__table__
CHECK_EVERY = 5000  # lines checked between two progress writes (each one is also the run's heartbeat)
ENCODING_ORDER = ("utf-8-sig", "cp1252", "latin-1")
#: Called with the job's row once a lot's lines are all stored (compliance journals them).
FINISHED_HOOKS: list = []


def create_lot(stream: BinaryIO, file_name: str, *, user_id: int | None, api_key_name: str | None, request_id: str):
    """Store the upload and its job in one transaction, then send the job to a worker; return the job's id."""
    with write_turn(current_app), db.engine.begin() as connection:
        job_id = insert_job(
            connection,
            "lot",
            user_id=user_id,
            request_id=request_id,
            api_key_name=api_key_name,
            file_name=file_name[:255],
        )
        size = files.write_stream(connection, job_id, "upload", stream)
        connection.execute(JOBS.update().where(JOBS.c.id == job_id).values(file_bytes=size))
    send(job_id)
    return job_id


def request_cancel(job_id: str) -> None:
    """Ask a lot to stop; one not started yet stops at once, a running one at its next chunk."""
    with write_turn(current_app), db.engine.begin() as connection:
        connection.execute(JOBS.update().where(JOBS.c.id == job_id).values(cancel_requested=True))
        waiting = connection.execute(
            JOBS.update()
            .where(JOBS.c.id == job_id, JOBS.c.status == WAITING, JOBS.c.lease.is_(None))
            .values(status=CANCELLED, finished_at=utcnow())
        ).rowcount
        if waiting:
            files.delete_files(connection, job_id)


def delete_old_files(days: float) -> int:
    """Delete the stored upload and result of lots older than `days` (the evaluations stay); return their count."""
    cutoff = utcnow() - timedelta(days=days)
    with write_turn(current_app), db.engine.begin() as connection:
        old = (
            connection.execute(
                sa.select(JOBS.c.id).where(
                    JOBS.c.created_at < cutoff,
                    JOBS.c.status.in_((DONE, FAILED, CANCELLED)),
                    JOBS.c.files_deleted_at.is_(None),
                )
            )
            .scalars()
            .all()
        )
        for job_id in old:
            files.delete_files(connection, job_id)
        if old:
            connection.execute(JOBS.update().where(JOBS.c.id.in_(old)).values(files_deleted_at=utcnow()))
    return len(old)


def forget_employee(connection, employee_ref: str) -> int:
    """For an erasure: delete the stored files of every lot naming this employee, and drop them from the lots'
    summaries, in the caller's transaction (before the employee's inputs go); the number of lots touched."""
    inputs = Input.__table__
    chunks = files.CHUNKS
    # References are ASCII (letters, digits, - _ .): the same bytes in every encoding a file may have.
    pattern = employee_ref.encode("ascii", "replace")
    if connection.dialect.name == "postgresql":
        found = sa.func.position(sa.literal(pattern, sa.LargeBinary).op("IN")(chunks.c.data)) > 0
    else:
        found = sa.func.instr(chunks.c.data, sa.literal(pattern, sa.LargeBinary)) > 0
    job_ids = set(
        connection.execute(
            sa.select(inputs.c.lot_id).where(inputs.c.employee_ref == employee_ref, inputs.c.lot_id.is_not(None))
        ).scalars()
    ) | set(connection.execute(sa.select(chunks.c.job_id).where(found).distinct()).scalars())
    for job_id in job_ids:
        files.delete_files(connection, job_id)
        detail = connection.execute(sa.select(JOBS.c.detail).where(JOBS.c.id == job_id)).scalar() or {}
        for key in ("at_risk", "error_lines"):
            if key in detail:
                detail[key] = [entry for entry in detail[key] if entry.get("reference") != employee_ref]
        connection.execute(JOBS.update().where(JOBS.c.id == job_id).values(detail=detail, files_deleted_at=utcnow()))
    return len(job_ids)


def remove_lot_rows(connection, job_id: str) -> None:
    """Delete what a lot stored (it is all or nothing), taking it out of the dashboard's counted stats first."""
    inputs = Input.__table__
    stats.discount(connection, inputs.c.lot_id == job_id)
    connection.execute(inputs.delete().where(inputs.c.lot_id == job_id))


# --- the worker's side --------------------------------------------------------------------------------------


class LotRun(JobRun):
    """One attempt at running a lot, holding its lease."""

    def run(self) -> str | None:
        """Run the lot to its end (or until another run takes it over); the final status, None when not ours."""
        job = self.claim()
        if job is None:
            return None
        try:
            if job["cancel_requested"]:
                raise LeaseLost()
            if job["attempts"] > self.config["JOB_MAX_ATTEMPTS"]:
                # Failed (or cut off) every time: stop sending it round. What it stored goes (all or nothing).
                log.error("job %s given up after %d attempts", self.job_id, job["attempts"] - 1)
                return self.give_up(job)
            detail = job["detail"] or {}
            if job["total"] is None:
                detail = self.check(detail)
                if detail is None:
                    return FAILED
            self.score(job, detail)
            return self.finish(job, detail)
        except LeaseLost:
            return self.stop_if_cancelled()

    # « Vérification »: every line validated, nothing stored.

    def check(self, detail: dict) -> dict | None:
        """Validate every line; the reading's detail, or None when the lot failed (errors stored, nothing else)."""
        for encoding in ENCODING_ORDER:
            try:
                return self._check(encoding, detail)
            except UnicodeDecodeError:
                continue
        raise AssertionError("latin-1 decodes every byte")  # pragma: no cover

    def _check(self, encoding: str, detail: dict) -> dict | None:
        max_lines = self.config["LOT_MAX_LINES"]
        errors_out = io.StringIO()
        errors_writer = csv.writer(errors_out, delimiter=";", lineterminator="\r\n")
        errors_writer.writerow(ERRORS_HEADER)
        shown, error_count, lines_in_error, valid, references = [], 0, 0, 0, []
        error_seq = 0
        with self.engine.begin() as connection:
            connection.execute(
                files.CHUNKS.delete().where(files.CHUNKS.c.job_id == self.job_id, files.CHUNKS.c.role == "errors")
            )
        try:
            table, rows = open_rows(files.open_file(self.engine, self.job_id, "upload"), encoding, max_lines)
            checked = 0
            for line, cells in rows:
                checked += 1
                features, _, ref, line_errors = validate_line(table, cells)
                if line_errors:
                    lines_in_error += 1
                    entry = error_entry(table, line, cells, line_errors)
                    error_count += len(entry["problems"])
                    if len(shown) < MAX_LINES_SHOWN:
                        shown.append(entry)
                    errors_writer.writerows(error_rows(entry))
                    if errors_out.tell() > files.CHUNK_BYTES:
                        error_seq = self._flush_errors(errors_out, error_seq)
                else:
                    valid += 1
                    if ref:
                        references.append(ref)
                if checked % CHECK_EVERY == 0:
                    with write_turn(current_app), self.engine.begin() as connection:
                        self.beat(connection, phase="verification", checked=checked, errors=lines_in_error)
                    self._guard(references)
                    references = []
            self._guard(references)
        except CsvProblem as problem:
            return self._fail({**detail, "message": str(problem)})
        except ScoringRefused as refused:
            return self._fail({**detail, "message": refused.message})
        reading = {
            "encoding": encoding,
            "encodage": ENCODINGS[encoding],
            "separateur": table.delimiter,
            "format": "export RH" if table.raw else "30 variables du modèle",
            "lignes": checked,
            "valides": valid,
            "en_erreur": lines_in_error,
            "chunk_lines": self.config["LOT_CHUNK_LINES"],
        }
        if lines_in_error:
            self._flush_errors(errors_out, error_seq)
            return self._fail({**detail, **reading, "error_lines": shown, "problemes": error_count}, checked)
        with write_turn(current_app), self.engine.begin() as connection:
            files.write_chunk(connection, self.job_id, "result", 0, scored_header(table))
            self.beat(connection, phase="evaluation", checked=checked, total=valid, detail={**detail, **reading})
        return {**detail, **reading}

    def _guard(self, references: list[str]) -> None:
        check_guards(references)

    def _flush_errors(self, out: io.StringIO, seq: int) -> int:
        data = out.getvalue().encode("utf-8")
        if seq == 0:
            data = "\ufeff".encode() + data
        out.seek(0)
        out.truncate()
        with write_turn(current_app), self.engine.begin() as connection:
            files.write_chunk(connection, self.job_id, "errors", seq, data)
        return seq + 1

    def _fail(self, detail: dict, checked: int | None = None) -> None:
        values = {"status": FAILED, "phase": None, "finished_at": utcnow(), "detail": detail, "lease": None}
        if checked is not None:
            values.update(checked=checked, errors=detail.get("en_erreur", 0))
        with write_turn(current_app), self.engine.begin() as connection:
            self.beat(connection, **values)
        return None

    # « Évaluation »: a chunk of lines per transaction.

    def score(self, job: dict, detail: dict) -> None:
        """Score the lines after the last committed chunk, a chunk per transaction."""
        predictor = model_store.predictor
        scale = scale_for(predictor.threshold)
        size = detail["chunk_lines"]
        done = resume_after = job["done"]  # lines stored by earlier runs, in whole chunks
        counts = Counter(detail.get("bandes", {}))
        table, rows = open_rows(
            files.open_file(self.engine, self.job_id, "upload"), detail["encoding"], self.config["LOT_MAX_LINES"]
        )
        author_id = job["user_id"]
        chunk, skipped = [], 0
        for line, cells in rows:
            if skipped < resume_after:
                skipped += 1
                continue
            features, raw, ref, _ = validate_line(table, cells)
            chunk.append((line, cells, features, raw, ref))
            if len(chunk) == size:
                done = self._store_chunk(table, chunk, predictor, scale, author_id, job, done, counts, detail)
                chunk = []
        if chunk:
            self._store_chunk(table, chunk, predictor, scale, author_id, job, done, counts, detail)

    def _store_chunk(self, table, chunk, predictor, scale, author_id, job, done, counts, detail) -> int:
        started = time.perf_counter()
        items = [(features, raw) for _, _, features, raw, _ in chunk]
        scores = predictor.predict_many([features for features, _ in items])
        bands = [scale.band(score.proba) for score in scores]
        at_risk = [i for i, band in enumerate(bands) if band.key != "faible"]
        factors = dict(zip(at_risk, main_factors(predictor, [items[i][0] for i in at_risk]), strict=True))
        results = [
            (score.proba, band.label, factors.get(i, ""))
            for i, (score, band) in enumerate(zip(scores, bands, strict=True))
        ]
        counts.update(band.key for band in bands)
        latency_ms = (time.perf_counter() - started) * 1000 / len(chunk)
        seq = 1 + done // detail["chunk_lines"]
        with write_turn(current_app), self.engine.begin() as connection:
            # The lease first: a run that lost the job writes nothing.
            self.beat(connection, done=done + len(chunk), detail={**detail, "bandes": dict(counts)})
            store_lot_lines(
                connection,
                predictor,
                items,
                scores,
                [Author(author_id, ref or None) if author_id else None for *_, ref in chunk],
                lot_id=self.job_id,
                lines=[line for line, *_ in chunk],
                request_id=job["request_id"],
                latency_ms=latency_ms,
            )
            files.write_chunk(
                connection, self.job_id, "result", seq, scored_lines(table, [c for _, c, *_ in chunk], results)
            )
        detail["bandes"] = dict(counts)
        return done + len(chunk)

    def finish(self, job: dict, detail: dict) -> str:
        """The summary the page shows: the employees at risk first (band, then risk), with their main factor."""
        predictor = model_store.predictor
        scale = scale_for(predictor.threshold)
        query = (
            sa.select(Input, Prediction.prediction_proba)
            .join(Prediction, Prediction.input_id == Input.id)
            .where(Input.lot_id == self.job_id, Prediction.prediction_proba >= scale.threshold / 100 - 0.005)
            .order_by(Prediction.prediction_proba.desc(), Input.lot_line)
            .limit(MAX_LINES_SHOWN + 50)
        )
        found = [(row, proba) for row, proba in db.session.execute(query).all() if scale.band(proba).key != "faible"]
        found = found[:MAX_LINES_SHOWN]
        records = [{name: getattr(row, name) for name in predictor.encoder.feature_names} for row, _ in found]
        factors = main_factors(predictor, records)
        db.session.remove()
        at_risk = [
            {
                "line": row.lot_line,
                "reference": row.employee_ref or "",
                "probability": proba,
                "factor": factor,
                "public_id": row.public_id,
            }
            for (row, proba), factor in zip(found, factors, strict=True)
        ]
        detail = {**detail, "at_risk": at_risk, "seuil": predictor.threshold, "eleve_des": scale.high_from}
        for hook in FINISHED_HOOKS:
            hook(job)
        with write_turn(current_app), self.engine.begin() as connection:
            self.beat(connection, status=DONE, phase=None, finished_at=utcnow(), detail=detail, lease=None)
        return DONE

    def give_up(self, job: dict) -> str:
        """Mark the job failed after too many attempts, removing the lines it stored."""
        message = "Le traitement a échoué à plusieurs reprises : aucune ligne n'est enregistrée. Réessayez plus tard."
        with write_turn(current_app), self.engine.begin() as connection:
            remove_lot_rows(connection, self.job_id)
            self.beat(
                connection,
                status=FAILED,
                phase=None,
                finished_at=utcnow(),
                lease=None,
                detail={**(job["detail"] or {}), "message": message},
            )
        return FAILED

    def stop_if_cancelled(self) -> str | None:
        """After a lost lease: when the job was cancelled, remove what it stored (a lot is all or nothing)."""
        with write_turn(current_app), self.engine.begin() as connection:
            row = connection.execute(
                sa.select(JOBS.c.cancel_requested, JOBS.c.lease, JOBS.c.status).where(JOBS.c.id == self.job_id)
            ).first()
            if (
                row is None
                or not row.cancel_requested
                or row.lease not in (self.lease, None)
                or row.status not in (WAITING, RUNNING)
            ):
                return None
            remove_lot_rows(connection, self.job_id)
            files.delete_files(connection, self.job_id)
            connection.execute(
                JOBS.update()
                .where(JOBS.c.id == self.job_id)
                .values(status=CANCELLED, phase=None, lease=None, finished_at=utcnow())
            )
        return CANCELLED


def run_lot(job_id: str) -> str | None:
    """The task's body: run the lot (the worker calls it; tests call it in-process too)."""
    return LotRun(job_id).run()
