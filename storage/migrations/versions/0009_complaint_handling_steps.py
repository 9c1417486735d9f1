"""complaint handling steps: waived deadlines, complaints about goods not on file, product holds
with their confirmations, supplier answers, nonconforming-goods hand-offs, buyer notice tasks

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _records_kept():  # type: ignore[no-untyped-def]
    """Migration 0008, whose trigger text this one reuses for the tables it rebuilds."""
    path = Path(__file__).with_name("0008_records_kept.py")
    spec = importlib.util.spec_from_file_location("records_kept_0008", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KEPT = _records_kept()
FACTS_BEFORE = {table: KEPT.FACTS[table] for table in ("complaints", "batch_holds")}
FACTS_AFTER = {
    "complaints": (*KEPT.FACTS["complaints"], "product_text", "lot_text", "shipment_on_file"),
    "batch_holds": (*KEPT.FACTS["batch_holds"], "product_id", "scope"),
    "buyer_notice_tasks": ("complaint_id", "organisation_id", "created_at"),
}


def _keep(table: str, facts: tuple[str, ...], postgresql: bool, *, new_table: bool) -> None:
    """The triggers of 0008 on `table`. SQLite loses a table's triggers when the batch mode
    rebuilds it, so they are all made again there; PostgreSQL keeps its delete and truncate
    triggers, and only the list of facts changes."""
    when = KEPT._changed(facts, postgresql)
    if postgresql:
        if new_table:
            for event, each in (("DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
                name = "no_delete" if event == "DELETE" else "no_truncate"
                op.execute(
                    f"CREATE TRIGGER {table}_{name} BEFORE {event} ON {table} "
                    f"FOR EACH {each} EXECUTE FUNCTION records_kept()"
                )
        op.execute(f"DROP TRIGGER IF EXISTS {table}_facts_fixed ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_facts_fixed BEFORE UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION records_kept()"
        )
        return
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_facts_fixed")
    op.execute(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{KEPT.MESSAGE}'); END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_facts_fixed BEFORE UPDATE ON {table} WHEN {when} "
        f"BEGIN SELECT RAISE(ABORT, '{KEPT.MESSAGE}'); END"
    )


# On SQLite the batch mode rebuilds complaints, which other tables refer to: storage.db.migrate
# runs migrations with foreign keys off and checks them before committing.
def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_as", sa.String(length=16), nullable=True))
    op.execute("UPDATE deadlines SET closed_as = 'met' WHERE met_at IS NOT NULL")

    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.alter_column("product_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("batch_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("product_text", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("lot_text", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("shipment_on_file", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("supplier_answer", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "supplier_answer_at", storage.models.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("supplier_answer_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("handoff_at", storage.models.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("handoff_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("handoff_outcome", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("handoff_notes", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_complaints_supplier_answer_by_id_users"),
            "users",
            ["supplier_answer_by_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_complaints_handoff_by_id_users"), "users", ["handoff_by_id"], ["id"]
        )
    _keep("complaints", FACTS_AFTER["complaints"], postgresql, new_table=False)

    with op.batch_alter_table("batch_holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scope", sa.String(length=8), nullable=True))
    # the holds placed so far were on one lot
    op.execute(
        "UPDATE batch_holds SET scope = 'lot', product_id = "
        "(SELECT product_id FROM batches WHERE batches.id = batch_holds.batch_id)"
    )
    with op.batch_alter_table("batch_holds", schema=None) as batch_op:
        batch_op.alter_column("product_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("scope", existing_type=sa.String(length=8), nullable=False)
        batch_op.alter_column("batch_id", existing_type=sa.Integer(), nullable=True)
        for step in ("outbound_stopped", "labelled", "sales_stopped"):
            batch_op.add_column(
                sa.Column(f"{step}_at", storage.models.UtcDateTime(timezone=True), nullable=True)
            )
            batch_op.add_column(sa.Column(f"{step}_by_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_batch_holds_{step}_by_id_users"), "users", [f"{step}_by_id"], ["id"]
            )
        batch_op.create_foreign_key(
            batch_op.f("fk_batch_holds_product_id_products"), "products", ["product_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_batch_holds_product_id"), ["product_id"], unique=False)
    _keep("batch_holds", FACTS_AFTER["batch_holds"], postgresql, new_table=False)

    op.create_table(
        "buyer_notice_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("told_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("told_by_id", sa.Integer(), nullable=True),
        sa.Column("told_how", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_buyer_notice_tasks_complaint_id_complaints"),
        ),
        sa.ForeignKeyConstraint(
            ["deadline_id"], ["deadlines.id"], name=op.f("fk_buyer_notice_tasks_deadline_id_deadlines")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_buyer_notice_tasks_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["told_by_id"], ["users.id"], name=op.f("fk_buyer_notice_tasks_told_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyer_notice_tasks")),
        sa.UniqueConstraint(
            "complaint_id", "organisation_id", name=op.f("uq_buyer_notice_tasks_complaint_id")
        ),
    )
    with op.batch_alter_table("buyer_notice_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_buyer_notice_tasks_complaint_id"), ["complaint_id"], unique=False
        )
    _keep("buyer_notice_tasks", FACTS_AFTER["buyer_notice_tasks"], postgresql, new_table=True)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("no_delete", "facts_fixed", "no_truncate"):
        on = " ON buyer_notice_tasks" if postgresql else ""
        op.execute(f"DROP TRIGGER IF EXISTS buyer_notice_tasks_{name}{on}")
    op.drop_table("buyer_notice_tasks")

    # Holds without a lot (complaints about goods not on file) cannot be kept by the old schema.
    with op.batch_alter_table("batch_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_holds_product_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_batch_holds_product_id_products"), type_="foreignkey"
        )
        for step in ("outbound_stopped", "labelled", "sales_stopped"):
            batch_op.drop_constraint(
                batch_op.f(f"fk_batch_holds_{step}_by_id_users"), type_="foreignkey"
            )
            batch_op.drop_column(f"{step}_by_id")
            batch_op.drop_column(f"{step}_at")
        batch_op.alter_column("batch_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("scope")
        batch_op.drop_column("product_id")
    _keep("batch_holds", FACTS_BEFORE["batch_holds"], postgresql, new_table=False)

    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_complaints_handoff_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_complaints_supplier_answer_by_id_users"), type_="foreignkey"
        )
        for column in (
            "handoff_notes",
            "handoff_outcome",
            "handoff_by_id",
            "handoff_at",
            "supplier_answer_by_id",
            "supplier_answer_at",
            "supplier_answer",
            "shipment_on_file",
            "lot_text",
            "product_text",
        ):
            batch_op.drop_column(column)
        batch_op.alter_column("batch_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("product_id", existing_type=sa.Integer(), nullable=False)
    _keep("complaints", FACTS_BEFORE["complaints"], postgresql, new_table=False)

    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_column("closed_as")
