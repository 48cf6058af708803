"""futurisys.domain.records: record checks free of Flask and WTForms; the schema says where "11 %" is accepted."""

import ast
from pathlib import Path

import pytest

from futurisys.domain import records, schema

ROOT = Path(__file__).resolve().parent.parent
WEB_LIBRARIES = {"flask", "flask_wtf", "flask_login", "flask_sqlalchemy", "wtforms", "werkzeug"}


def _source(module: str) -> Path:
    return ROOT / (module.replace(".", "/") + ".py")


def imported_modules(module: str) -> set[str]:
    """What `module` imports (in functions too), following the futurisys modules it imports, not the package's."""
    seen, pending = set(), [module]
    while pending:
        for node in ast.walk(ast.parse(_source(pending.pop()).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
            else:
                continue
            for name in names - seen:
                if _source(name).is_file():
                    seen.add(name)
                    pending.append(name)
                elif not name.startswith("futurisys"):
                    seen.add(name)
    return seen


def test_records_imports_neither_flask_nor_wtforms():
    imported = imported_modules("futurisys.domain.records")
    assert {
        "futurisys.domain.schema",
        "futurisys.domain.formatting",
        "futurisys.ml.features",
        "unicodedata",
    } <= imported
    assert {name.split(".")[0] for name in imported} & WEB_LIBRARIES == set()
    assert "wtforms" in {name.split(".")[0] for name in imported_modules("futurisys.web.forms")}  # the check bites


def test_percent_is_accepted_only_where_the_schema_says_so():
    raise_field = schema.raw_field("augementation_salaire_precedente")
    assert raise_field.accepts_percent and records.parse_value(raise_field, " 11 % ") == 11
    assert [f.name for f in schema.RAW_FIELDS + schema.FEATURES if f.accepts_percent] == [raise_field.name]
    with pytest.raises(ValueError, match="^Doit être un nombre entier.$"):
        records.parse_value(schema.raw_field("age"), "41 %")
