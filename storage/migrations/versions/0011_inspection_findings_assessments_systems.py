"""inspections keep their findings; the half-year assessment; staff named per equipment system

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

MESSAGE = "records are kept: this change is refused"

# New records kept as those of 0008: table -> its fixed facts (None: the whole row is fixed).
FACTS: dict[str, tuple[str, ...] | None] = {
    "inspection_checks": None,
    "assessments": ("year", "half", "opened_by_id", "opened_at"),
    "assessment_findings": None,
}
# Columns that start empty and, once given, stay: an inspection's findings, a signature, the
# inspection that raised a defect. A trigger of their own, beside those of 0008.
SET_ONCE: dict[str, tuple[str, ...]] = {
    "inspections": ("done_at", "done_by_id", "note", "abnormal", "latitude", "longitude"),
    "assessments": ("signed_by_id", "signed_at"),
    "defects": ("inspection_id",),
}


def _changed(columns: tuple[str, ...], postgresql: bool) -> str:
    differs = "IS DISTINCT FROM" if postgresql else "IS NOT"
    return " OR ".join(f"NEW.{c} {differs} OLD.{c}" for c in columns)


def _refuse_update(table: str, name: str, when: str, postgresql: bool) -> None:
    if postgresql:
        op.execute(
            f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION records_kept()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} WHEN {when} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def upgrade() -> None:
    op.create_table(
        "user_systems",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_systems_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "system", name=op.f("pk_user_systems")),
    )
    with op.batch_alter_table("user_systems", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_systems_system"), ["system"], unique=False)
    # plain ADD COLUMN (no table copy): the triggers of 0008 on these tables stay in place
    op.add_column("invitations", sa.Column("system", sa.String(length=32), nullable=True))
    op.add_column("deadlines", sa.Column("system", sa.String(length=32), nullable=True))
    op.add_column("inspections", sa.Column("abnormal", sa.Boolean(), nullable=True))
    op.add_column("inspections", sa.Column("latitude", sa.Double(), nullable=True))
    op.add_column("inspections", sa.Column("longitude", sa.Double(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "defects",
            sa.Column(
                "inspection_id",
                sa.Integer(),
                sa.ForeignKey("inspections.id", name=op.f("fk_defects_inspection_id_inspections")),
                nullable=True,
            ),
        )
    else:  # SQLite adds a column-level reference in place; alembic would copy the table
        op.execute(
            "ALTER TABLE defects ADD COLUMN inspection_id INTEGER REFERENCES inspections (id)"
        )
    op.create_table(
        "inspection_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reading", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspections.id"],
            name=op.f("fk_inspection_checks_inspection_id_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["checklist_items.id"],
            name=op.f("fk_inspection_checks_item_id_checklist_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_checks")),
    )
    with op.batch_alter_table("inspection_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_checks_inspection_id"), ["inspection_id"], unique=False
        )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("half", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["users.id"], name=op.f("fk_assessments_opened_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["users.id"], name=op.f("fk_assessments_signed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint("year", "half", name=op.f("uq_assessments_year")),
    )
    op.create_table(
        "assessment_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=False),
        sa.Column("added_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["users.id"], name=op.f("fk_assessment_findings_added_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_assessment_findings_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_assessment_findings_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_findings")),
    )
    with op.batch_alter_table("assessment_findings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_findings_assessment_id"), ["assessment_id"], unique=False
        )

    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, facts in FACTS.items():
        if postgresql:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION records_kept()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION records_kept()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
        when = ("TRUE" if postgresql else "1") if facts is None else _changed(facts, postgresql)
        _refuse_update(table, f"{table}_facts_fixed", when, postgresql)
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
    for table in FACTS:
        on = f" ON {table}" if postgresql else ""
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete{on}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_facts_fixed{on}")
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate{on}")
    with op.batch_alter_table("assessment_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_findings_assessment_id"))
    op.drop_table("assessment_findings")
    op.drop_table("assessments")
    with op.batch_alter_table("inspection_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_checks_inspection_id"))
    op.drop_table("inspection_checks")
    # DROP COLUMN without a table copy: SQLite (3.35+) drops a column no index or key names;
    # the foreign key of defects.inspection_id goes first on PostgreSQL
    if postgresql:
        op.drop_constraint("fk_defects_inspection_id_inspections", "defects", type_="foreignkey")
    op.execute("ALTER TABLE defects DROP COLUMN inspection_id")
    op.drop_column("inspections", "longitude")
    op.drop_column("inspections", "latitude")
    op.drop_column("inspections", "abnormal")
    op.drop_column("deadlines", "system")
    op.drop_column("invitations", "system")
    with op.batch_alter_table("user_systems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_systems_system"))
    op.drop_table("user_systems")
