"""The batch page for HR staff: upload a CSV of employees; it becomes a lot, scored in the background."""

from __future__ import annotations

from flask import Response, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge

from futurisys.domain import formatting
from futurisys.domain.csv_io import ADDED_COLUMNS, MAX_LINES_SHOWN, REFERENCE_COLUMN, template_csv
from futurisys.errors import error_response
from futurisys.extensions import model_store
from futurisys.jobs.lots import create_lot
from futurisys.web import bp


class BatchForm(FlaskForm):
    """The upload form (CSRF-protected)."""

    fichier = FileField(
        "Fichier CSV",
        validators=[
            FileRequired("Choisissez un fichier CSV."),
            FileAllowed(["csv", "txt"], "Le fichier doit être un fichier CSV (.csv)."),
        ],
    )


def _page(form: BatchForm, status: int = 200, **context):
    config = current_app.config
    return render_template(
        "web/batch.html",
        form=form,
        max_rows=formatting.number(config["LOT_MAX_LINES"]),
        max_megabytes=formatting.short_number(config["LOT_MAX_BYTES"] / 2**20),
        added_columns=ADDED_COLUMNS,
        reference_column=REFERENCE_COLUMN,
        max_lines_shown=MAX_LINES_SHOWN,
        **context,
    ), status


@bp.route("/lot", methods=["GET", "POST"])
def batch():
    """Upload a CSV of employees: it is stored as a lot and scored in the background; 303 to the lot's page."""
    form = BatchForm()
    if not form.validate_on_submit():
        return _page(form, 422 if form.errors else 200)
    model_store.predictor  # noqa: B018 — 503 before storing a file no model could score
    upload = form.fichier.data
    job_id = create_lot(
        upload.stream,
        upload.filename or "lot.csv",
        user_id=current_user.id,
        api_key_name=None,
        request_id=g.request_id,
    )
    return redirect(url_for("lots.show", job_id=job_id), 303)


@bp.get("/lot/modele.csv")
def batch_template():
    """An empty CSV with the employee reference and the HR export's columns, to fill in a spreadsheet."""
    response = Response(template_csv(), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename="modele_lot_futurisys.csv")
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    if request.endpoint != "web.batch":
        return error_response(413, "Requête trop volumineuse.")
    limit = formatting.short_number(current_app.config["LOT_MAX_BYTES"] / 2**20)
    return _page(BatchForm(formdata=None), 413, problem=f"Fichier trop volumineux : {limit} Mo au plus.")
