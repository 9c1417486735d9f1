"""defects carry the severity their repair deadline follows; vendors' contracts as master
data; maintenance visits recorded by the vendors' staff

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: SQLite keeps the table, and with it the triggers of 0008
    op.add_column("defects", sa.Column("severity", sa.String(length=16), nullable=True))
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("response_hours", sa.Integer(), nullable=True),
        sa.Column("repair_hours", sa.Integer(), nullable=True),
        sa.Column("visits_per_month", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["equipment_assets.id"], name=op.f("fk_contracts_asset_id_equipment_assets")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_contracts_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("number", name=op.f("uq_contracts_number")),
    )
    op.create_index(op.f("ix_contracts_vendor_id"), "contracts", ["vendor_id"], unique=False)
    op.create_table(
        "maintenance_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("visited_by_id", sa.Integer(), nullable=False),
        sa.Column("visited_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["equipment_assets.id"],
            name=op.f("fk_maintenance_visits_asset_id_equipment_assets"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_maintenance_visits_vendor_id_vendors")
        ),
        sa.ForeignKeyConstraint(
            ["visited_by_id"], ["users.id"], name=op.f("fk_maintenance_visits_visited_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_visits")),
    )
    op.create_index(
        "ix_maintenance_visits_vendor_at",
        "maintenance_visits",
        ["vendor_id", "visited_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_maintenance_visits_vendor_at", table_name="maintenance_visits")
    op.drop_table("maintenance_visits")
    op.drop_index(op.f("ix_contracts_vendor_id"), table_name="contracts")
    op.drop_table("contracts")
    op.drop_column("defects", "severity")  # not a batch: recreating the table drops triggers
