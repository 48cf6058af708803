"""Real employees of the reference data, as both payload shapes and as CSV exports, for the tests."""

import csv
import io

from futurisys.domain.schema import ID, RAW_NAMES, TARGET
from futurisys.ml.data import raw_records
from futurisys.ml.features import derive_features


def employee(employee_id: int) -> dict:
    """The raw HR record (27 fields) of a reference employee."""
    record = next(r for r in raw_records() if r[ID] == employee_id)
    return {name: record[name] for name in RAW_NAMES}


def left(employee_id: int) -> bool:
    """Whether that employee left the company."""
    return next(r for r in raw_records() if r[ID] == employee_id)[TARGET]


#: Employee 1 (left the company) as a raw HR record, and as the original API's 30-feature payload.
RAW = employee(1)
FEATURES = derive_features(RAW)

#: The reference employees in the CSV exports below.
IDS = (1, 2, 4, 5, 7)


def export_cell(name, value):
    """A value as an HR export writes it."""
    if name == "heure_supplementaires":
        return "Oui" if value else "Non"
    if name == "augementation_salaire_precedente":
        return f"{value} %"
    return str(value)


def raw_csv(rows=None, delimiter=";", encoding="cp1252") -> bytes:
    """An HR export: an employee number column, then the 27 raw columns."""
    rows = (
        rows
        if rows is not None
        else [[f"É-{i:03d}"] + [export_cell(n, employee(i)[n]) for n in RAW_NAMES] for i in IDS]
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["matricule", *RAW_NAMES])
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def french_csv(rows) -> bytes:
    """An export written with the form's wording: references, French labels and numbers."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["reference_salarie", "commentaire", *RAW_NAMES])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def french_row(i: int, reference: str, comment: str = "", **changes) -> list[str]:
    """A `french_csv` row: employee `i` with its reference and comment, `changes` replacing cells."""
    record = {n: export_cell(n, employee(i)[n]) for n in RAW_NAMES}
    record.update(changes)
    return [reference, comment, *(record[n] for n in RAW_NAMES)]
