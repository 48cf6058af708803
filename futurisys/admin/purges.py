"""Purges from the administration: asked here, run by the job engine, followed on a page of their own."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, flash, g, jsonify, redirect, render_template, url_for
from flask_login import current_user

from futurisys.admin import bp
from futurisys.admin.forms import PurgeForm
from futurisys.extensions import db
from futurisys.jobs import lots, purges
from futurisys.jobs.models import RUNNING, STATUS_LABELS, WAITING, Job, bar_state
from futurisys.storage.models import utcnow

PURGES_SHOWN = 20
PHASE_LABELS = {
    None: "En attente d'un processus de calcul",
    "comptage": "Comptage des évaluations à supprimer",
    "suppression": "Suppression par lots de quelques milliers",
}


def purge_or_404(job_id: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.kind != "purge":
        abort(404, "Purge introuvable.")
    return job


def progress(job: Job) -> dict:
    """What the progress bar shows (the same fields as a lot's, read by static/js/lot.js)."""
    remaining = None
    if job.status == RUNNING and job.phase == "suppression" and job.done and job.total:
        started = job.started_at if job.started_at.tzinfo else job.started_at.replace(tzinfo=utcnow().tzinfo)
        remaining = max(0, round((utcnow() - started).total_seconds() * (job.total - job.done) / job.done))
    return bar_state(job, PHASE_LABELS.get(job.phase, ""), remaining)


@bp.get("/purges", endpoint="purges")
def purges_page(form: PurgeForm | None = None, status: int = 200):
    """The purge form and the latest purges."""
    recent = db.session.scalars(
        sa.select(Job).where(Job.kind == "purge").order_by(Job.created_at.desc()).limit(PURGES_SHOWN)
    ).all()
    return render_template("admin/purges.html", form=form or PurgeForm(), purges=recent, labels=STATUS_LABELS), status


@bp.post("/purges")
def request_purge():
    """Send a purge to the job engine and show its page (303): it never runs inside the request."""
    form = PurgeForm()
    if not form.validate_on_submit():
        return purges_page(form, 422)
    cutoff = utcnow() - timedelta(days=form.days.data)
    job_id = purges.create_purge(cutoff, user_id=current_user.id, request_id=g.get("request_id", ""))
    return redirect(url_for("admin.purge", job_id=job_id), 303)


@bp.get("/purges/<job_id>")
def purge(job_id: str):
    """A purge's page: its progress while it runs, then what it deleted."""
    job = purge_or_404(job_id)
    return render_template("admin/purge.html", job=job, detail=job.detail or {}, progress=progress(job))


@bp.get("/purges/<job_id>/etat.json")
def purge_status(job_id: str):
    """The purge's progress, as the page's script polls it (counts only)."""
    response = jsonify(progress(purge_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/purges/<job_id>/annuler")
def cancel_purge(job_id: str):
    """Stop a purge after the batch in progress; what it deleted stays deleted."""
    job = purge_or_404(job_id)
    if job.status in (WAITING, RUNNING):
        lots.request_cancel(job.id)
        flash("Arrêt demandé : la purge s'arrête après le lot de suppressions en cours.", "info")
    return redirect(url_for("admin.purge", job_id=job.id), 303)
