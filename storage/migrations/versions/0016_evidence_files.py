"""evidence files: each photo or document is downloaded into the file store, by its SHA-256

Revision ID: 0016
Revises: 0017
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0016"
down_revision = "0017"
branch_labels = None
depends_on = None

MESSAGE = "records are kept: this change is refused"

# Filled once the file is downloaded, then fixed like the row's other facts (0008): a stored
# file's hash, size, type and time never change. The download bookkeeping stays updatable.
SET_ONCE = ("sha256", "size", "mime_type", "stored_at")


def _changed(columns: tuple[str, ...], postgresql: bool) -> str:
    differs = "IS DISTINCT FROM" if postgresql else "IS NOT"
    return " OR ".join(f"NEW.{c} {differs} OLD.{c}" for c in columns)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # plain ADD COLUMN (no table copy): the triggers of 0008 on photos stay in place
    op.add_column("photos", sa.Column("kind", sa.String(length=16), nullable=True))
    op.add_column("photos", sa.Column("sha256", sa.String(length=64), nullable=True))
    op.add_column("photos", sa.Column("size", sa.BigInteger(), nullable=True))
    op.add_column("photos", sa.Column("mime_type", sa.String(length=100), nullable=True))
    op.add_column(
        "photos",
        sa.Column("stored_at", storage.models.UtcDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "photos",
        sa.Column("download_attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "photos",
        sa.Column(
            "next_download_at", storage.models.UtcDateTime(timezone=True), nullable=True
        ),
    )
    op.add_column("photos", sa.Column("download_error", sa.Text(), nullable=True))
    # rows kept before this revision are still to be downloaded, at once
    op.execute("UPDATE photos SET kind = 'photo', next_download_at = added_at")
    # the download job's only read: files not yet stored whose next attempt is due
    op.create_index(
        "ix_photos_pending_download",
        "photos",
        ["next_download_at"],
        unique=False,
        sqlite_where=sa.text("sha256 IS NULL"),
        postgresql_where=sa.text("sha256 IS NULL"),
    )
    op.create_index(op.f("ix_photos_sha256"), "photos", ["sha256"], unique=False)
    when = " OR ".join(
        f"(OLD.{c} IS NOT NULL AND ({_changed((c,), postgresql)}))" for c in SET_ONCE
    ) + f" OR (OLD.kind IS NOT NULL AND ({_changed(('kind',), postgresql)}))"
    if postgresql:
        op.execute(
            "CREATE TRIGGER photos_set_once BEFORE UPDATE ON photos FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION records_kept()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER photos_set_once BEFORE UPDATE ON photos WHEN {when} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(f"DROP TRIGGER IF EXISTS photos_set_once{' ON photos' if postgresql else ''}")
    op.drop_index(op.f("ix_photos_sha256"), table_name="photos")
    op.drop_index("ix_photos_pending_download", table_name="photos")
    for column in (
        "download_error",
        "next_download_at",
        "download_attempts",
        "stored_at",
        "mime_type",
        "size",
        "sha256",
        "kind",
    ):
        op.drop_column("photos", column)
