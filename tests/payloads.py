"""Real employees of the reference data, as both payload shapes, for the tests."""

from futurisys.ml.data import raw_records
from futurisys.ml.features import derive_features
from futurisys.schema import ID, RAW_NAMES, TARGET


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
