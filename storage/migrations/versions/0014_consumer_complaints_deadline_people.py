"""consumer complaints (顧客投訴記錄表), kept as records; who closed each deadline

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

MESSAGE = "records are kept: this change is refused"

# The facts of a consumer complaint, fixed once it is filed (as the triggers of 0008 fix a
# quality complaint's).
FACTS = (
    "number",
    "channel",
    "consumer_id",
    "consumer_name",
    "contact",
    "product_id",
    "product_text",
    "description",
    "filed_by_id",
    "received_at",
)
# Columns that start empty and, once given, stay: the judgement, the decision, the answer that
# went back, the return that took the goods.
SET_ONCE = (
    "verdict",
    "cause",
    "judgement_note",
    "judged_by_id",
    "judged_at",
    "decision_verdict",
    "decision",
    "decided_by_id",
    "decided_at",
    "remedy",
    "answer",
    "answered_by_id",
    "answered_at",
    "return_number",
)
TABLE = "consumer_complaints"


def _changed(columns: tuple[str, ...], postgresql: bool) -> str:
    differs = "IS DISTINCT FROM" if postgresql else "IS NOT"
    return " OR ".join(f"NEW.{c} {differs} OLD.{c}" for c in columns)


def _refuse_update(name: str, when: str, postgresql: bool) -> None:
    if postgresql:
        op.execute(
            f"CREATE TRIGGER {name} BEFORE UPDATE ON {TABLE} FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION records_kept()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {name} BEFORE UPDATE ON {TABLE} WHEN {when} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def upgrade() -> None:
    # plain ADD COLUMN (no table copy): the deadlines' partial index stays as it is
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "deadlines",
            sa.Column(
                "met_by_id",
                sa.Integer(),
                sa.ForeignKey("users.id", name=op.f("fk_deadlines_met_by_id_users")),
                nullable=True,
            ),
        )
    else:  # SQLite adds a column-level reference in place; alembic would copy the table
        op.execute("ALTER TABLE deadlines ADD COLUMN met_by_id INTEGER REFERENCES users (id)")
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("consumer_id", sa.Integer(), nullable=True),
        sa.Column("consumer_name", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("product_text", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=False),
        sa.Column("received_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("cause", sa.String(length=16), nullable=True),
        sa.Column("judgement_note", sa.Text(), nullable=True),
        sa.Column("judged_by_id", sa.Integer(), nullable=True),
        sa.Column("judged_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decision_verdict", sa.String(length=16), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("remedy", sa.String(length=16), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("return_number", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["consumer_id"], ["users.id"], name=op.f("fk_consumer_complaints_consumer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_consumer_complaints_product_id_products"),
        ),
        sa.ForeignKeyConstraint(
            ["filed_by_id"], ["users.id"], name=op.f("fk_consumer_complaints_filed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["judged_by_id"], ["users.id"], name=op.f("fk_consumer_complaints_judged_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_consumer_complaints_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["users.id"],
            name=op.f("fk_consumer_complaints_answered_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_complaints")),
        sa.UniqueConstraint("number", name=op.f("uq_consumer_complaints_number")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consumer_complaints_status"), ["status"], unique=False)

    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION records_kept()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION records_kept()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
    _refuse_update(f"{TABLE}_facts_fixed", _changed(FACTS, postgresql), postgresql)
    set_once = " OR ".join(
        f"(OLD.{column} IS NOT NULL AND ({_changed((column,), postgresql)}))"
        for column in SET_ONCE
    )
    _refuse_update(f"{TABLE}_set_once", set_once, postgresql)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    on = f" ON {TABLE}" if postgresql else ""
    for trigger in ("no_delete", "facts_fixed", "set_once", "no_truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{trigger}{on}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consumer_complaints_status"))
    op.drop_table(TABLE)
    # DROP COLUMN without a table copy; the foreign key goes first on PostgreSQL
    if postgresql:
        op.drop_constraint("fk_deadlines_met_by_id_users", "deadlines", type_="foreignkey")
    op.execute("ALTER TABLE deadlines DROP COLUMN met_by_id")
