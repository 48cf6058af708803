"""The batch page for HR staff: upload a CSV, see who is at risk and download it scored (every line or none)."""

from __future__ import annotations

import base64
import time
from collections import Counter
from pathlib import PurePath

import numpy as np
from flask import Response, current_app, g, render_template, request, stream_template
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

from futurisys.domain import formatting
from futurisys.domain.explain import describe
from futurisys.domain.records import validate_payload
from futurisys.domain.risk import scale_for
from futurisys.errors import error_response
from futurisys.extensions import model_store
from futurisys.storage.predictions import Author, predict_and_store_many
from futurisys.web import bp
from futurisys.web.csv_io import (
    ADDED_COLUMNS,
    ENCODINGS,
    REFERENCE_COLUMN,
    CsvProblem,
    CsvTable,
    errors_csv,
    read_table,
    reference,
    reference_error,
    scored_csv,
    template_csv,
)

MAX_LINES_SHOWN = 200  # lines listed on the page (errors, employees at risk); the summary counts them all
AT_RISK = ("eleve", "modere")


class BatchForm(FlaskForm):
    """The upload form (CSRF-protected)."""

    fichier = FileField(
        "Fichier CSV",
        validators=[
            FileRequired("Choisissez un fichier CSV."),
            FileAllowed(["csv", "txt"], "Le fichier doit être un fichier CSV (.csv)."),
        ],
    )


def validate_rows(table: CsvTable):
    """Each line through the API's validation: ([(features, raw)], [reference], {line: {column: [messages]}})."""
    items, references, errors = [], [], {}
    width = len(table.header)
    for line, cells in table.rows:
        if cells is None:
            errors[line] = {"": ["Plus de valeurs que de colonnes : vérifiez le séparateur et les guillemets."]}
            continue
        # Spreadsheets may drop empty trailing cells: they count as empty values.
        features, raw, line_errors = validate_payload(
            dict(zip(table.header, cells + [""] * (width - len(cells)), strict=False))
        )
        ref = reference(table, cells)
        if message := reference_error(ref):
            line_errors = {**line_errors, REFERENCE_COLUMN: [message]}
        if line_errors:
            errors[line] = line_errors
        else:
            items.append((features, raw))
            references.append(ref or None)
    return items, references, errors


def error_lines(
    table: CsvTable, errors: dict, labels: dict[str, str] | None = None, limit: int | None = MAX_LINES_SHOWN
) -> list[dict]:
    """The first lines in error (all with no `limit`): line, reference, and (column, label, value found, messages).

    `labels` names the columns of files other than employee files (departures); the schema names the others.
    """
    cells_of = dict(table.rows)
    lines = []
    for line, line_errors in sorted(errors.items())[:limit]:
        cells = cells_of[line] or []
        problems = []
        for name, messages in line_errors.items():
            field = table.field(name) if name and labels is None else None
            index = table.header.index(name) if name in table.header else None
            found = cells[index].strip() if index is not None and index < len(cells) else ""
            label = field.label if field else ("Référence du salarié" if name == REFERENCE_COLUMN else "Ligne entière")
            label = (labels or {}).get(name, label)
            problems.append({"column": name, "label": label, "value": found, "message": " ".join(messages)})
        lines.append({"line": line, "reference": reference(table, cells), "problems": problems})
    return lines


def main_factors(predictor, items, scores, wanted: list[int]) -> dict[int, str]:
    """The feature that raises the risk most, in French, for the lines at `wanted` indexes."""
    if not wanted:
        return {}
    records = [items[i][0] for i in wanted]
    contributions, _ = predictor.contributions(records)
    names = predictor.encoder.feature_names
    factors = {}
    for index, record, row in zip(wanted, records, contributions, strict=False):
        top = int(np.argmax(row))
        if row[top] > 0:
            name = names[top]
            phrase = describe(name, record[name])
            factors[index] = phrase[:1].upper() + phrase[1:]
    return factors


