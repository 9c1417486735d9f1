"""When staff say a paper, a call or a visit was received: a record keyed in later starts its
clocks there (P1 4.4, P2 4.2.1–4.2.2). One reading of the typed time for every record type."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from procedures.kernel.errors import InvalidInput
from procedures.kernel.outbox import as_time
from procedures.kernel.text_input import clean_text

# a record is keyed in at most this long after it was received: an older time is a typo
RECEIVED_AT_MOST = dt.timedelta(days=30)

# "2026-12-05 09:00" (also with / or .), "12-05 09:00" (this year) or "09:00" (today)
RECEIVED_FORMAT = re.compile(r"(?:(?:(\d{4})[-/.])?(\d{1,2})[-/.](\d{1,2})\s+)?(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class ReceivedTexts:
    """The refusals of one record type's dialogue, in its own words."""

    unreadable: str
    in_future: str
    too_early: str


def parse_received_at(
    text: str, now: dt.datetime, timezone: ZoneInfo, texts: ReceivedTexts
) -> dt.datetime:
    """The local time typed, in UTC, checked as `check_received_at` does."""
    typed = unicodedata.normalize("NFKC", clean_text(text))  # full-width digits and colon too
    found = RECEIVED_FORMAT.fullmatch(" ".join(typed.split()))
    if found is None:
        raise InvalidInput(texts.unreadable)
    year, month, day, hour, minute = found.groups()
    today = now.astimezone(timezone).date()
    try:
        local = dt.datetime(
            int(year) if year else today.year,
            int(month) if month else today.month,
            int(day) if day else today.day,
            int(hour),
            int(minute),
            tzinfo=timezone,
        )
    except ValueError:
        raise InvalidInput(texts.unreadable) from None
    return check_received_at(local.astimezone(dt.UTC), now, texts)


def check_received_at(
    received_at: dt.datetime, now: dt.datetime, texts: ReceivedTexts
) -> dt.datetime:
    """Not later than now, and not further back than RECEIVED_AT_MOST."""
    if received_at > now:
        raise InvalidInput(texts.in_future, now=as_time(now))
    if now - received_at > RECEIVED_AT_MOST:
        raise InvalidInput(texts.too_early, days=RECEIVED_AT_MOST.days)
    return received_at
