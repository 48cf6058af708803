"""One real employee as the example of every documented input: the OpenAPI document and the /lot template file."""

from __future__ import annotations

from futurisys.domain import schema

#: Employee 1 of the reference data (who left the company), in the HR export's column order.
EXAMPLE_RAW = dict(
    zip(
        schema.RAW_NAMES,
        (41, "F", 5993, "Célibataire", "Commercial", "Cadre Commercial", 8, 8, 6, 4, 2, 3, 2, 4, 1, 1, 3, True, 11)
        + (0, 0, 1, 2, "Infra & Cloud", "Occasionnel", 0, 5),
        strict=True,
    )
)
#: The reference of the template file's example line (a real export has its own employee numbers there).
EXAMPLE_REFERENCE = "EXEMPLE-1"


def as_exported(record: dict) -> dict:
    """`record` as HR exports write it: booleans as their French label, percentages with « % »."""
    exported = dict(record)
    for field in schema.RAW_FIELDS:
        if field.kind == "bool":
            exported[field.name] = field.choice_label(record[field.name])
        elif field.accepts_percent:
            exported[field.name] = f"{record[field.name]} %"
    return exported
