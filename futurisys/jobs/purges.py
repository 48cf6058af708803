"""Purges on the job engine: the evaluations older than a cut-off deleted in batches, with their progress on screen.

An admin asks for one from the administration (or `predictions purge --in-background`); a worker counts what goes
(« comptage »), then deletes it batch by batch (« suppression », storage.retention), resting between batches so
that /predict keeps its pace, and writes its progress with each batch. A purge is idempotent: a run cut off (a
worker killed) is sent again by the recovery task and deletes what is left. Cancelling stops it after the batch
in progress; what was deleted stays deleted.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from futurisys.extensions import db
from futurisys.jobs.models import CANCELLED, DONE, FAILED
from futurisys.jobs.runs import JOBS, JobRun, LeaseLost, insert_job, send
from futurisys.storage import retention
from futurisys.storage.models import utcnow
from futurisys.storage.sqlite_writes import write_turn

log = logging.getLogger(__name__)
#: Called with the purge's job row and final detail once it is done (compliance journals it).
FINISHED_HOOKS: list = []
#: Which of some employee references are under legal hold (compliance.rights.held_among, set by compliance).
HOLDS: list[retention.HeldAmong] = []


def create_purge(cutoff: datetime, *, user_id: int | None, request_id: str) -> str:
    """Store a purge of the evaluations older than `cutoff` and send it to a worker; return the job's id."""
    with write_turn(current_app), db.engine.begin() as connection:
        detail = {"date_limite": cutoff.isoformat()}
        job_id = insert_job(connection, "purge", user_id=user_id, request_id=request_id, detail=detail)
    send(job_id, "purge")
    return job_id


class PurgeRun(JobRun):
    """One attempt at a purge, holding its lease."""

    def run(self) -> str | None:
        """Count, then delete in batches; the final status, None when another run holds the job."""
        job = self.claim()
        if job is None:
            return None
        detail = dict(job["detail"] or {})
        try:
            if job["cancel_requested"]:
                raise LeaseLost()
            if job["attempts"] > self.config["JOB_MAX_ATTEMPTS"]:
                log.error("purge %s given up after %d attempts", self.job_id, job["attempts"] - 1)
                message = "La purge a échoué à plusieurs reprises ; ce qui a été supprimé le reste. Relancez-la."
                detail["message"] = message
                self.beat_alone(status=FAILED, phase=None, finished_at=utcnow(), lease=None, detail=detail)
                return FAILED
            return self._purge(job, detail)
        except LeaseLost:
            if not self.cancelled_here():
                return None
            with write_turn(current_app), self.engine.begin() as connection:
                connection.execute(
                    JOBS.update()
                    .where(JOBS.c.id == self.job_id)
                    .values(status=CANCELLED, phase=None, lease=None, finished_at=utcnow())
                )
            return CANCELLED

    def _purge(self, job: dict, detail: dict) -> str:
        held_among = HOLDS[0] if HOLDS else None
        cutoff = datetime.fromisoformat(detail["date_limite"])
        seconds = self.config["MAINTENANCE_STATEMENT_TIMEOUT"]
        # What earlier runs deleted stays counted: `done` and the predictions go on from there.
        done_before, predictions_before = job["done"], detail.get("predictions", 0)
        if job["total"] is None:
            self.beat_alone(phase="comptage")
            expected = retention.count_older_than(self.engine, cutoff, seconds, held_among=held_among)
            detail["a_supprimer"] = expected.predictions
            self.beat_alone(phase="suppression", total=expected.inputs, detail=detail)

        def progress(result: retention.PurgeResult) -> None:
            self.beat_alone(
                done=done_before + result.inputs,
                detail={**detail, "predictions": predictions_before + result.predictions},
            )

        result = retention.purge_older_than(
            self.engine,
            cutoff,
            seconds,
            progress=progress,
            held_among=held_among,
            pause_ratio=self.config["PURGE_PAUSE_RATIO"],
        )
        detail["predictions"] = predictions_before + result.predictions
        done = done_before + result.inputs
        for hook in FINISHED_HOOKS:
            hook(job, {**detail, "evaluations": done})
        self.beat_alone(status=DONE, phase=None, done=done, finished_at=utcnow(), lease=None, detail=detail)
        return DONE


def run_purge(job_id: str) -> str | None:
    """The task's body: run the purge (the worker calls it; tests call it in-process too)."""
    return PurgeRun(job_id).run()
