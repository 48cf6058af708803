"""An index on each foreign key that had none (deleting the row it points at no longer scans the table)

Revision ID: 0020_foreign_key_indexes
Revises: 0019_feature_totals
Create Date: 2026-12-08 03:50:00

"""

from alembic import op

revision = "0020_foreign_key_indexes"
down_revision = "0019_feature_totals"
branch_labels = None
depends_on = None

# (table, column): idempotency_keys is the one that grows with traffic (a purge deletes predictions it points at);
# the others point at users or model versions, rarely deleted, and are indexed so no delete ever scans.
FOREIGN_KEYS = [
    ("idempotency_keys", "prediction_id"),
    ("departure_changes", "user_id"),
    ("evaluation_decisions", "user_id"),
    ("engaged_actions", "user_id"),
    ("model_aliases", "version_id"),
    ("model_alias_events", "from_version_id"),
    ("model_alias_events", "to_version_id"),
]


def upgrade():
    for table, column in FOREIGN_KEYS:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade():
    for table, column in reversed(FOREIGN_KEYS):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
