"""defects carry the severity their repair deadline follows

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: SQLite keeps the table, and with it the triggers of 0008
    op.add_column("defects", sa.Column("severity", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("defects", "severity")  # not a batch: recreating the table drops triggers
