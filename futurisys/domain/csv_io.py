"""Reading an HR upload as CSV (bounded in lines, width and memory) and writing it back scored."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO

from futurisys.domain import formatting, schema
from futurisys.domain.examples import EXAMPLE_RAW, EXAMPLE_REFERENCE, as_exported
from futurisys.domain.records import is_raw_record, validate_payload
from futurisys.domain.risk import shown_percent

REFERENCE_COLUMN = "reference_salarie"
REFERENCE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
# HR read one figure (the rounded percentage the pages show) and its band; never the API's « Part »/« Reste ».
ADDED_COLUMNS = ("risque_depart_pourcent", "niveau_de_risque", "facteur_principal")
ENCODINGS = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252 (Excel)", "latin-1": "Latin-1"}
# A line of the HR export is under 1,000 characters: longer lines are refused before the CSV reader sees them,
# so that one 16 MB line cannot become millions of cells in memory.
MAX_LINE_CHARS = 16_384
MAX_COLUMNS = 200


class CsvProblem(ValueError):
    """The file as a whole cannot be used (encoding, header, number of lines): one French message."""


@dataclass
class CsvTable:
    """A decoded CSV: separator and encoding, header, and data lines with their numbers as users see them.

    A line with more cells than the header keeps no cells (None): it is an error whatever it holds.
    """

    delimiter: str
    encoding: str
    header: list[str]
    rows: list[tuple[int, list[str] | None]]

    @property
    def raw(self) -> bool:
        """Whether the columns are those of the raw HR export (otherwise the 30 model features)."""
        return is_raw_record(dict.fromkeys(self.header))

    def field(self, name: str) -> schema.Field | None:
        """The schema field of a column (None for the columns the model does not read)."""
        try:
            return schema.raw_field(name) if self.raw else schema.feature(name)
        except KeyError:
            return None


def _lines(text: io.TextIOWrapper, max_lines: int):
    """The file's physical lines, each refused beyond MAX_LINE_CHARS instead of being read whole; at most
    `max_lines` of them (blank lines count: millions of them would otherwise be read for nothing)."""
    number = 0
    while line := text.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise CsvProblem(
                f"Ligne {formatting.number(number)} trop longue (plus de "
                f"{formatting.number(MAX_LINE_CHARS)} caractères) : ce n'est pas un export RH."
            )
        if number > max_lines:
            raise CsvProblem(
                f"Le fichier compte plus de {formatting.number(max_lines)} lignes, lignes vides "
                "comprises : trop pour un lot. Découpez-le en plusieurs fichiers."
            )
        yield line


def _delimiter(first_line: str) -> str:
    # The header decides: column names hold neither separator, whereas `;` files often use decimal commas.
    return ";" if first_line.count(";") > first_line.count(",") else ","


def open_rows(stream: BinaryIO, encoding: str, max_rows: int, check_header=None):
    """The table's header (rows left empty) and an iterator over its data lines, read lazily from `stream`.

    The iterator yields (line number, cells or None) and raises CsvProblem or UnicodeDecodeError as it reads;
    `stream` is read from its start. `check_header` raises CsvProblem for a header that is not the expected one.
    """
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    # Room for blank lines and cells written over several lines, but not for millions of them.
    lines = _lines(text, 2 * max_rows + 100)
    try:
        first = next(lines, "")
    except BaseException:
        text.detach()
        raise
    delimiter = _delimiter(first)
    header = [name.strip() for name in next(csv.reader([first], delimiter=delimiter), [])]
    table = CsvTable(delimiter, encoding, header, [])
    try:
        (check_header or _check_header)(table)
    except BaseException:
        text.detach()
        raise
    return table, _data_rows(text, lines, table, max_rows)


def _data_rows(text: io.TextIOWrapper, lines, table: CsvTable, max_rows: int):
    reader = csv.reader(lines, delimiter=table.delimiter)
    width, line, count = len(table.header), 2, 0
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):  # blank lines (often at the end) are skipped
                if count == max_rows:  # stop reading: the rest of the file is never parsed
                    raise CsvProblem(
                        f"Le fichier compte plus de {formatting.number(max_rows)} lignes de données ; "
                        f"{formatting.number(max_rows)} au plus par lot. Découpez-le en plusieurs "
                        "fichiers."
                    )
                count += 1
                yield line, cells if len(cells) <= width else None
            line = reader.line_num + 2
    except csv.Error:
        raise CsvProblem(
            f"Fichier CSV illisible à la ligne {reader.line_num + 1} (guillemets ou caractères invalides)."
        ) from None
    finally:
        text.detach()  # the upload's stream stays open for another attempt
    if not count:
        raise CsvProblem("Le fichier ne contient aucune ligne de données sous l'en-tête.")


def _read(stream: BinaryIO, encoding: str, max_rows: int, check_header) -> CsvTable:
    table, rows = open_rows(stream, encoding, max_rows, check_header)
    table.rows.extend(rows)
    return table


def check_shape(table: CsvTable) -> None:
    """Refuse a header that is empty, too wide or names a column twice (whatever the file holds)."""
    header = table.header
    if not any(header):
        raise CsvProblem("Le fichier est vide.")
    if len(header) > MAX_COLUMNS:
        raise CsvProblem(f"{formatting.number(len(header))} colonnes : {MAX_COLUMNS} au plus.")
    doubles = sorted(name for name, count in Counter(header).items() if count > 1 and name)
    if doubles:
        raise CsvProblem(f"Colonnes en double : {', '.join(doubles)}.")


def _check_header(table: CsvTable) -> None:
    check_shape(table)
    header = table.header
    expected = schema.RAW_FIELDS if table.raw else schema.FEATURES
    missing = [f.name for f in expected if f.required and f.name not in header]
    if missing:
        raise CsvProblem(
            f"Colonnes manquantes : {', '.join(missing)}. L'en-tête doit reprendre soit les colonnes "
            "de l'export RH, soit les 30 variables du modèle (voir le modèle de fichier)."
        )


def read_table(stream: BinaryIO, max_rows: int, check_header=_check_header) -> CsvTable:
    """Decode and split a CSV upload, reading at most `max_rows` data lines; raise CsvProblem when unusable.

    UTF-8 (with or without BOM) first, else what spreadsheets write on Windows, else Latin-1 (never fails).
    `check_header` raises CsvProblem for a header that is not the expected one (by default, an employee file's).
    """
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return _read(stream, encoding, max_rows, check_header)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def reference(table: CsvTable, cells: list[str]) -> str:
    """The line's employee reference as written (empty when the column is absent or empty)."""
    if REFERENCE_COLUMN not in table.header:
        return ""
    index = table.header.index(REFERENCE_COLUMN)
    return cells[index].strip() if index < len(cells) else ""


def reference_error(value: str) -> str | None:
    """The French message for an invalid employee reference (None when valid or empty)."""
    if not value or REFERENCE.match(value):
        return None
    return (
        "Référence invalide : 32 caractères au plus, parmi les lettres sans accent, les chiffres et - _ . "
        "(par exemple « MAT-0042 »)."
    )


def scored_csv(table: CsvTable, results) -> bytes:
    """The uploaded lines (formula cells neutralised) plus the added columns; UTF-8 with BOM for Excel.

    `results` holds, per line, (probability, band label, main factor or ""); the risk is written as the whole
    percentage the pages show (a number, so that the spreadsheet sorts it).
    """
    return scored_header(table) + scored_lines(table, (cells for _, cells in table.rows), results)


def errors_csv(lines: list[dict]) -> bytes:
    """Every error of a refused file, one per row, for a spreadsheet (UTF-8 with BOM, `;`): what the page lists."""
    return _csv_bytes(";", [ERRORS_HEADER, *(row for entry in lines for row in error_rows(entry))], bom=True)


def template_csv() -> bytes:
    """The reference and the HR export's columns, with one example line (a real employee), for a spreadsheet."""
    example = as_exported(EXAMPLE_RAW)
    line = [EXAMPLE_REFERENCE, *(example[name] for name in schema.RAW_NAMES)]
    return _csv_bytes(";", [[REFERENCE_COLUMN, *schema.RAW_NAMES], line], bom=True)


MAX_LINES_SHOWN = 200  # lines listed on a page (errors, employees at risk); summaries count them all


def validate_line(table: CsvTable, cells: list[str] | None):
    """One line through the API's validation: (features, raw record, reference, {column: [messages]})."""
    if cells is None:
        return None, None, "", {"": ["Plus de valeurs que de colonnes : vérifiez le séparateur et les guillemets."]}
    # Spreadsheets may drop empty trailing cells: they count as empty values.
    width = len(table.header)
    features, raw, errors = validate_payload(dict(zip(table.header, cells + [""] * (width - len(cells)), strict=False)))
    ref = reference(table, cells)
    if message := reference_error(ref):
        errors = {**errors, REFERENCE_COLUMN: [message]}
    return features, raw, ref, errors


def validate_rows(table: CsvTable):
    """Each line through the API's validation: ([(features, raw)], [reference], {line: {column: [messages]}})."""
    items, references, errors = [], [], {}
    for line, cells in table.rows:
        features, raw, ref, line_errors = validate_line(table, cells)
        if line_errors:
            errors[line] = line_errors
        else:
            items.append((features, raw))
            references.append(ref or None)
    return items, references, errors


def error_entry(table: CsvTable, line: int, cells: list[str] | None, line_errors: dict, labels=None) -> dict:
    """One line in error: its number, reference, and (column, label, value found, messages) per problem.

    `labels` names the columns of files other than employee files (departures); the schema names the others.
    """
    cells = cells or []
    problems = []
    for name, messages in line_errors.items():
        field = table.field(name) if name and labels is None else None
        index = table.header.index(name) if name in table.header else None
        found = cells[index].strip() if index is not None and index < len(cells) else ""
        label = field.label if field else ("Référence du salarié" if name == REFERENCE_COLUMN else "Ligne entière")
        label = (labels or {}).get(name, label)
        problems.append({"column": name, "label": label, "value": found, "message": " ".join(messages)})
    return {"line": line, "reference": reference(table, cells), "problems": problems}


def error_lines(
    table: CsvTable, errors: dict, labels: dict[str, str] | None = None, limit: int | None = MAX_LINES_SHOWN
) -> list[dict]:
    """The first lines in error (all with no `limit`), as `error_entry` describes them."""
    cells_of = dict(table.rows)
    return [
        error_entry(table, line, cells_of[line], line_errors, labels)
        for line, line_errors in sorted(errors.items())[:limit]
    ]


ERRORS_HEADER = ["ligne", "reference_salarie", "colonne", "champ", "valeur_trouvee", "erreur"]


def error_rows(entry: dict) -> list[list]:
    """The rows of the error file for one line in error (formula cells neutralised)."""
    return [
        [entry["line"]]
        + [
            formatting.spreadsheet_text(text)
            for text in (entry["reference"], problem["column"], problem["label"], problem["value"])
        ]
        + [problem["message"]]
        for problem in entry["problems"]
    ]


def scored_header(table: CsvTable) -> bytes:
    """The result file's first line (UTF-8 BOM for Excel, the upload's columns then the added ones)."""
    return _csv_bytes(
        table.delimiter, [[formatting.spreadsheet_text(n) for n in table.header] + list(ADDED_COLUMNS)], bom=True
    )


def scored_lines(table: CsvTable, lines, results) -> bytes:
    """The uploaded `lines` (cells) with the added columns, formula cells neutralised; no header."""
    width = len(table.header)
    return _csv_bytes(
        table.delimiter,
        (
            [formatting.spreadsheet_text(cell) for cell in cells]
            + [""] * (width - len(cells))
            + [str(shown_percent(probability)), band, formatting.spreadsheet_text(factor)]
            for cells, (probability, band, factor) in zip(lines, results, strict=False)
        ),
    )


def _csv_bytes(delimiter: str, rows, bom: bool = False) -> bytes:
    buffer = io.BytesIO()
    out = io.TextIOWrapper(buffer, encoding="utf-8-sig" if bom else "utf-8", newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    out.flush()
    out.detach()
    return buffer.getvalue()
