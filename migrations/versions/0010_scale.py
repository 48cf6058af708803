"""Scale: composite indexes for keyset pages, an index on every foreign key, daily stats tables

Revision ID: 0010_scale
Revises: 0003_idempotency
Create Date: 2026-12-03 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010_scale"
down_revision = "0006_risk_scale"
branch_labels = None
depends_on = None

EVALUATIONS = "public_id IS NOT NULL"
PREDICTION_INDEXES = {
    "ix_predictions_created_at_id": ["created_at", "id"],
    "ix_predictions_proba_id": ["prediction_proba", "id"],
    "ix_predictions_label_created_at": ["prediction_label", "created_at", "id"],
    "ix_predictions_label_proba": ["prediction_label", "prediction_proba", "id"],
    "ix_predictions_version_created_at": ["model_version", "created_at", "id"],
    "ix_predictions_version_proba": ["model_version", "prediction_proba", "id"],
}
OLD_PREDICTION_INDEXES = {
    "ix_predictions_created_at": ["created_at"],
    "ix_predictions_prediction_label": ["prediction_label"],
    "ix_predictions_prediction_proba": ["prediction_proba"],
    "ix_predictions_model_version": ["model_version"],
}


def upgrade():
    with op.batch_alter_table("inputs", schema=None) as batch_op:
        batch_op.create_index("ix_inputs_parent_input_id", ["parent_input_id"], unique=False)
        batch_op.create_index("ix_inputs_source_created_at", ["source", "created_at"], unique=False)
        batch_op.create_index("ix_inputs_user_id_created_at", ["user_id", "created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_inputs_evaluations_created_at",
            ["created_at", "id"],
            unique=False,
            postgresql_where=sa.text(EVALUATIONS),
            sqlite_where=sa.text(EVALUATIONS),
        )
        batch_op.drop_index("ix_inputs_source")  # five values: the composite index above serves its queries
        batch_op.drop_index("ix_inputs_user_id")  # the leading column of ix_inputs_user_id_created_at
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        for name, columns in PREDICTION_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
        for name in OLD_PREDICTION_INDEXES:
            batch_op.drop_index(name)
    op.create_table(
        "prediction_daily_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("prediction_label", sa.String(length=8), nullable=False),
        sa.Column("bin", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("proba_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source", "prediction_label", "bin", "model_version"),
    )
    op.create_table(
        "input_feature_daily_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("feature", sa.String(length=64), nullable=False),
        sa.Column("bin", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source", "feature", "bin"),
    )
    op.create_table(
        "stats_refreshes",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("through", sa.Date(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade():
    op.drop_table("stats_refreshes")
    op.drop_table("input_feature_daily_stats")
    op.drop_table("prediction_daily_stats")
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        for name, columns in OLD_PREDICTION_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
        for name in PREDICTION_INDEXES:
            batch_op.drop_index(name)
    with op.batch_alter_table("inputs", schema=None) as batch_op:
        batch_op.create_index("ix_inputs_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_inputs_source", ["source"], unique=False)
        batch_op.drop_index("ix_inputs_evaluations_created_at")
        batch_op.drop_index("ix_inputs_user_id_created_at")
        batch_op.drop_index("ix_inputs_source_created_at")
        batch_op.drop_index("ix_inputs_parent_input_id")
