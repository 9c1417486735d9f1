"""a person's own working hours, within which routine reminders reach them, and whether their
list of what waits on them comes at the start of each working day

Revision ID: 0022_working_hours
Revises: 0021_periodic_duties
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_working_hours"
down_revision = "0021_periodic_duties"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("working_hours", sa.String(length=11), nullable=True))
        batch_op.add_column(
            sa.Column("daily_list", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("daily_list")
        batch_op.drop_column("working_hours")
