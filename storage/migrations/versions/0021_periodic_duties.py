"""each periodic duty is a record of its period, so one missed while down is made up once

Revision ID: 0021_periodic_duties
Revises: 0021_deployment_mode
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0021_periodic_duties"
down_revision = "0021_deployment_mode"
branch_labels = None
depends_on = None

TIME = storage.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "periodic_duties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("done_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periodic_duties")),
        sa.UniqueConstraint("kind", "period", name=op.f("uq_periodic_duties_kind")),
    )


def downgrade() -> None:
    op.drop_table("periodic_duties")
