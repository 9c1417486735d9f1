"""the overview's lists: each record type's records by the time they came in (newest first,
a page at a time), and the open deadlines by their due time (the late ones of a type)

Revision ID: 0023_overview_indexes
Revises: 0022_working_hours
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_overview_indexes"
down_revision = "0022_working_hours"
branch_labels = None
depends_on = None

RECEIVED = {
    "complaints": "received_at",
    "returns": "created_at",
    "consumer_complaints": "received_at",
    "defects": "reported_at",
    "rectifications": "raised_at",
}


def upgrade() -> None:
    for table, column in RECEIVED.items():
        op.create_index(f"ix_{table}_{column}_id", table, [column, "id"])
    op.create_index(
        "ix_deadlines_open_subject_due",
        "deadlines",
        ["subject_type", "due_at"],
        sqlite_where=sa.text("met_at IS NULL"),
        postgresql_where=sa.text("met_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deadlines_open_subject_due", table_name="deadlines")
    for table, column in RECEIVED.items():
        op.drop_index(f"ix_{table}_{column}_id", table_name=table)
