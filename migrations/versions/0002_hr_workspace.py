"""HR workspace: evaluation pages, authors and employee references; sessions that end; device-aware throttle

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:05:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_SOURCES = "source IN ('api', 'form', 'whatif', 'batch')"
NEW_SOURCES = "source IN ('api', 'form', 'whatif', 'batch', 'lot')"


def upgrade():
    with op.batch_alter_table("inputs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("employee_ref", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_inputs_public_id"), ["public_id"])
        batch_op.create_index(batch_op.f("ix_inputs_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inputs_employee_ref"), ["employee_ref"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_inputs_user_id_users"), "users", ["user_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.drop_constraint("ck_inputs_source", type_="check")
        batch_op.create_check_constraint("ck_inputs_source", NEW_SOURCES)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("session_token", sa.String(length=64), nullable=True))
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(users.update().where(users.c.id == user_id).values(session_token=secrets.token_hex(16)))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("session_token", existing_type=sa.String(length=64), nullable=False)

    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_login_failures_device"), ["device"], unique=False)


def downgrade():
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_device"))
        batch_op.drop_column("device")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_token")
        batch_op.drop_column("disabled_at")

    op.execute("DELETE FROM inputs WHERE source = 'lot'")
    with op.batch_alter_table("inputs", schema=None) as batch_op:
        batch_op.drop_constraint("ck_inputs_source", type_="check")
        batch_op.create_check_constraint("ck_inputs_source", OLD_SOURCES)
        batch_op.drop_constraint(batch_op.f("fk_inputs_user_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_inputs_employee_ref"))
        batch_op.drop_index(batch_op.f("ix_inputs_user_id"))
        batch_op.drop_constraint(batch_op.f("uq_inputs_public_id"), type_="unique")
        batch_op.drop_column("employee_ref")
        batch_op.drop_column("user_id")
        batch_op.drop_column("public_id")
