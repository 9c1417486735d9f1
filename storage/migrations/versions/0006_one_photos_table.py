"""complaint photos join the photos table that every record uses

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO photos (subject_type, subject_id, stage, telegram_file_id, added_by_id, "
        "added_at) SELECT 'complaint', complaint_id, stage, telegram_file_id, added_by_id, "
        "added_at FROM complaint_photos ORDER BY id"
    )
    with op.batch_alter_table("complaint_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_photos_complaint_id"))
    op.drop_table("complaint_photos")


def downgrade() -> None:
    op.create_table(
        "complaint_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("telegram_file_id", sa.String(length=200), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=False),
        sa.Column("added_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"],
                                name=op.f("fk_complaint_photos_added_by_id_users")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_complaint_photos_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_photos")),
    )
    with op.batch_alter_table("complaint_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_photos_complaint_id"), ["complaint_id"])
    op.execute(
        "INSERT INTO complaint_photos (complaint_id, stage, telegram_file_id, added_by_id, "
        "added_at) SELECT subject_id, stage, telegram_file_id, added_by_id, added_at FROM photos "
        "WHERE subject_type = 'complaint' ORDER BY id"
    )
    op.execute("DELETE FROM photos WHERE subject_type = 'complaint'")
