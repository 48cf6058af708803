"""Protected attributes optional (stored only when given)

Revision ID: 0006_risk_scale
Revises: 0003_idempotency
Create Date: 2026-12-03 15:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006_risk_scale"
down_revision = "0003_idempotency"
branch_labels = None
depends_on = None

#: Sex, marital status and age: the score never uses them; HR may leave them out.
PROTECTED = (("genre", sa.String(length=64)), ("statut_marital", sa.String(length=64)), ("age", sa.Integer()))


def upgrade():
    with op.batch_alter_table("inputs", schema=None) as batch_op:
        for name, type_ in PROTECTED:
            batch_op.alter_column(name, existing_type=type_, nullable=True)


def downgrade():
    # Rows stored without them cannot go back to NOT NULL columns; they are never deleted to make room.
    condition = " OR ".join(f"{name} IS NULL" for name, _ in PROTECTED)
    if op.get_bind().execute(sa.text(f"SELECT count(*) FROM inputs WHERE {condition}")).scalar():
        raise RuntimeError("inputs stored without a protected attribute: cannot make the columns required again")
    with op.batch_alter_table("inputs", schema=None) as batch_op:
        for name, type_ in PROTECTED:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
