"""invitations keep only a hash of their code; failed redemptions are counted

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import hashlib

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    for invitation_id, code in connection.execute(sa.text("SELECT id, code FROM invitations")):
        connection.execute(
            sa.text("UPDATE invitations SET code_hash = :hash WHERE id = :id"),
            {"hash": hashlib.sha256(code.encode()).hexdigest(), "id": invitation_id},
        )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.alter_column("code_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint(batch_op.f("uq_invitations_code"), type_="unique")
        batch_op.drop_column("code")
        batch_op.create_unique_constraint(batch_op.f("uq_invitations_code_hash"), ["code_hash"])

    op.create_table(
        "failed_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_redemptions")),
    )
    with op.batch_alter_table("failed_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_failed_redemptions_telegram_id"), ["telegram_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("failed_redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_failed_redemptions_telegram_id"))
    op.drop_table("failed_redemptions")
    # The codes cannot be recovered from their hashes: open invitations stop working.
    op.execute("DELETE FROM invitations WHERE redeemed_at IS NULL")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=32), nullable=True))
    op.execute("UPDATE invitations SET code = substr(code_hash, 1, 32)")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_constraint(batch_op.f("uq_invitations_code_hash"), type_="unique")
        batch_op.drop_column("code_hash")
        batch_op.create_unique_constraint(batch_op.f("uq_invitations_code"), ["code"])
