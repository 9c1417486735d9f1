"""a return keeps when it was received, its receipt (確認簽收) and finance's review

Revision ID: 0020_return_receipt
Revises: 0020_return_slip_chain
Create Date: 2026-12-06
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0020_return_receipt"
down_revision = "0020_return_slip_chain"
branch_labels = None
depends_on = None

TIME = storage.models.UtcDateTime(timezone=True)
RECEIPT_COLUMNS: dict[str, tuple[sa.types.TypeEngine, str | None]] = {
    "received_at": (TIME, None),
    "receipt_confirmed_at": (TIME, None),
    "receipt_confirmed_by_id": (sa.Integer(), "users"),
    "finance_review": (sa.String(length=16), None),
    "finance_review_note": (sa.Text(), None),
    "finance_reviewed_at": (TIME, None),
    "finance_reviewed_by_id": (sa.Integer(), "users"),
}
FOREIGN_KEYS = ("receipt_confirmed_by_id", "finance_reviewed_by_id")


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
SLIP_CHAIN = _migration("0020_return_slip_chain.py")
SET_ONCE_BEFORE = (*SLIP_CHAIN.SET_ONCE_BEFORE, *SLIP_CHAIN.CHAIN_COLUMNS)


def _set_once(columns: tuple[str, ...]) -> None:
    """(Re)create the trigger that keeps each step of a return, once given, as it was."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    on_returns = " ON returns" if postgresql else ""
    op.execute(f"DROP TRIGGER IF EXISTS returns_set_once{on_returns}")
    when = " OR ".join(
        f"(OLD.{column} IS NOT NULL AND ({RETURNS._changed((column,), postgresql)}))"
        for column in columns
    )
    RETURNS._refuse_update("returns", "returns_set_once", when, postgresql)


def upgrade() -> None:
    # plain ADD COLUMN (no table copy): the table's triggers stay in place
    RETURNS._add("returns", RECEIPT_COLUMNS)
    # requests filed before were received when they were filed
    op.execute("UPDATE returns SET received_at = created_at WHERE received_at IS NULL")
    _set_once((*SET_ONCE_BEFORE, *RECEIPT_COLUMNS))


def downgrade() -> None:
    _set_once(SET_ONCE_BEFORE)
    if op.get_bind().dialect.name == "postgresql":
        for column in FOREIGN_KEYS:
            op.drop_constraint(f"fk_returns_{column}_users", "returns", type_="foreignkey")
    for column in reversed(RECEIPT_COLUMNS):
        op.execute(f"ALTER TABLE returns DROP COLUMN {column}")
