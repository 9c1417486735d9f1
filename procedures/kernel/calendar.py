"""Days, months, quarters and half-years in the configured time zone, and their UTC bounds.

Stored times are UTC; a rule like "last month" or "this quarter" is read on the local calendar.
Months are named "YYYY-MM" (a vendor score's period, an inspection's period).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

Quarter = Literal[1, 2, 3, 4]
QUARTERS: tuple[Quarter, ...] = (1, 2, 3, 4)


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


def quarter_of(moment: dt.datetime, timezone: ZoneInfo) -> tuple[int, Quarter]:
    local = moment.astimezone(timezone)
    return local.year, QUARTERS[(local.month - 1) // 3]


def previous_quarter(moment: dt.datetime, timezone: ZoneInfo) -> tuple[int, Quarter]:
    year, quarter = quarter_of(moment, timezone)
    return (year - 1, 4) if quarter == 1 else (year, QUARTERS[quarter - 2])


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


# --- any period -----------------------------------------------------------------------------


def parse_month(text: str) -> str | None:
    """ "2026-11" (or "2026-1") -> "2026-11"; anything else: None."""
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.isdecimal() for p in parts) or len(parts[0]) != 4:
        return None
    year, month = int(parts[0]), int(parts[1])
    if year not in QUARTER_YEARS or not 1 <= month <= 12:
        return None
    return f"{year:04d}-{month:02d}"


def period_type(text: str) -> str | None:
    """Which kind of period a name is: "month" (2026-11), "quarter" (2026-Q3), "half"
    (2026-H2); None for anything else."""
    cleaned = text.strip().upper()
    if parse_month(cleaned):
        return "month"
    if parse_quarter(cleaned):
        return "quarter"
    year, marker, half = cleaned[:4], cleaned[4:6], cleaned[6:]
    if year.isdecimal() and marker == "-H" and half in ("1", "2"):
        return "half" if int(year) in QUARTER_YEARS else None
    return None


def is_running(period: str, now: dt.datetime, timezone: ZoneInfo) -> bool:
    """Whether `now` falls inside the period: its figures are partial, so far."""
    start, end = period_bounds(period, timezone)
    return start <= now < end


def period_bounds(period: str, timezone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Any period name as [start, end) in UTC."""
    kind = period_type(period)
    if kind == "month":
        month = parse_month(period)
        assert month is not None  # period_type read it as a month
        return month_bounds(month, timezone)
    if kind == "quarter":
        quarter = parse_quarter(period)
        assert quarter is not None  # period_type read it as a quarter
        return quarter_bounds(*quarter, timezone)
    if kind == "half":
        months = half_year_periods(int(period[:4]), int(period[-1]))
        return month_bounds(months[0], timezone)[0], month_bounds(months[-1], timezone)[1]
    raise ValueError(f"not a period: {period!r}")


def recent_periods(
    kind: str, now: dt.datetime, timezone: ZoneInfo, count: int, *, running: bool = False
) -> list[str]:
    """The `count` periods of `kind` that ended last, the latest first (for buttons); with
    `running`, the month still running first, then those that ended."""
    today = local_day(now, timezone)
    found: list[str] = []
    if kind == "month":
        index = month_index(today) - (not running)
        found = [f"{(i) // 12:04d}-{i % 12 + 1:02d}" for i in range(index, index - count, -1)]
    elif kind == "quarter":
        index = today.year * 4 + (today.month - 1) // 3 - 1
        found = [f"{i // 4:04d}-Q{i % 4 + 1}" for i in range(index, index - count, -1)]
    elif kind == "half":
        index = today.year * 2 + (today.month > 6) - 1
        found = [f"{i // 2:04d}-H{i % 2 + 1}" for i in range(index, index - count, -1)]
    return found
