"""Days, months, quarters and half-years in the configured time zone, and their UTC bounds.

Stored times are UTC; a rule like "last month" or "this quarter" is read on the local calendar.
Months are named "YYYY-MM" (a vendor score's period, an inspection's period).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def local_day(moment: dt.datetime, timezone: ZoneInfo) -> dt.date:
    return moment.astimezone(timezone).date()


def noon_next_day(moment: dt.datetime, timezone: ZoneInfo) -> dt.datetime:
    """12:00 on the local day after `moment` (第二天上午12:00前), in UTC: across midnight the
    day after is the next local date, whatever the date in UTC."""
    day = local_day(moment, timezone) + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(12), timezone).astimezone(dt.UTC)


# --- months ---------------------------------------------------------------------------------


def month_of(day: dt.date) -> str:
    """The month's period name, "YYYY-MM"."""
    return f"{day.year:04d}-{day.month:02d}"


def month_index(day: dt.date) -> int:
    """Months since year 0, for "every N months" intervals."""
    return day.year * 12 + day.month - 1


def month_bounds(period: str, timezone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The month "YYYY-MM" as [start, end) in UTC, its edges at local midnight."""
    year, month = (int(part) for part in period.split("-"))
    start = dt.datetime(year, month, 1, tzinfo=timezone)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=timezone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def previous_month(now: dt.datetime, timezone: ZoneInfo) -> str:
    first = local_day(now, timezone).replace(day=1)
    return month_of(first - dt.timedelta(days=1))


# --- quarters -------------------------------------------------------------------------------


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


# the years a quarter may name: the records start after 2000 and a date needs a 4-digit year
QUARTER_YEARS = range(2000, 3000)


def parse_quarter(text: str) -> tuple[int, int] | None:
    """ "2026-Q4" or "2026Q4" -> (2026, 4); anything else, or a year not in QUARTER_YEARS: None."""
    cleaned = text.strip().upper().replace("-", "")
    if len(cleaned) == 6 and cleaned[:4].isdecimal() and cleaned[4] == "Q" and cleaned[5] in "1234":
        year = int(cleaned[:4])
        if year in QUARTER_YEARS:
            return year, int(cleaned[5])
    return None


# --- half-years -----------------------------------------------------------------------------


def half_year_before(now: dt.datetime, timezone: ZoneInfo) -> tuple[int, int]:
    """The half-year that ended before `now`: (year, 1) for Jan-Jun, (year, 2) for Jul-Dec."""
    today = local_day(now, timezone)
    return (today.year - 1, 2) if today.month <= 6 else (today.year, 1)


def half_year_periods(year: int, half: int) -> list[str]:
    first = 1 if half == 1 else 7
    return [f"{year:04d}-{month:02d}" for month in range(first, first + 6)]
