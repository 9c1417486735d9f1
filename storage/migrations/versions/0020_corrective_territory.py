"""a company fault's corrective and preventive actions with their owners; sales territories
(片區) of organisations, market-sales staff and their invitations

Revision ID: 0020_corrective_territory
Revises: 0020_complaint_received
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0020_corrective_territory"
down_revision = "0020_complaint_received"
branch_labels = None
depends_on = None

TIME = storage.models.UtcDateTime(timezone=True)
TERRITORY_TABLES = ("organisations", "users", "invitations")


def upgrade() -> None:
    for table in TERRITORY_TABLES:
        op.add_column(table, sa.Column("territory", sa.String(length=50), nullable=True))
    op.create_index(
        op.f("ix_organisations_territory"), "organisations", ["territory"], unique=False
    )
    op.create_table(
        "return_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("done_at", TIME, nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("done_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["return_id"], ["returns.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["opened_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["done_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("return_id", "kind"),
    )
    op.create_index(op.f("ix_return_actions_return_id"), "return_actions", ["return_id"])
    op.create_index(op.f("ix_return_actions_owner_id"), "return_actions", ["owner_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_return_actions_owner_id"), table_name="return_actions")
    op.drop_index(op.f("ix_return_actions_return_id"), table_name="return_actions")
    op.drop_table("return_actions")
    op.drop_index(op.f("ix_organisations_territory"), table_name="organisations")
    for table in TERRITORY_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("territory")
