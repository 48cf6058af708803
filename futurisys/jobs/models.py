"""The job engine's state in the project's database: jobs (what the pages read) and their files, in chunks."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.storage.models import utcnow

#: A job's statuses, as stored (the pages say them in French: see STATUS_LABELS).
WAITING, RUNNING, DONE, FAILED, CANCELLED = "en_attente", "en_cours", "termine", "echoue", "annule"
STATUSES = (WAITING, RUNNING, DONE, FAILED, CANCELLED)
STATUS_LABELS = {
    WAITING: "En attente",
    RUNNING: "En cours",
    DONE: "Terminé",
    FAILED: "Échoué",
    CANCELLED: "Annulé",
}
FINISHED = (DONE, FAILED, CANCELLED)
KINDS = ("lot", "purge", "training")
#: The files of a job: the upload, the scored result, the list of every error.
FILE_ROLES = ("upload", "result", "errors")
CHUNK_BYTES = 1024 * 1024  # a file is stored 1 MiB at a time: never held whole in a worker's or a request's memory


def new_job_id() -> str:
    """The unguessable id in a job's address (128 random bits)."""
    return secrets.token_urlsafe(16)


class Job(db.Model):
    """One piece of long work: who asked, its progress, and what the pages show of its outcome."""

    __tablename__ = "jobs"
    id = sa.Column(sa.String(32), primary_key=True, default=new_job_id)
    kind = sa.Column(sa.String(16), nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default=WAITING)
    # What the page shows while it runs: its phase (« vérification », « évaluation »), and counts in lines.
    phase = sa.Column(sa.String(16), nullable=True)
    total = sa.Column(sa.Integer, nullable=True)  # known once every line was checked
    checked = sa.Column(sa.Integer, nullable=False, default=0)
    done = sa.Column(sa.Integer, nullable=False, default=0)
    errors = sa.Column(sa.Integer, nullable=False, default=0)
    user_id = sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_jobs_user_id_users"), nullable=True
    )
    api_key_name = sa.Column(sa.String(64), nullable=True)
    file_name = sa.Column(sa.String(255), nullable=True)
    file_bytes = sa.Column(sa.BigInteger, nullable=False, default=0)
    request_id = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    started_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
    finished_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
    # Written with each committed chunk: a job whose heartbeat is older than JOB_STALE_SECONDS is sent again.
    heartbeat_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    # The run holding the job (a random token per attempt): a chunk commits only while its run still holds it.
    lease = sa.Column(sa.String(32), nullable=True)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    cancel_requested = sa.Column(sa.Boolean, nullable=False, default=False)
    # What was read of the file (encoding, separator, format) and the outcome shown (counts, employees at risk,
    # first errors, French message): JSON, small whatever the file's size.
    detail = sa.Column(sa.JSON, nullable=True)
    files_deleted_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
    __table_args__ = (
        sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="ck_jobs_status"),
        sa.CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})", name="ck_jobs_kind"),
        # « Mes lots », newest first; the recovery task reads the unfinished ones by heartbeat.
        sa.Index("ix_jobs_user_id_created_at", "user_id", "created_at"),
        sa.Index("ix_jobs_status_heartbeat_at", "status", "heartbeat_at"),
    )

    @property
    def finished(self) -> bool:
        """Whether the job stopped for good (done, failed or cancelled)."""
        return self.status in FINISHED


def bar_state(job: Job, phase_label: str, remaining: int | None = None) -> dict:
    """A counted job's progress bar as its page's script reads it (static/js/lot.js): `done` out of `total`."""
    percent = 100 * job.done / job.total if job.total else (100 if job.status == DONE else 0)
    return {
        "statut": job.status,
        "statut_libelle": STATUS_LABELS[job.status],
        "phase": job.phase,
        "phase_libelle": phase_label,
        "lignes_evaluees": job.done,
        "a_evaluer": job.total,
        "pourcent": round(min(percent, 100), 1),
        "secondes_restantes": remaining,
        "termine": job.finished,
    }


class JobChunk(db.Model):
    """A piece of a job's file (upload, result, errors), in order: files are written and read as streams."""

    __tablename__ = "job_chunks"
    job_id = sa.Column(sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    role = sa.Column(sa.String(8), primary_key=True)
    seq = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    data = sa.Column(sa.LargeBinary, nullable=False)
    __table_args__ = (sa.CheckConstraint(f"role IN ({', '.join(repr(r) for r in FILE_ROLES)})", name="ck_chunks_role"),)
