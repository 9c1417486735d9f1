"""the after-sales head's monthly review of consumer complaints: improvement proposals (4.3.4)
and the month's information passed on to the business head (4.4)

Revision ID: 0020_improvement_proposals
Revises: 0019_udi_returns
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0020_improvement_proposals"
down_revision = "0019_udi_returns"
branch_labels = None
depends_on = None

TIME = storage.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consumer_monthly_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("requested_at", TIME, nullable=False),
        sa.Column("proposals", sa.Text(), nullable=True),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("proposed_at", TIME, nullable=True),
        sa.Column("forwarded_by_id", sa.Integer(), nullable=True),
        sa.Column("forwarded_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["users.id"],
            name=op.f("fk_consumer_monthly_reviews_proposed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["forwarded_by_id"],
            ["users.id"],
            name=op.f("fk_consumer_monthly_reviews_forwarded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_monthly_reviews")),
        sa.UniqueConstraint("period", name=op.f("uq_consumer_monthly_reviews_period")),
    )


def downgrade() -> None:
    op.drop_table("consumer_monthly_reviews")
