"""Idempotency keys written with their prediction (prediction_id), no claims left behind

Revision ID: 0004_hardening
Revises: 0003_idempotency
Create Date: 2026-12-03 15:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004_hardening"
down_revision = "0010_scale"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prediction_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_idempotency_keys_prediction_id_predictions",
            "predictions",
            ["prediction_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade():
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_constraint("fk_idempotency_keys_prediction_id_predictions", type_="foreignkey")
        batch_op.drop_column("prediction_id")
