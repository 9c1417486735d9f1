"""The PostgreSQL role the bot should run as: not the owner, and unable to erase records.

`python -m storage.app_role NAME [SCHEMA]` prints the statements; run them as the database's
owner after every migration (new tables need their grants). The role may read, add and change
rows, but not TRUNCATE anything and not DELETE from the records an inspector relies on; the
triggers of migration 0008 refuse those deletes and any rewrite of a record's facts even for
the owner.
"""

from __future__ import annotations

import sys

# Tables whose rows the bot itself removes: dialogue state, scratch data, pruned bookkeeping.
DELETABLE_TABLES = (
    "conversation_states",
    "chat_scratchpads",
    "processed_updates",
    "failed_redemptions",
)


def application_role_sql(role: str, schema: str = "public") -> list[str]:
    """GRANT statements for an existing role `role` (create it with CREATE ROLE … LOGIN)."""
    if not role.replace("_", "").isalnum() or not schema.replace("_", "").isalnum():
        raise ValueError("role and schema must be plain identifiers")
    statements = [
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"',
    ]
    statements += [f'GRANT DELETE ON "{schema}".{table} TO "{role}"' for table in DELETABLE_TABLES]
    return statements


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print("usage: python -m storage.app_role ROLE [SCHEMA]", file=sys.stderr)
        sys.exit(2)
    print(";\n".join(application_role_sql(*sys.argv[1:])) + ";")
