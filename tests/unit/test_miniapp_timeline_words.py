"""A complaint's timeline on the Mini App's record page says each entry's details in the
reader's words, as the complaint's view in the chat does (no stored key such as `product`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.texts import Texts
from storage.models import TimelineEvent
from tests.conftest import SHANGHAI
from webapp.views import View

AT = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)


def said(action: str, after: dict[str, Any], language: str = "zh-Hant") -> str:
    view = View(Texts(SHANGHAI, strict=True), language, AT)
    event = TimelineEvent(subject_type="complaint", subject_id=1, action=action, at=AT, after=after)
    return view.action("complaint", event)


@pytest.mark.parametrize(
    ("action", "after", "words"),
    [
        (
            "hold_placed",
            {"scope": "product", "product": "注射器", "batch": "L20260301"},
            "暫停發貨：該產品所有批號（批號L20260301）",
        ),
        ("verified", {"result": "nonconforming"}, "核實結果：核實不合格"),
        (
            "reply_to_complainant",
            {"text_key": "complaint.return_started", "recipients": 1},
            "回覆購貨方：辦理退貨",
        ),
    ],
)
def test_a_complaints_entries_read_in_the_readers_words(
    action: str, after: dict[str, Any], words: str
) -> None:
    assert said(action, after) == words


def test_an_english_reader_reads_the_hold_in_english() -> None:
    text = said("hold_placed", {"scope": "lot", "batch": "L20260301"}, "en")
    assert "lot" in text.lower() and "L20260301" in text and "scope" not in text


def view_in(language: str) -> View:
    return View(Texts(SHANGHAI, strict=True), language, AT)


@pytest.mark.parametrize(
    ("language", "this_year", "last_year"),
    [
        ("zh-Hant", "11月26日09:00", "2025年12月31日23:30"),
        ("zh-Hans", "11月26日09:00", "2025年12月31日23:30"),
        ("en", "26 November, 09:00", "31 December 2025, 23:30"),
    ],
)
def test_times_read_as_the_deadlines_beside_them_the_year_only_when_not_this_ones(
    language: str, this_year: str, last_year: str
) -> None:
    view = view_in(language)
    # in the configured zone: 15:30 UTC on the last day of 2025 is 23:30 in Shanghai
    assert view.moment(AT) == this_year
    assert view.moment(dt.datetime(2025, 12, 31, 15, 30, tzinfo=dt.UTC)) == last_year


def test_a_complaints_filing_names_its_quantity_in_the_products_unit() -> None:
    after = {"channel": "chat", "quantity": 30, "photos": 2}
    event = TimelineEvent(
        subject_type="complaint", subject_id=1, action="filed", at=AT, after=after
    )
    assert (
        view_in("zh-Hant").action("complaint", event, "盒")
        == "登記投訴（途徑：聊天，涉及30盒，照片2張）"
    )
    # a product whose unit is not on file: the generic counter, never a bare number
    assert "涉及30件" in view_in("zh-Hant").action("complaint", event)
    assert "30 盒" in view_in("en").action("complaint", event, "盒")


def test_a_returns_amount_reads_in_yuan_once() -> None:
    filed = TimelineEvent(
        subject_type="return",
        subject_id=1,
        action="filed",
        at=AT,
        after={"channel": "chat", "reason": "quality", "quantity": 20, "amount": "360.00"},
    )
    assert (
        view_in("zh-Hant").action("return", filed, "盒")
        == "填寫（聊天）：質量問題，數量20盒，金額360.00元"
    )
    # a text that names the currency itself is not given it twice
    tallied = TimelineEvent(
        subject_type="return",
        subject_id=1,
        action="tallied",
        at=AT,
        after={"quantity": 20, "amount": "360.00"},
    )
    assert view_in("zh-Hant").action("return", tallied).endswith("金額360.00元")
