"""outbox handed_at: several senders keep one pace per chat by the database's clock

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 12:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

import storage.models


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("handed_at", storage.models.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_outbox_chat_handed", ["chat_id", "handed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_chat_handed")
        batch_op.drop_column("handed_at")
