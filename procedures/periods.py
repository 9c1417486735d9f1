"""Calendar periods in the configured time zone: quarters for the P1 report."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def quarter_of(moment: dt.datetime, timezone: ZoneInfo) -> tuple[int, int]:
    local = moment.astimezone(timezone)
    return local.year, (local.month - 1) // 3 + 1


def previous_quarter(moment: dt.datetime, timezone: ZoneInfo) -> tuple[int, int]:
    year, quarter = quarter_of(moment, timezone)
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def quarter_bounds(year: int, quarter: int, timezone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The quarter as [start, end) in UTC, its edges at local midnight."""
    if not 1 <= quarter <= 4:
        raise ValueError("quarter must be 1-4")
    start = dt.datetime(year, 3 * quarter - 2, 1, tzinfo=timezone)
    end = (
        dt.datetime(year + 1, 1, 1, tzinfo=timezone)
        if quarter == 4
        else dt.datetime(year, 3 * quarter + 1, 1, tzinfo=timezone)
    )
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def parse_quarter(text: str) -> tuple[int, int] | None:
    """'2026-Q4' or '2026Q4' -> (2026, 4); anything else -> None."""
    cleaned = text.strip().upper().replace("-", "")
    if len(cleaned) == 6 and cleaned[:4].isdigit() and cleaned[4] == "Q" and cleaned[5] in "1234":
        return int(cleaned[:4]), int(cleaned[5])
    return None
