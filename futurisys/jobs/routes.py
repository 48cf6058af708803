"""The lots' pages for HR staff: a lot's progress and outcome, its files, « Mes lots », cancelling."""

from __future__ import annotations

from pathlib import PurePath

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.utils import secure_filename

from futurisys.auth.access import refuse_unless_role
from futurisys.domain.csv_io import ADDED_COLUMNS, MAX_LINES_SHOWN
from futurisys.domain.risk import scale_for
from futurisys.extensions import db
from futurisys.jobs import files, lots
from futurisys.jobs.models import RUNNING, STATUS_LABELS, WAITING, Job
from futurisys.storage.models import utcnow

bp = Blueprint("lots", __name__)
MY_LOTS_SHOWN = 100
#: Employees at risk listed on a lot's page (the most urgent; all are in the file): a page a phone can scroll.
AT_RISK_SHOWN = 50
PHASE_LABELS = {
    None: "En attente d'un processus de calcul",
    "verification": "Vérification des lignes",
    "evaluation": "Évaluation des lignes",
}


@bp.before_request
def _hr_staff_only():
    # A lot holds personal data: anonymous → login page, other roles → 403, other accounts' lots → 404 below.
    return refuse_unless_role("hr", "admin")


def lot_or_404(job_id: str) -> Job:
    """The lot behind `job_id`, if the signed-in account uploaded it or is an admin; 404 otherwise."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != "lot" or (current_user.role != "admin" and job.user_id != current_user.id):
        abort(404, "Lot introuvable.")
    return job


def progress(job: Job) -> dict:
    """What the progress bar shows: phase, lines checked and scored, percent, seconds left (when known)."""
    detail = job.detail or {}
    total_lines = detail.get("lignes")
    if job.phase == "evaluation" and job.total:
        percent = 100 * job.done / job.total
    else:
        percent = 0
    remaining = None
    if job.status == RUNNING and job.phase == "evaluation" and job.done and job.total:
        started = job.started_at if job.started_at.tzinfo else job.started_at.replace(tzinfo=utcnow().tzinfo)
        elapsed = (utcnow() - started).total_seconds()
        remaining = max(0, round(elapsed * (job.total - job.done) / job.done))
    return {
        "statut": job.status,
        "statut_libelle": STATUS_LABELS[job.status],
        "phase": job.phase,
        "phase_libelle": PHASE_LABELS.get(job.phase, ""),
        "lignes_verifiees": job.checked,
        "lignes_total": total_lines,
        "lignes_evaluees": job.done,
        "a_evaluer": job.total,
        "lignes_en_erreur": job.errors,
        "pourcent": round(percent, 1),
        "secondes_restantes": remaining,
        "termine": job.finished,
    }


def _stem(job: Job) -> str:
    return secure_filename(PurePath(job.file_name or "").stem) or "lot"


@bp.get("/lots")
def mine():
    """« Mes lots »: the account's lots, newest first."""
    query = sa.select(Job).where(Job.kind == "lot", Job.user_id == current_user.id)
    jobs = db.session.scalars(query.order_by(Job.created_at.desc()).limit(MY_LOTS_SHOWN)).all()
    return render_template("jobs/lots.html", jobs=jobs, labels=STATUS_LABELS, shown=MY_LOTS_SHOWN)


@bp.get("/lots/<job_id>")
def show(job_id: str):
    """A lot's page: its progress while it runs (updated by a small script), then the employees at risk."""
    job = lot_or_404(job_id)
    detail = job.detail or {}
    scale = scale_for(detail["seuil"]) if "seuil" in detail else None
    at_risk = (
        [
            {**employee, "band": scale.band(employee["probability"])}
            for employee in detail.get("at_risk", [])[:AT_RISK_SHOWN]
        ]
        if scale
        else []
    )
    bands = detail.get("bandes", {})
    g.lot_references = sorted({employee["reference"] for employee in at_risk if employee["reference"]})
    response = Response(
        render_template(
            "jobs/lot.html",
            job=job,
            detail=detail,
            progress=progress(job),
            at_risk=at_risk,
            at_risk_total=bands.get("eleve", 0) + bands.get("modere", 0),
            bands=bands,
            added_columns=ADDED_COLUMNS,
            max_lines_shown=MAX_LINES_SHOWN,
            files_kept=job.files_deleted_at is None,
            retention_days=current_app.config["LOT_RETENTION_DAYS"],
        )
    )
    response.headers["Cache-Control"] = "no-store"  # personal data
    return response


@bp.get("/lots/<job_id>/etat.json")
def status(job_id: str):
    """The lot's progress, as the page's script polls it (no personal data: counts only)."""
    response = jsonify(progress(lot_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


def _download(job: Job, role: str, name: str) -> Response:
    with db.engine.connect() as connection:
        if job.files_deleted_at is not None or not files.has_file(connection, job.id, role):
            abort(404, "Fichier introuvable : il a été supprimé à la fin de sa durée de conservation, ou n'existe pas.")
    # Streamed a chunk at a time: a result of hundreds of megabytes never sits in the server's memory.
    response = Response(files.iter_chunks(db.engine, job.id, role), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=name)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/lots/<job_id>/resultat.csv")
def result(job_id: str):
    """The uploaded file completed with each line's risk, streamed from the database."""
    job = lot_or_404(job_id)
    if job.status != "termine":
        abort(404, "Le fichier évalué n'est pas prêt : le lot n'est pas terminé.")
    return _download(job, "result", f"{_stem(job)}_predictions.csv")


@bp.get("/lots/<job_id>/erreurs.csv")
def errors(job_id: str):
    """Every error of a refused lot, one per row, for a spreadsheet."""
    job = lot_or_404(job_id)
    return _download(job, "errors", f"{_stem(job)}_erreurs.csv")


@bp.post("/lots/<job_id>/annuler")
def cancel(job_id: str):
    """Stop a lot: nothing it stored is kept (a lot is all or nothing)."""
    job = lot_or_404(job_id)
    if job.status in (WAITING, RUNNING):
        lots.request_cancel(job.id)
        flash("Annulation demandée : les lignes déjà évaluées de ce lot seront supprimées.", "info")
    return redirect(url_for("lots.show", job_id=job.id), 303)
