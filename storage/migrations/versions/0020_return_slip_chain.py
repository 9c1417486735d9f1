"""a return keeps its slip chain: the station's arrival notice, the transport order's station,
the marketing statistician's tally and how the marketing clerk sent the slip

Revision ID: 0020_return_slip_chain
Revises: 0020_corrective_territory
Create Date: 2026-12-06
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0020_return_slip_chain"
down_revision = "0020_corrective_territory"
branch_labels = None
depends_on = None

TIME = storage.models.UtcDateTime(timezone=True)
CHAIN_COLUMNS: dict[str, tuple[sa.types.TypeEngine, str | None]] = {
    "station_notice_at": (TIME, None),
    "station_notice_by_id": (sa.Integer(), "users"),
    "transport_station": (sa.String(length=100), None),
    "tallied_at": (TIME, None),
    "tallied_by_id": (sa.Integer(), "users"),
    "tallied_quantity": (sa.Integer(), None),
    "tallied_amount": (sa.Numeric(precision=14, scale=2), None),
    "slip_channel": (sa.String(length=16), None),
}


def _migration(file_name: str):  # type: ignore[no-untyped-def]
    """An earlier migration, whose helpers and column lists this one reuses."""
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RETURNS = _migration("0013_returns_and_exchanges.py")
UDI = _migration("0019_udi_returns.py")
SET_ONCE_BEFORE = (*RETURNS.SET_ONCE["returns"], *UDI.REFUSAL_COLUMNS)


def _set_once(columns: tuple[str, ...]) -> None:
    """(Re)create the trigger that keeps a return's steps, once taken, as they were."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(f"DROP TRIGGER IF EXISTS returns_set_once{' ON returns' if postgresql else ''}")
    when = " OR ".join(
        f"(OLD.{column} IS NOT NULL AND ({RETURNS._changed((column,), postgresql)}))"
        for column in columns
    )
    RETURNS._refuse_update("returns", "returns_set_once", when, postgresql)


def upgrade() -> None:
    # plain ADD COLUMN (no table copy): the table's triggers stay in place
    RETURNS._add("returns", CHAIN_COLUMNS)
    _set_once((*SET_ONCE_BEFORE, *CHAIN_COLUMNS))
    # the slip is now the marketing clerk's (4.2.9): a slip still due from a booking in before
    # this version is theirs to send, once the statistician has tallied the return
    op.execute(
        "UPDATE deadlines SET responsible_role = 'marketing_clerk' "
        "WHERE kind = 'return_slip' AND met_at IS NULL"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE deadlines SET responsible_role = 'warehouse' "
        "WHERE kind = 'return_slip' AND met_at IS NULL"
    )
    _set_once(SET_ONCE_BEFORE)
    if op.get_bind().dialect.name == "postgresql":
        for column in ("station_notice_by_id", "tallied_by_id"):
            op.drop_constraint(f"fk_returns_{column}_users", "returns", type_="foreignkey")
    for column in reversed(CHAIN_COLUMNS):
        op.execute(f"ALTER TABLE returns DROP COLUMN {column}")
