"""products gain the ledger's fields (規格型號, 生產企業, 註冊證號); report approvals

Revision ID: 0017
Revises: 0012
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0017"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no table copy), as 0011 does
    op.add_column("products", sa.Column("specification", sa.String(length=200), nullable=True))
    op.add_column("products", sa.Column("manufacturer", sa.String(length=200), nullable=True))
    op.add_column(
        "products", sa.Column("registration_number", sa.String(length=100), nullable=True)
    )
    op.create_table(
        "report_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("conclusion", sa.Text(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=False),
        sa.Column("approved_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_report_approvals_approved_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_approvals")),
        sa.UniqueConstraint("kind", "period", name=op.f("uq_report_approvals_kind")),
    )


def downgrade() -> None:
    op.drop_table("report_approvals")
    with op.batch_alter_table("products") as batch_op:
        batch_op.drop_column("registration_number")
        batch_op.drop_column("manufacturer")
        batch_op.drop_column("specification")
