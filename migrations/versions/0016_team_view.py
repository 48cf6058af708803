"""« Vue équipes »: each reference's evaluations in time order (the latest per employee), and those without one

Revision ID: 0016_team_view
Revises: 0015_registry
Create Date: 2026-12-06 22:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0016_team_view"
down_revision = "0015_registry"
branch_labels = None
depends_on = None

EVALUATIONS = sa.text("public_id IS NOT NULL")
UNREFERENCED = sa.text("public_id IS NOT NULL AND employee_ref IS NULL")


def upgrade():
    op.create_index(
        "ix_inputs_evaluations_ref_created_at",
        "inputs",
        ["employee_ref", "created_at", "id"],
        postgresql_include=["departement", "poste", "source", "user_id"],
        postgresql_where=EVALUATIONS,
        sqlite_where=EVALUATIONS,
    )
    op.create_index(
        "ix_inputs_unreferenced_evaluations",
        "inputs",
        ["created_at"],
        postgresql_where=UNREFERENCED,
        sqlite_where=UNREFERENCED,
    )


def downgrade():
    op.drop_index("ix_inputs_unreferenced_evaluations", table_name="inputs")
    op.drop_index("ix_inputs_evaluations_ref_created_at", table_name="inputs")
