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
