"""/find's query: days read on the local calendar, one range, limits named; each kind is
searched only by roles that open every record of it."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.commands import command
from procedures import search
from procedures.kernel.errors import InvalidInput
from tests.conftest import SHANGHAI


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.UTC)


def test_days_months_and_ranges_are_local_and_the_last_day_is_included() -> None:
    day = search.parse_query("2026-11-30", SHANGHAI)
    assert (day.since, day.until, day.words) == (local(2026, 11, 30), local(2026, 12, 1), ())
    month = search.parse_query("C001  2026-12", SHANGHAI)
    assert (month.since, month.until, month.words) == (
        local(2026, 12, 1),
        local(2027, 1, 1),
        ("C001",),
    )
    span = search.parse_query("2026-11-01..2026-11-30", SHANGHAI)
    assert (span.since, span.until) == (local(2026, 11, 1), local(2026, 12, 1))
    assert search.parse_query("QC-2026-00001", SHANGHAI).words == ("QC-2026-00001",)


@pytest.mark.parametrize(
    ("typed", "refusal"),
    [
        ("", "find.usage"),
        ("\x00\u200b ", "find.usage"),
        ("2026-11 2026-12", "find.usage"),
        ("2026-02-30", "find.bad_date"),
        # the calendar's edges: no year 9999 nor 0001 (a day after 9999-12-31 does not exist)
        ("9999-12-31", "find.bad_date"),
        ("0001-01-01", "find.bad_date"),
        ("9999-12", "find.bad_date"),
        ("2026-11-01..9999-12-31", "find.bad_date"),
        ("2026-11-02..2026-11-01", "find.bad_range"),
        ("a b c d e f", "find.too_many_words"),
        ("x" * 101, "error.text_too_long"),
    ],
)
def test_what_is_no_search_is_refused_naming_why(typed: str, refusal: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        search.parse_query(typed, SHANGHAI)
    assert raised.value.text_key == refusal


def test_who_searches_a_kind_opens_every_record_of_it_with_its_view_command() -> None:
    views = {"QC": "ticket", "RT": "return", "DF": "defect"}
    for kind in search.KINDS:
        allowed = command(views[kind.prefix]).roles
        assert allowed is not None and kind.viewers <= allowed, kind.prefix
    assert "customer" not in search.SEARCHERS and "vendor" not in search.SEARCHERS
