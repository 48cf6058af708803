"""Protected attributes optional (stored only when given); sessions logged out one by one

Revision ID: 0006_risk_scale
Revises: 0003_idempotency
Create Date: 2026-12-03 15:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006_risk_scale"
down_revision = "0009_compliance"
branch_labels = None
depends_on = None

#: Sex, marital status and age: the score never uses them; HR may leave them out.
PROTECTED = (("genre", sa.String(length=64)), ("statut_marital", sa.String(length=64)), ("age", sa.Integer()))


def upgrade():
    with op.batch_alter_table("inputs", schema=None) as batch_op:
        for name, type_ in PROTECTED:
            batch_op.alter_column(name, existing_type=type_, nullable=True)
    op.create_table(
        "ended_sessions",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id"),
    )
    with op.batch_alter_table("ended_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ended_sessions_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("ended_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ended_sessions_user_id"))
    op.drop_table("ended_sessions")
    # Rows stored without them cannot go back to NOT NULL columns; they are never deleted to make room.
    condition = " OR ".join(f"{name} IS NULL" for name, _ in PROTECTED)
    if op.get_bind().execute(sa.text(f"SELECT count(*) FROM inputs WHERE {condition}")).scalar():
        raise RuntimeError("inputs stored without a protected attribute: cannot make the columns required again")
    with op.batch_alter_table("inputs", schema=None) as batch_op:
        for name, type_ in PROTECTED:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
