"""returns and exchanges (P2): the request's totals and exchange-ratio check, the three
signatures, the leader's special case, the transport order and the goods' way back, QC's
inspection, the booking in with its exchange or refund, and the return slip

Revision ID: 0013
Revises: 0016
Create Date: 2026-11-28
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0013"
down_revision = "0016"
branch_labels = None
depends_on = None

MESSAGE = "records are kept: this change is refused"
TIME = storage.models.UtcDateTime(timezone=True)

# returns' new columns: name -> (type, the table a user id refers to, if any)
RETURN_COLUMNS: dict[str, tuple[sa.types.TypeEngine, str | None]] = {
    "channel": (sa.String(length=16), None),
    "filed_by_id": (sa.Integer(), "users"),
    "goods_on_hold": (sa.Boolean(), None),
    "total_quantity": (sa.Integer(), None),
    "total_amount": (sa.Numeric(precision=14, scale=2), None),
    "exchanged_amount": (sa.Numeric(precision=14, scale=2), None),
    "purchased_amount": (sa.Numeric(precision=14, scale=2), None),
    "ratio_limit": (sa.Numeric(precision=6, scale=4), None),
    "window_days": (sa.Integer(), None),
    "ratio_inside": (sa.Boolean(), None),
    "refused_at": (TIME, None),
    "refusal": (sa.String(length=24), None),
    "leader_decision": (sa.String(length=16), None),
    "leader_by_id": (sa.Integer(), "users"),
    "leader_at": (TIME, None),
    "order_issued_at": (TIME, None),
    "order_issued_by_id": (sa.Integer(), "users"),
    "picked_up_at": (TIME, None),
    "picked_up_by_id": (sa.Integer(), "users"),
    "delivered_at": (TIME, None),
    "delivered_by_id": (sa.Integer(), "users"),
    "inspection_result": (sa.String(length=24), None),
    "inspection_notes": (sa.Text(), None),
    "responsible_department": (sa.String(length=100), None),
    "responsible_person": (sa.String(length=100), None),
    "inspected_at": (TIME, None),
    "inspected_by_id": (sa.Integer(), "users"),
    "corrective_done_at": (TIME, None),
    "corrective_done_by_id": (sa.Integer(), "users"),
    "booked_in_at": (TIME, None),
    "booked_in_by_id": (sa.Integer(), "users"),
    "settlement": (sa.String(length=16), None),
    "settled_at": (TIME, None),
    "settled_by_id": (sa.Integer(), "users"),
    "credit_amount": (sa.Numeric(precision=14, scale=2), None),
    "slip_sent_at": (TIME, None),
    "slip_sent_by_id": (sa.Integer(), "users"),
}
LINE_COLUMNS: dict[str, tuple[sa.types.TypeEngine, str | None]] = {
    "replacement_batch_id": (sa.Integer(), "batches"),
    "replacement_quantity": (sa.Integer(), None),
}
# Every step of a return is a fact once taken: its columns start empty and, once given, stay
# (the reason, never empty, stays as filed). The status moves on.
SET_ONCE: dict[str, tuple[str, ...]] = {
    "returns": ("reason", *(c for c in RETURN_COLUMNS)),
    "return_lines": ("product_id", "batch_id", "quantity", "amount", *LINE_COLUMNS),
}


def _records_kept_0011():  # type: ignore[no-untyped-def]
    """Migration 0011, whose trigger helpers this one reuses for the tables it keeps."""
    path = Path(__file__).with_name("0011_inspection_findings_assessments_systems.py")
    spec = importlib.util.spec_from_file_location("records_kept_0011", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KEPT = _records_kept_0011()
_changed, _refuse_update = KEPT._changed, KEPT._refuse_update


def _add(table: str, columns: dict[str, tuple[sa.types.TypeEngine, str | None]]) -> None:
    """Plain ADD COLUMN (no table copy): the triggers of 0008 on the table stay in place."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, (kind, refers_to) in columns.items():
        if refers_to is None:
            op.add_column(table, sa.Column(name, kind, nullable=True))
        elif postgresql:
            op.add_column(
                table,
                sa.Column(
                    name,
                    kind,
                    sa.ForeignKey(
                        f"{refers_to}.id", name=op.f(f"fk_{table}_{name}_{refers_to}")
                    ),
                    nullable=True,
                ),
            )
        else:  # SQLite adds a column-level reference in place; alembic would copy the table
            op.execute(f"ALTER TABLE {table} ADD COLUMN {name} INTEGER REFERENCES {refers_to} (id)")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _add("returns", RETURN_COLUMNS)
    _add("return_lines", LINE_COLUMNS)
    op.create_table(
        "return_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=16), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=False),
        sa.Column("signed_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_return_signatures_return_id_returns")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["users.id"], name=op.f("fk_return_signatures_signed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_signatures")),
        sa.UniqueConstraint("return_id", "slot", name=op.f("uq_return_signatures_return_id")),
    )
    with op.batch_alter_table("return_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_return_signatures_return_id"), ["return_id"], unique=False
        )
    # the returns a nonconforming complaint started so far wait for the after-sales head
    op.execute("UPDATE returns SET status = 'awaiting_after_sales' WHERE status = 'requested'")
    op.execute("UPDATE returns SET channel = 'complaint' WHERE complaint_id IS NOT NULL")

    # a signature is kept whole, as the records of 0008
    if postgresql:
        for event, each, name in (
            ("DELETE", "ROW", "no_delete"),
            ("TRUNCATE", "STATEMENT", "no_truncate"),
        ):
            op.execute(
                f"CREATE TRIGGER return_signatures_{name} BEFORE {event} ON return_signatures "
                f"FOR EACH {each} EXECUTE FUNCTION records_kept()"
            )
    else:
        op.execute(
            "CREATE TRIGGER return_signatures_no_delete BEFORE DELETE ON return_signatures "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
    _refuse_update(
        "return_signatures",
        "return_signatures_facts_fixed",
        "TRUE" if postgresql else "1",
        postgresql,
    )
    for table, columns in SET_ONCE.items():
        when = " OR ".join(
            f"(OLD.{column} IS NOT NULL AND ({_changed((column,), postgresql)}))"
            for column in columns
        )
        _refuse_update(table, f"{table}_set_once", when, postgresql)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in SET_ONCE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_set_once{' ON ' + table if postgresql else ''}")
    on = " ON return_signatures" if postgresql else ""
    for name in ("no_delete", "facts_fixed", "no_truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS return_signatures_{name}{on}")
    with op.batch_alter_table("return_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_signatures_return_id"))
    op.drop_table("return_signatures")
    op.execute("UPDATE returns SET status = 'requested'")
    for table, columns in (("return_lines", LINE_COLUMNS), ("returns", RETURN_COLUMNS)):
        for name, (_, refers_to) in columns.items():
            if postgresql and refers_to is not None:
                op.drop_constraint(f"fk_{table}_{name}_{refers_to}", table, type_="foreignkey")
            op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
