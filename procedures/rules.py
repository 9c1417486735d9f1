"""Every record type's rules in one place: what the deadline engine, the reports and the
catalogue checks read. Importing it registers each deadline kind's rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# describing each record type's deadlines to the engine, with their rules
from procedures import deadline_subjects  # noqa: F401
from procedures.complaints import rules as complaints
from procedures.consumer_complaints import rules as consumer_complaints
from procedures.equipment import rules as equipment
from procedures.kernel.rules import DeadlineRule
from procedures.returns import rules as returns
from procedures.vendors import rules as vendors

DEADLINES: Final[Mapping[str, DeadlineRule]] = {
    **complaints.DEADLINES,
    **returns.DEADLINES,
    **consumer_complaints.DEADLINES,
    **equipment.DEADLINES,
    **vendors.DEADLINES,
}
