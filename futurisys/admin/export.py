"""The filtered history as a streamed CSV, laid out for French spreadsheets.

Choices: UTF-8 with a byte-order mark (Excel then reads the accents right), `;` as separator and `,` as decimal
mark (what French Excel/LibreOffice expect, so numbers stay numbers), dates in Paris local time as French
spreadsheets read them, booleans as Oui/Non (the form's and the batch's spelling). Text that a spreadsheet would
run as a formula is quoted with `'`. The formatting itself is futurisys/domain/formatting.py's.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from flask import Response, current_app, request, stream_with_context

from futurisys.admin import bp
from futurisys.admin.forms import filter_form
from futurisys.admin.queries import INPUT, LOCAL_TZ, PRED, export_select
from futurisys.domain import formatting
from futurisys.domain.risk import risk_band, shown_percent
from futurisys.domain.schema import FEATURE_NAMES
from futurisys.errors import error_response
from futurisys.extensions import db

COLUMNS = [
    PRED.c.id.label("prediction_id"),
    PRED.c.created_at.label("created_at_paris"),
    PRED.c.prediction_label,
    PRED.c.prediction_proba,
    PRED.c.threshold,
    PRED.c.model_version,
    PRED.c.latency_ms,
    PRED.c.api_key_name,
    PRED.c.input_id,
    *(INPUT.c[name] for name in FEATURE_NAMES),
    INPUT.c.source,
    INPUT.c.request_id,
    INPUT.c.employee_ref,
]
# The figure and band every page shows, beside the exact probability (`prediction_proba`) and threshold.
SHOWN = ["risque_pourcent", "niveau_de_risque"]
HEADER = [column.name for column in COLUMNS] + SHOWN
_PROBA, _THRESHOLD = HEADER.index("prediction_proba"), HEADER.index("threshold")
SEPARATOR = ";"
CHUNK_ROWS = 1000
_REFERENCE = HEADER.index("employee_ref")
#: Called once the export ended (or was cut off) with the employee references it sent, sorted, and its filters:
#: the access journal names each employee an export held (compliance registers it), at no cost of its own.
EXPORTED_HOOKS: list = []


def cell(value) -> str:
    """One value as a French spreadsheet reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, float):
        return formatting.spreadsheet_number(value)
    if isinstance(value, datetime):
        return formatting.spreadsheet_datetime(value)
    if isinstance(value, str):
        return formatting.spreadsheet_text(value)
    return str(value)


def shown(row, high_from: float) -> list[str]:
    """The rounded risk and its band, as the HR pages and the history show them."""
    probability, threshold = row[_PROBA], row[_THRESHOLD]
    return [str(shown_percent(probability)), risk_band(probability, threshold, high_from).label]


def csv_chunks(engine, statement, high_from: float, sent: set | None = None):
    """Yield the CSV in chunks: BOM and header, then rows read through a server-side cursor.

    The employee references of the rows yielded are added to `sent`.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(HEADER)
    yield buffer.getvalue()
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=CHUNK_ROWS).execute(statement)
        for rows in result.partitions():
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([cell(value) for value in row] + shown(row, high_from) for row in rows)
            if sent is not None:
                sent.update(row[_REFERENCE] for row in rows if row[_REFERENCE])
            yield buffer.getvalue()


def _journaled(chunks, sent: set, filters: dict):
    """`chunks`, then (even when the download is cut off) the hooks told which employees were sent."""
    try:
        yield from chunks
    finally:
        for hook in EXPORTED_HOOKS:
            hook(sorted(sent), filters)


@bp.get("/export.csv")
def export_csv():
    """Download the predictions matching the history's filters, one row per prediction with its 30 features."""
    form = filter_form()
    if not form.validate():
        return error_response(400, "Filtres invalides.", form.errors)
    statement = export_select(COLUMNS, form.filters(), form.sort.data)
    filename = f"futurisys-predictions-{datetime.now(LOCAL_TZ):%Y-%m-%d-%H%M}.csv"
    sent: set = set()
    chunks = csv_chunks(db.engine, statement, current_app.config["RISK_HIGH_FROM"], sent)
    return Response(
        stream_with_context(_journaled(chunks, sent, dict(request.args))),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
