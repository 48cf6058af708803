"""The Alembic revisions build the schema from empty, go back down to nothing, and agree with the models."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from futurisys.extensions import db
from tests.support import PG_ADMIN_URL, PG_TEST_DB, make_app


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"{PG_TEST_DB}_migrations"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def table_names(app):
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


def test_upgrade_from_empty_then_downgrade_to_base(empty_database_url, bundle_dir):
    app = make_app(empty_database_url, bundle_dir)
    assert table_names(app) == set()
    with app.app_context():
        upgrade()
    assert {"employees_dataset", "inputs", "predictions", "users", "login_failures", "api_keys"} <= table_names(app)
    with app.app_context():
        downgrade(revision="base")
    assert table_names(app) <= {"alembic_version"}
    with app.app_context():
        upgrade()
        db.engine.dispose()
    assert "predictions" in table_names(app)


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def unindexed_foreign_keys(inspector) -> list[str]:
    """The foreign keys no index (primary key and unique constraints included) starts with: deleting a row they
    point at would scan their whole table."""
    missing = []
    for table in inspector.get_table_names():
        leads = [index["column_names"] for index in inspector.get_indexes(table)]
        leads.append(inspector.get_pk_constraint(table)["constrained_columns"])
        leads += [unique["column_names"] for unique in inspector.get_unique_constraints(table)]
        for key in inspector.get_foreign_keys(table):
            columns = key["constrained_columns"]
            if not any(lead[: len(columns)] == columns for lead in leads):
                missing.append(f"{table}({', '.join(columns)}) → {key['referred_table']}")
    return missing


def test_every_foreign_key_has_an_index(app):
    with app.app_context():
        missing = unindexed_foreign_keys(sa.inspect(db.engine))
    assert missing == [], "\n".join(missing)
