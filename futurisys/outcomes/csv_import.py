"""The admin CSV of departures (reference_salarie;date_depart;motif), read with the /lot upload's reader."""

from __future__ import annotations

from futurisys.domain.csv_io import CsvProblem, CsvTable, check_shape
from futurisys.outcomes.kinds import DEFAULT_VOLUNTARY, KINDS
from futurisys.outcomes.record import NewDeparture, validate

COLUMNS = ("reference_salarie", "date_depart", "motif")
LABELS = {
    "reference_salarie": "Référence du salarié",
    "date_depart": "Date de départ",
    "motif": "Type de départ",
    "": "Ligne entière",
}


def check_header(table: CsvTable) -> None:
    """The header must name the three columns (others are ignored), each once."""
    check_shape(table)
    header = table.header
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise CsvProblem(
            f"Colonnes manquantes : {', '.join(missing)}. L'en-tête doit être "
            f"« {';'.join(COLUMNS)} » (voir le modèle de fichier)."
        )


def validate_table(table: CsvTable) -> tuple[list[NewDeparture], dict[int, dict[str, list[str]]]]:
    """Each line as a departure, or its errors by column, keyed by the line's number in the file."""
    items, errors = [], {}
    where = {name: table.header.index(name) for name in COLUMNS}
    for line, cells in table.rows:
        if cells is None:
            errors[line] = {"": ["Plus de valeurs que de colonnes : vérifiez le séparateur et les guillemets."]}
            continue
        values = [cells[where[name]] if where[name] < len(cells) else "" for name in COLUMNS]
        item, line_errors = validate(*values)
        if line_errors:
            errors[line] = line_errors
        else:
            items.append(item)
    return items, errors


def template_csv() -> bytes:
    """The example file: the header, one line per voluntary type, and one involuntary exit."""
    lines = [
        ";".join(COLUMNS),
        "MAT-0042;2025-03-31;demission",
        "MAT-0043;15/04/2025;rupture_conventionnelle_salarie",
        "MAT-0044;2025-05-02;licenciement",
    ]
    assert all(code in KINDS for code in DEFAULT_VOLUNTARY)
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
