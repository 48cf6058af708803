"""POST /lots for integrators with big files: the CSV is stored as a lot and scored in the background (202)."""

from __future__ import annotations

from flask import Response, g, jsonify, request, url_for

from futurisys.api import bp
from futurisys.errors import error_response
from futurisys.extensions import db, model_store
from futurisys.jobs import files
from futurisys.jobs.lots import create_lot
from futurisys.jobs.models import DONE, Job
from futurisys.jobs.routes import progress

CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/octet-stream")


def create_lot_endpoint():
    """Store the CSV (a multipart field « fichier », or the text/csv body) as a lot; 202 with its status' address."""
    name = request.args.get("nom", "")
    if len(name) > 255:
        message = "Le nom du fichier compte 255 caractères au plus."
        return error_response(422, message, {"nom": [message]})
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("fichier")
        if upload is None:
            message = "Le champ « fichier » (le fichier CSV) est absent."
            return error_response(422, message, {"fichier": [message]})
        stream, name = upload.stream, name or upload.filename or ""
    elif request.mimetype in CSV_TYPES:
        stream = request.stream
    else:
        message = "Envoyez le fichier CSV dans un formulaire multipart (champ « fichier ») ou comme corps text/csv."
        return error_response(415, message, {"_body": [message]})
    if not request.content_length:
        message = "Le fichier est vide."
        return error_response(422, message, {"_body": [message]})
    model_store.predictor  # noqa: B018 — 503 before storing a file no model could score
    job_id = create_lot(
        stream, (name or "lot.csv")[:255], user_id=None, api_key_name=g.get("api_key_name"), request_id=g.request_id
    )
    response = jsonify({"id": job_id, "statut": "en_attente", "adresse": url_for("api.lot_status", job_id=job_id)})
    response.status_code = 202
    response.headers["Location"] = url_for("api.lot_status", job_id=job_id)
    return response


bp.add_url_rule("/lots", "create_lot", create_lot_endpoint, methods=["POST"], strict_slashes=False)


def _api_lot_or_404(job_id: str) -> Job | None:
    """A lot sent through the API, by the same key (without keys, its unguessable id is the capability); else None."""
    job = db.session.get(Job, job_id)
    if job is None or job.user_id is not None or job.api_key_name != g.get("api_key_name"):
        return None
    return job


@bp.get("/api/lots/<job_id>")
def lot_status(job_id: str):
    """A lot's progress, and once done the address of its scored file."""
    job = _api_lot_or_404(job_id)
    if job is None:
        return error_response(404, "Lot introuvable.")
    body = progress(job)
    detail = job.detail or {}
    if job.status == DONE:
        body["resultat"] = url_for("api.lot_result", job_id=job.id)
        body["bandes"] = detail.get("bandes", {})
    if detail.get("message"):
        body["message"] = detail["message"]
    if detail.get("error_lines"):
        body["erreurs"] = detail["error_lines"]
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/lots/<job_id>/resultat.csv")
def lot_result(job_id: str):
    """The scored file, streamed from the database (404 until the lot is done)."""
    job = _api_lot_or_404(job_id)
    if job is None or job.status != DONE or job.files_deleted_at is not None:
        return error_response(404, "Fichier évalué introuvable : lot inconnu, pas terminé, ou supprimé.")
    response = Response(files.iter_chunks(db.engine, job.id, "result"), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename="lot_predictions.csv")
    response.headers["Cache-Control"] = "no-store"
    return response
