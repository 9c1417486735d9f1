"""which way a database has been run: with a BOT_TOKEN (Telegram) or as the local demo

Revision ID: 0021_deployment_mode
Revises: 0020_return_receipt
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0021_deployment_mode"
down_revision = "0020_return_receipt"
branch_labels = None
depends_on = None

TIME = storage.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deployment_mode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_mode")),
    )


def downgrade() -> None:
    op.drop_table("deployment_mode")
