"""The batch page for HR staff: upload a CSV, get it back scored (every line or none, as the batch API)."""
from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath

from flask import Response, current_app, g, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

from futurisys import schema
from futurisys.errors import error_response
from futurisys.extensions import model_store
from futurisys.predictions import predict_and_store_many
from futurisys.risk import risk_band
from futurisys.validation import is_raw_record, validate_payload
from futurisys.web import bp

ADDED_COLUMNS = ("prediction", "probabilite_depart", "niveau_de_risque")
MAX_LINES_SHOWN = 200  # lines in error listed on the page; the summary counts them all
ENCODINGS = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252 (Excel)", "latin-1": "Latin-1"}


class BatchForm(FlaskForm):
    """The upload form (CSRF-protected)."""

    fichier = FileField("Fichier CSV", validators=[
        FileRequired("Choisissez un fichier CSV."),
        FileAllowed(["csv", "txt"], "Le fichier doit être un fichier CSV (.csv)."),
    ])


class CsvProblem(ValueError):
    """The file as a whole cannot be used (encoding, header, number of lines): one French message."""


@dataclass
class CsvTable:
    """A decoded CSV: its separator and encoding, header, and data lines with their numbers as users see them."""

    delimiter: str
    encoding: str
    header: list[str]
    rows: list[tuple[int, list[str]]]

    @property
    def raw(self) -> bool:
        """Whether the columns are those of the raw HR export (otherwise the 30 model features)."""
        return is_raw_record(dict.fromkeys(self.header))


def decode(content: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM first, else what spreadsheets write on Windows."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1"), "latin-1"  # cannot fail: every byte is a character


def read_table(content: bytes, max_rows: int) -> CsvTable:
    """Decode and split a CSV upload; raise CsvProblem when it cannot be scored as a whole."""
    text, encoding = decode(content)
    first_line = text.split("\n", 1)[0]
    # The header decides: column names hold neither separator, whereas `;` files often use decimal commas.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader, [])]
        rows, line = [], reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):  # blank lines (often at the end) are skipped
                rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error:
        raise CsvProblem(f"Fichier CSV illisible à la ligne {reader.line_num} (guillemets ou caractères "
                         "invalides).") from None
    if not any(header):
        raise CsvProblem("Le fichier est vide.")
    doubles = sorted(name for name, count in Counter(header).items() if count > 1 and name)
    if doubles:
        raise CsvProblem(f"Colonnes en double : {', '.join(doubles)}.")
    table = CsvTable(delimiter, encoding, header, rows)
    expected = schema.RAW_FIELDS if table.raw else schema.FEATURES
    missing = [f.name for f in expected if f.required and f.name not in header]
    if missing:
        raise CsvProblem(f"Colonnes manquantes : {', '.join(missing)}. L'en-tête doit reprendre soit les colonnes "
                         "de l'export RH, soit les 30 variables du modèle (voir le modèle de fichier).")
    if not rows:
        raise CsvProblem("Le fichier ne contient aucune ligne de données sous l'en-tête.")
    if len(rows) > max_rows:
        raise CsvProblem(f"Le fichier compte {_count(len(rows))} lignes de données ; {_count(max_rows)} au plus "
                         "par lot. Découpez-le en plusieurs fichiers.")
    return table


def _count(number: int) -> str:
    return f"{number:,}".replace(",", "\u202f")  # French thousands separator (narrow no-break space)


def validate_rows(table: CsvTable) -> tuple[list[tuple[dict, dict | None]], dict[int, dict[str, list[str]]]]:
    """Each line through the API's validation: ([(features, raw)], {line number: {column: [messages]}})."""
    items, errors = [], {}
    width = len(table.header)
    for line, cells in table.rows:
        if len(cells) > width:
            errors[line] = {"": [f"{len(cells)} valeurs pour {width} colonnes : vérifiez le séparateur et les "
                                 "guillemets."]}
            continue
        # Spreadsheets may drop empty trailing cells: they count as empty values.
        features, raw, line_errors = validate_payload(dict(zip(table.header, cells + [""] * (width - len(cells)))))
        if line_errors:
            errors[line] = line_errors
        else:
            items.append((features, raw))
    return items, errors


