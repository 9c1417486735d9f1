"""a maintenance visit is declared by the vendor and confirmed or disputed by the system's staff

Revision ID: 0020_verified_visits
Revises: 0020_improvement_proposals
Create Date: 2026-12-06
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0020_verified_visits"
down_revision = "0020_improvement_proposals"
branch_labels = None
depends_on = None

TIME = storage.models.UtcDateTime(timezone=True)


def _migration(file_name: str):  # type: ignore[no-untyped-def]
    """An earlier migration, whose column helper this one reuses."""
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RETURNS = _migration("0013_returns_and_exchanges.py")


def upgrade() -> None:
    op.add_column(
        "maintenance_visits",
        sa.Column("status", sa.String(length=16), server_default="declared", nullable=False),
    )
    # Visits recorded before staff confirmed them were accepted as declared and counted in the
    # scores already sent: they keep counting, so the first chase after the upgrade does not
    # chase every contracted asset for months kept under the old rule. Who verified stays empty.
    op.execute("UPDATE maintenance_visits SET status = 'confirmed'")
    RETURNS._add(
        "maintenance_visits",
        {"verified_by_id": (sa.Integer(), "users"), "verified_at": (TIME, None)},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(
            "fk_maintenance_visits_verified_by_id_users", "maintenance_visits", type_="foreignkey"
        )
    for column in ("verified_at", "verified_by_id", "status"):
        op.execute(f"ALTER TABLE maintenance_visits DROP COLUMN {column}")
