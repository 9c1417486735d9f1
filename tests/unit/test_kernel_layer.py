"""The kernel beneath the record types: it knows none of them, and they meet through their
queries, rules and actions, each crossing named with why."""

from __future__ import annotations

from tests.unit.test_architecture import RECORD_TYPES, ROOT, imports_of


def test_the_kernel_imports_no_record_type() -> None:
    """Clock, unit of work, outbox, deadlines and the rest serve every record type; a kernel
    module that imported one would make the others depend on it."""
    violations = [
        f"{edge.where}: {edge.source} imports {edge.target}"
        for edge in imports_of(ROOT, {"procedures"})
        if edge.source.startswith("procedures.kernel") and edge.target.split(".")[1] in RECORD_TYPES
    ]
    assert not violations, "\n".join(violations)
