"""a consumer complaint keeps the lot its label named; a return keeps the business head's refusal

Revision ID: 0019_udi_returns
Revises: 0019
Create Date: 2026-11-26
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0019_udi_returns"
down_revision = "0019"
branch_labels = None
depends_on = None

TIME = storage.models.UtcDateTime(timezone=True)
REFUSAL_COLUMNS: dict[str, tuple[sa.types.TypeEngine, str | None]] = {
    "business_refusal": (sa.Text(), None),
    "business_refused_by_id": (sa.Integer(), "users"),
    "business_refused_at": (TIME, None),
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
CONSUMER = _migration("0014_consumer_complaints_deadline_people.py")


def _triggers(facts: tuple[str, ...], set_once: tuple[str, ...]) -> None:
    """(Re)create the two triggers whose column lists grow here: a consumer complaint's facts,
    fixed once filed, and a return's steps, set once."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    on_consumer = " ON consumer_complaints" if postgresql else ""
    on_returns = " ON returns" if postgresql else ""
    op.execute(f"DROP TRIGGER IF EXISTS consumer_complaints_facts_fixed{on_consumer}")
    CONSUMER._refuse_update(
        "consumer_complaints_facts_fixed", CONSUMER._changed(facts, postgresql), postgresql
    )
    op.execute(f"DROP TRIGGER IF EXISTS returns_set_once{on_returns}")
    when = " OR ".join(
        f"(OLD.{column} IS NOT NULL AND ({RETURNS._changed((column,), postgresql)}))"
        for column in set_once
    )
    RETURNS._refuse_update("returns", "returns_set_once", when, postgresql)


def upgrade() -> None:
    # plain ADD COLUMN (no table copy): the tables' triggers stay in place
    RETURNS._add("consumer_complaints", {"batch_id": (sa.Integer(), "batches")})
    RETURNS._add("returns", REFUSAL_COLUMNS)
    _triggers((*CONSUMER.FACTS, "batch_id"), (*RETURNS.SET_ONCE["returns"], *REFUSAL_COLUMNS))


def downgrade() -> None:
    _triggers(CONSUMER.FACTS, RETURNS.SET_ONCE["returns"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    # DROP COLUMN without a table copy; the foreign keys go first on PostgreSQL
    if postgresql:
        op.drop_constraint(
            "fk_returns_business_refused_by_id_users", "returns", type_="foreignkey"
        )
        op.drop_constraint(
            "fk_consumer_complaints_batch_id_batches", "consumer_complaints", type_="foreignkey"
        )
    for column in reversed(REFUSAL_COLUMNS):
        op.execute(f"ALTER TABLE returns DROP COLUMN {column}")
    op.execute("ALTER TABLE consumer_complaints DROP COLUMN batch_id")
