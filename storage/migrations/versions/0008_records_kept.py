"""records an inspector relies on cannot be deleted, truncated or have their facts rewritten

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MESSAGE = "records are kept: this change is refused"

# table -> the columns that are facts once the row exists (None: the whole row is fixed)
FACTS: dict[str, tuple[str, ...] | None] = {
    "complaints": (
        "number",
        "organisation_id",
        "product_id",
        "batch_id",
        "quantity",
        "description",
        "channel",
        "complainant_name",
        "filed_by_id",
        "received_at",
    ),
    "batch_holds": ("batch_id", "complaint_id", "placed_at"),
    "returns": ("number", "organisation_id", "complaint_id", "created_at"),
    "return_lines": ("return_id",),
    "patrols": ("asset_id", "technician_id", "patrol_date", "recorded_at"),
    "patrol_checks": None,
    "defects": ("number", "asset_id", "description", "reported_by_id", "reported_at"),
    "photos": (
        "subject_type",
        "subject_id",
        "stage",
        "telegram_file_id",
        "added_by_id",
        "added_at",
    ),
    "rectifications": ("vendor_id", "description", "raised_by_id", "raised_at"),
    "vendor_scores": ("vendor_id", "period", "judged", "total", "scored_by_id", "scored_at"),
    "inspections": ("asset_id", "period"),
}
# a column that starts empty and, once given (the written notice's number), stays
SET_ONCE = {"rectifications": ("number",)}


def _changed(columns: tuple[str, ...], postgresql: bool) -> str:
    differs = "IS DISTINCT FROM" if postgresql else "IS NOT"
    if postgresql:
        # JSON has no equality operator on PostgreSQL; its text form does
        return " OR ".join(f"NEW.{c}::text {differs} OLD.{c}::text" for c in columns)
    return " OR ".join(f"NEW.{c} {differs} OLD.{c}" for c in columns)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(
            "CREATE FUNCTION records_kept() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}: % on %', TG_OP, TG_TABLE_NAME; END; "
            "$$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER timeline_events_no_truncate BEFORE TRUNCATE ON timeline_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION records_kept()"
        )
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
        conditions = []
        if facts is None:
            conditions.append("TRUE" if postgresql else "1")
        elif facts:
            conditions.append(_changed(facts, postgresql))
        for column in SET_ONCE.get(table, ()):
            conditions.append(f"(OLD.{column} IS NOT NULL AND ({_changed((column,), postgresql)}))")
        if not conditions:
            continue
        when = " OR ".join(f"({c})" for c in conditions)
        if postgresql:
            op.execute(
                f"CREATE TRIGGER {table}_facts_fixed BEFORE UPDATE ON {table} FOR EACH ROW "
                f"WHEN ({when}) EXECUTE FUNCTION records_kept()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {table}_facts_fixed BEFORE UPDATE ON {table} WHEN {when} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
    if not postgresql:
        # INSERT OR REPLACE deletes the row it replaces; the delete triggers above see that
        # only with recursive_triggers on (set on every connection), so the timeline also
        # refuses an insert that reuses an id.
        op.execute(
            "CREATE TRIGGER timeline_events_no_replace BEFORE INSERT ON timeline_events "
            "WHEN EXISTS (SELECT 1 FROM timeline_events WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, 'timeline events are append-only'); END"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, facts in FACTS.items():
        on = f" ON {table}" if postgresql else ""
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete{on}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_facts_fixed{on}")
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate{on}")
    if postgresql:
        op.execute("DROP TRIGGER IF EXISTS timeline_events_no_truncate ON timeline_events")
        op.execute("DROP FUNCTION records_kept()")
    else:
        op.execute("DROP TRIGGER IF EXISTS timeline_events_no_replace")
