"""a complaint keeps how it was received: as a complaint or an inquiry (查詢, 情況反映), the
answer an inquiry got, and when quality judged an inquiry a quality complaint

Revision ID: 0020_complaint_received
Revises: 0020_verified_visits
Create Date: 2026-12-06
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0020_complaint_received"
down_revision = "0020_verified_visits"
branch_labels = None
depends_on = None

TIME = storage.models.UtcDateTime(timezone=True)
COLUMNS: dict[str, tuple[sa.types.TypeEngine, str | None]] = {
    "answer": (sa.Text(), None),
    "answered_at": (TIME, None),
    "answered_by_id": (sa.Integer(), "users"),
    "judged_at": (TIME, None),
    "judged_by_id": (sa.Integer(), "users"),
}


def _migration(file_name: str):  # type: ignore[no-untyped-def]
    """An earlier migration, whose helpers this one reuses."""
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RETURNS = _migration("0013_returns_and_exchanges.py")


def upgrade() -> None:
    # plain ADD COLUMN (no table copy): the complaints' triggers stay in place
    op.add_column(
        "complaints",
        sa.Column("received_as", sa.String(length=16), server_default="complaint", nullable=False),
    )
    RETURNS._add("complaints", COLUMNS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in ("answered_by_id", "judged_by_id"):
            op.drop_constraint(f"fk_complaints_{column}_users", "complaints", type_="foreignkey")
    for column in (*reversed(COLUMNS), "received_as"):
        op.execute(f"ALTER TABLE complaints DROP COLUMN {column}")
