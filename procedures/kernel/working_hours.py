"""Working hours: when routine notices may reach people. The deployment sets them (08:30–18:00,
Monday to Friday, in its time zone); a person may set their own hours of the day. A routine
reminder found outside them waits for their next start; what cannot wait goes at once."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Protocol
from zoneinfo import ZoneInfo

from procedures.kernel.errors import InvalidInput

_SPAN = re.compile(r"^\s*(\d{1,2})[:：](\d{2})\s*[-–~～至到]\s*(\d{1,2})[:：](\d{2})\s*$")
_DAYS = re.compile(r"^\s*([1-7])\s*-\s*([1-7])\s*$")


def parse_span(text: str) -> tuple[dt.time, dt.time]:
    """ "08:30-18:00" (full-width colons and dashes too): the start and the end, the start
    first; InvalidInput otherwise."""
    match = _SPAN.match(text)
    if match is None:
        raise InvalidInput("hours.invalid", typed=text.strip())
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or end_h > 24 or start_m > 59 or end_m > 59 or (end_h == 24 and end_m):
        raise InvalidInput("hours.invalid", typed=text.strip())
    start = dt.time(start_h, start_m)
    end = dt.time(23, 59, 59) if end_h == 24 else dt.time(end_h, end_m)
    if end <= start:
        raise InvalidInput("hours.invalid", typed=text.strip())
    return start, end


def parse_days(text: str) -> frozenset[int]:
    """ "1-5" (Monday to Friday) or "1,2,3,4,5,6": ISO weekdays, Monday 1 to Sunday 7."""
    match = _DAYS.match(text)
    if match is not None:
        first, last = int(match.group(1)), int(match.group(2))
        if first <= last:
            return frozenset(range(first, last + 1))
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if parts and all(part in "1234567" and len(part) == 1 for part in parts):
        return frozenset(int(part) for part in parts)
    raise ValueError(f"working days are ISO weekdays like 1-5 or 1,2,3,4,5,6; got {text!r}")


class HoursSettings(Protocol):
    """What the deployment's settings say of working hours."""

    working_hours: str
    working_days: str
    timezone: ZoneInfo


def format_span(start: dt.time, end: dt.time) -> str:
    return f"{start:%H:%M}-{end:%H:%M}"


@dataclass(frozen=True)
class WorkingHours:
    start: dt.time
    end: dt.time
    days: frozenset[int]
    timezone: ZoneInfo

    @classmethod
    def of(cls, span: str, days: str, timezone: ZoneInfo) -> WorkingHours:
        start, end = parse_span(span)
        return cls(start, end, parse_days(days), timezone)

    @classmethod
    def of_settings(cls, settings: HoursSettings) -> WorkingHours:
        return cls.of(settings.working_hours, settings.working_days, settings.timezone)

    def for_person(self, own: str | None) -> WorkingHours:
        """A person's own hours of the day (stored as "HH:MM-HH:MM"), on the working days."""
        if not own:
            return self
        start, end = parse_span(own)
        return replace(self, start=start, end=end)

    def next_open(self, moment: dt.datetime) -> dt.datetime:
        """`moment` itself inside working hours, else the start of the next working period."""
        local = moment.astimezone(self.timezone)
        for ahead in range(8):
            day = local.date() + dt.timedelta(days=ahead)
            if day.isoweekday() not in self.days:
                continue
            opens = dt.datetime.combine(day, self.start, self.timezone)
            closes = dt.datetime.combine(day, self.end, self.timezone)
            if local < opens:
                return opens.astimezone(dt.UTC)
            if local < closes:
                return moment
        return moment  # no working day at all: nothing is held
