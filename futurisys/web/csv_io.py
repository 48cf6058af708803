"""Reading an HR upload as CSV (bounded in lines, width and memory) and writing it back scored."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO

from futurisys.domain import formatting, schema
from futurisys.domain.records import is_raw_record
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


def _read(stream: BinaryIO, encoding: str, max_rows: int, check_header) -> CsvTable:
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = None
    try:
        # Room for blank lines and cells written over several lines, but not for millions of them.
        lines = _lines(text, 2 * max_rows + 100)
        first = next(lines, "")
        delimiter = _delimiter(first)
        header = [name.strip() for name in next(csv.reader([first], delimiter=delimiter), [])]
        table = CsvTable(delimiter, encoding, header, [])
        check_header(table)
        reader = csv.reader(lines, delimiter=delimiter)
        width, line = len(header), 2
        for cells in reader:
            if any(cell.strip() for cell in cells):  # blank lines (often at the end) are skipped
                if len(table.rows) == max_rows:  # stop reading: the rest of the file is never parsed
                    raise CsvProblem(
                        f"Le fichier compte plus de {formatting.number(max_rows)} lignes de données ; "
                        f"{formatting.number(max_rows)} au plus par lot. Découpez-le en plusieurs "
                        "fichiers."
                    )
                table.rows.append((line, cells if len(cells) <= width else None))
            line = reader.line_num + 2
    except csv.Error:
        line = reader.line_num + 1 if reader else 1
        raise CsvProblem(f"Fichier CSV illisible à la ligne {line} (guillemets ou caractères invalides).") from None
    finally:
        text.detach()  # the upload's stream stays open for another attempt
    if not table.rows:
        raise CsvProblem("Le fichier ne contient aucune ligne de données sous l'en-tête.")
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
    # Written straight to UTF-8 bytes: a str of the whole file (and its copies) would cost several times its size.
    buffer = io.BytesIO()
    out = io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="")
    writer = csv.writer(out, delimiter=table.delimiter, lineterminator="\r\n")
    writer.writerow([formatting.spreadsheet_text(name) for name in table.header] + list(ADDED_COLUMNS))
    width = len(table.header)
    for (_, cells), (probability, band, factor) in zip(table.rows, results, strict=False):
        writer.writerow(
            [formatting.spreadsheet_text(cell) for cell in cells]
            + [""] * (width - len(cells))
            + [
                str(shown_percent(probability)),
                band,
                formatting.spreadsheet_text(factor),
            ]
        )
    out.flush()
    out.detach()
    return buffer.getvalue()


def errors_csv(lines: list[dict]) -> bytes:
    """Every error of a refused file, one per row, for a spreadsheet (UTF-8 with BOM, `;`): what the page lists."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["ligne", "reference_salarie", "colonne", "champ", "valeur_trouvee", "erreur"])
    for entry in lines:
        for problem in entry["problems"]:
            writer.writerow(
                [entry["line"]]
                + [
                    formatting.spreadsheet_text(text)
                    for text in (entry["reference"], problem["column"], problem["label"], problem["value"])
                ]
                + [problem["message"]]
            )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_csv() -> bytes:
    """An empty CSV with the employee reference and the HR export's columns, to fill in a spreadsheet."""
    return ("\ufeff" + ";".join((REFERENCE_COLUMN, *schema.RAW_NAMES)) + "\r\n").encode("utf-8")