def _page(form: BatchForm, status: int = 200, render=render_template, **context):
    config = current_app.config
    return render(
        "web/batch.html",
        form=form,
        max_rows=formatting.number(config["BATCH_MAX_RECORDS"]),
        max_megabytes=formatting.short_number(config["MAX_CONTENT_LENGTH"] / 2**20),
        added_columns=ADDED_COLUMNS,
        reference_column=REFERENCE_COLUMN,
        max_lines_shown=MAX_LINES_SHOWN,
        **context,
    ), status


@bp.route("/lot", methods=["GET", "POST"])
def batch():
    """Upload a CSV of employees; answer the page with the employees at risk and the scored file, or the errors."""
    form = BatchForm()
    if not form.validate_on_submit():
        return _page(form, 422 if form.errors else 200)
    started = time.perf_counter()
    predictor = model_store.predictor  # 503 before reading the file when no model is loaded
    upload = form.fichier.data
    try:
        table = read_table(upload.stream, current_app.config["BATCH_MAX_RECORDS"])
    except CsvProblem as problem:
        return _page(form, 422, problem=str(problem))
    items, references, errors = validate_rows(table)
    summary = {
        "lignes": len(table.rows),
        "valides": len(items),
        "en_erreur": len(errors),
        "format": "export RH" if table.raw else "30 variables du modèle",
        "separateur": table.delimiter,
        "encodage": ENCODINGS[table.encoding],
    }
    if errors:
        report = base64.b64encode(errors_csv(error_lines(table, errors, limit=None))).decode("ascii")
        stem = secure_filename(PurePath(upload.filename or "").stem) or "lot"
        return _page(
            form,
            422,
            summary=summary,
            error_lines=error_lines(table, errors),
            errors_base64=report,
            errors_name=f"{stem}_erreurs.csv",
        )
    user_id = current_user.id if current_user.is_authenticated else None
    scores = predict_and_store_many(
        predictor,
        items,
        source="lot",
        request_id=g.request_id,
        started=started,
        authors=[Author(user_id, ref) for ref in references],
    )
    scale = scale_for(predictor.threshold)
    bands = [scale.band(score.proba) for score in scores]
    at_risk = sorted(
        (i for i, band in enumerate(bands) if band.key in AT_RISK),
        key=lambda i: (AT_RISK.index(bands[i].key), -scores[i].proba),
    )
    factors = main_factors(predictor, items, scores, at_risk)
    counts = Counter(band.key for band in bands)
    summary.update(
        {key: counts.get(key, 0) for key in ("faible", "modere", "eleve")},
        seuil=predictor.threshold,
        eleve_des=scale.high_from,
    )
    stem = secure_filename(PurePath(upload.filename or "").stem) or "lot"
    employees = [
        {
            "line": table.rows[i][0],
            "reference": references[i] or "",
            "probability": scores[i].proba,
            "band": bands[i],
            "factor": factors.get(i, ""),
        }
        for i in at_risk[:MAX_LINES_SHOWN]
    ]
    results = [
        (score.proba, band.label, factors.get(i, ""))
        for i, (score, band) in enumerate(zip(scores, bands, strict=False))
    ]
    del items  # scored: only the upload's own cells are written back
    content = scored_csv(table, results)
    # The file goes back in the page (nothing kept on the server); what built it is let go first, so that a
    # full upload holds the file once in base64 rather than in all its intermediate forms.
    del table, results
    encoded = base64.b64encode(content)
    del content
    download_base64 = encoded.decode("ascii")
    del encoded
    # Streamed: the page is sent a piece at a time, never held whole beside the file it carries.
    body, status = _page(
        BatchForm(formdata=None),
        render=stream_template,
        summary=summary,
        at_risk=employees,
        at_risk_total=len(at_risk),
        download_name=f"{stem}_predictions.csv",
        download_base64=download_base64,
    )
    response = Response(body, status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # personal data
    return response


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
    limit = formatting.short_number(current_app.config["MAX_CONTENT_LENGTH"] / 2**20)
    return _page(BatchForm(formdata=None), 413, problem=f"Fichier trop volumineux : {limit} Mo au plus.")
