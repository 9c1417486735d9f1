"""timeline events are append-only: the database refuses UPDATE and DELETE

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MESSAGE = "timeline events are append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION timeline_events_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER timeline_events_append_only BEFORE UPDATE OR DELETE "
            "ON timeline_events FOR EACH ROW EXECUTE FUNCTION timeline_events_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER timeline_events_no_{action.lower()} BEFORE {action} "
                f"ON timeline_events BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER timeline_events_append_only ON timeline_events")
        op.execute("DROP FUNCTION timeline_events_append_only()")
    else:
        op.execute("DROP TRIGGER timeline_events_no_update")
        op.execute("DROP TRIGGER timeline_events_no_delete")
