"""« Vue équipes »: the evaluations of each employee reference in time order (the team view's latest per employee)

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


def upgrade():
    op.create_index(
        "ix_inputs_evaluations_ref_created_at",
        "inputs",
        ["employee_ref", "created_at", "id"],
        postgresql_where=EVALUATIONS,
        sqlite_where=EVALUATIONS,
    )


def downgrade():
    op.drop_index("ix_inputs_evaluations_ref_created_at", table_name="inputs")
