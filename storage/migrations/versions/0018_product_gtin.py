"""products gain their GTIN, by which a scanned UDI label finds the product

Revision ID: 0018
Revises: 0014
Create Date: 2026-11-26 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gtin", sa.String(length=14), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_products_gtin"), ["gtin"])


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_products_gtin"), type_="unique")
        batch_op.drop_column("gtin")