def scored_csv(table: CsvTable, scores) -> bytes:
    """The uploaded lines as they came, plus prediction, probability and risk band; UTF-8 with BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=table.delimiter, lineterminator="\r\n")
    writer.writerow(table.header + list(ADDED_COLUMNS))
    width = len(table.header)
    for (_, cells), score in zip(table.rows, scores):
        probability = f"{score.proba:.4f}"
        if table.delimiter == ";":  # the French spreadsheet convention: `;` separator, decimal comma
            probability = probability.replace(".", ",")
        writer.writerow(cells + [""] * (width - len(cells)) + [score.label, probability, risk_band(score.proba).label])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def error_lines(table: CsvTable, errors: dict) -> list[tuple[int, list[tuple[str, str, str]]]]:
    """The first lines in error for the page: (line, [(column, French label, messages)])."""
    def label(name: str) -> str:
        if not name:
            return "Ligne entière"
        field = schema.raw_field(name) if table.raw else schema.feature(name)
        return field.label

    return [(line, [(name, label(name), " ".join(messages)) for name, messages in line_errors.items()])
            for line, line_errors in sorted(errors.items())[:MAX_LINES_SHOWN]]


def _page(form: BatchForm, status: int = 200, **context):
    config = current_app.config
    return render_template("web/batch.html", form=form, max_rows=_count(config["BATCH_MAX_RECORDS"]),
                           max_megabytes=f"{config['MAX_CONTENT_LENGTH'] / 2**20:g}", added_columns=ADDED_COLUMNS,
                           max_lines_shown=MAX_LINES_SHOWN, **context), status


@bp.route("/lot", methods=["GET", "POST"])
def batch():
    """Upload a CSV of employees; answer the scored CSV, or the page with every error by line."""
    form = BatchForm()
    if not form.validate_on_submit():
        return _page(form, 422 if form.errors else 200)
    started = time.perf_counter()
    model_store.predictor  # 503 before reading the file when no model is loaded
    upload = form.fichier.data
    try:
        table = read_table(upload.read(), current_app.config["BATCH_MAX_RECORDS"])
    except CsvProblem as problem:
        return _page(form, 422, problem=str(problem))
    items, errors = validate_rows(table)
    summary = {"lignes": len(table.rows), "valides": len(items), "en_erreur": len(errors),
               "format": "export RH" if table.raw else "30 variables du modèle",
               "separateur": table.delimiter, "encodage": ENCODINGS[table.encoding]}
    if errors:
        return _page(form, 422, summary=summary, error_lines=error_lines(table, errors))
    scores = predict_and_store_many(items, source="lot", request_id=g.request_id, started=started)
    bands = Counter(risk_band(score.proba).key for score in scores)
    summary.update(part=sum(score.label == schema.CLASS_LABELS[1] for score in scores),
                   **{key: bands.get(key, 0) for key in ("faible", "modere", "eleve")})
    response = Response(scored_csv(table, scores), mimetype="text/csv")
    stem = secure_filename(PurePath(upload.filename or "").stem) or "lot"
    response.headers.set("Content-Disposition", "attachment", filename=f"{stem}_predictions.csv")
    response.headers["X-Batch-Summary"] = json.dumps(summary)  # ASCII (escaped), read by static/js/batch.js
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/lot/modele.csv")
def batch_template():
    """An empty CSV with the HR export's columns, to fill in a spreadsheet."""
    response = Response(("\ufeff" + ";".join(schema.RAW_NAMES) + "\r\n").encode("utf-8"), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename="modele_lot_futurisys.csv")
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    if request.endpoint != "web.batch":
        return error_response(413, "Requête trop volumineuse.")
    limit = current_app.config["MAX_CONTENT_LENGTH"] / 2**20
    return _page(BatchForm(formdata=None), 413, problem=f"Fichier trop volumineux : {limit:g} Mo au plus.")
