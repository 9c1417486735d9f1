"""Reading what every record type keeps: the records of deadlines, timeline events and evidence
files, named here for the readers that show them.

Reading deadlines across record types: how those of a period ended, by kind.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from procedures.kernel.rules import Outcome, outcome_of
from storage.models import Deadline as Deadline
from storage.models import Photo as Photo
from storage.models import TimelineEvent as TimelineEvent


async def deadline_outcomes(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> dict[str, Counter[str]]:
    """Every deadline due in [start, end), counted by kind and outcome (on_time, late, waived,
    open): kind -> Counter of outcomes."""
    counts: dict[str, Counter[str]] = {}
    rows = await session.execute(
        select(Deadline.kind, Deadline.met_at.is_not(None), Deadline.met_late, Deadline.closed_as)
        .add_columns(func.count())
        .where(Deadline.due_at >= start, Deadline.due_at < end)
        .group_by(
            Deadline.kind, Deadline.met_at.is_not(None), Deadline.met_late, Deadline.closed_as
        )
    )
    for kind, met, late, closed_as, count in rows:
        counts.setdefault(kind, Counter())[outcome_of(met, late, closed_as).value] += count
    return counts


def on_time_rate(outcomes: Counter[str]) -> float | None:
    """Met on time among those met (on time or late); None while none was. A waived deadline
    and one still open count for neither."""
    decided = outcomes[Outcome.ON_TIME] + outcomes[Outcome.LATE]
    return outcomes[Outcome.ON_TIME] / decided if decided else None
