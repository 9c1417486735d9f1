"""Texts built from data read as the catalogue does: lists and asides with the language's marks,
deadlines as a person says them, in all three languages."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from bot.services import Services
from bot.texts import Texts, deadline_phrase, join_list, load_catalogues
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import InvalidInput
from procedures.kernel.outbox import as_deadline, as_list, as_text
from procedures.kernel.quantities import as_money, as_quantity, check_amount, check_quantity
from tests.conftest import SHANGHAI


def test_lists_and_asides_take_the_languages_marks() -> None:
    assert join_list("zh-Hant", ["EL-01", "EL-02"]) == "EL-01、EL-02"
    assert join_list("en", ["EL-01", "EL-02"]) == "EL-01, EL-02"
    assert join_list("zh-Hans", ["A：异常", "B：15mm"], "clauses") == "A：异常；B：15mm"
    asset = {"code": "FP-01", "name": "消防噴淋泵", "location": "地下一層消防泵房"}
    texts = Texts(SHANGHAI, strict=True)
    assert (
        texts.get("zh-Hant", "patrol.asset_at", **asset) == "FP-01 消防噴淋泵（地下一層消防泵房）"
    )
    assert texts.get("en", "patrol.asset_at", **asset) == "FP-01 消防噴淋泵 (地下一層消防泵房)"
    texts = Texts(SHANGHAI, strict=True)
    listed = as_list([as_text("role.admin"), "EL-02"], "clauses")
    assert texts.get("zh-Hant", "casework.assignee", name=listed) == "管理員；EL-02"


@pytest.mark.parametrize(
    ("language", "midnight", "noon"),
    [
        ("zh-Hant", "12月31日當天內", "1月2日12:00前"),
        ("zh-Hans", "12月31日当天内", "1月2日12:00前"),
        ("en", "by the end of 31 December", "by 12:00 on 2 January"),
    ],
)
def test_a_deadline_reads_as_a_person_says_it_and_midnight_is_the_day_before(
    language: str, midnight: str, noon: str
) -> None:
    new_year = dt.datetime(2027, 1, 1, 0, 0, tzinfo=SHANGHAI)
    assert deadline_phrase(language, new_year, SHANGHAI) == midnight
    # stored in UTC: 04:00Z is noon in Shanghai
    assert deadline_phrase(language, dt.datetime(2027, 1, 2, 4, 0, tzinfo=dt.UTC), SHANGHAI) == noon
    texts = Texts(SHANGHAI, strict=True)
    assert texts.get(language, "casework.assignee", name=as_deadline(new_year)) == midnight


def test_a_deadline_of_another_year_names_its_year() -> None:
    now = dt.datetime(2026, 12, 20, 9, tzinfo=SHANGHAI)
    due = dt.datetime(2027, 1, 5, 9, 30, tzinfo=SHANGHAI)
    assert deadline_phrase("zh-Hant", due, SHANGHAI, now) == "2027年1月5日09:30前"
    assert deadline_phrase("en", due, SHANGHAI, now) == "by 09:30 on 5 January 2027"
    assert deadline_phrase("zh-Hant", due, SHANGHAI, due) == "1月5日09:30前"


DEADLINES = r"\{(due_at|verify_due|opinion_due|answer_due|proposals_due|forward_due)\}"


def test_no_deadline_is_wrapped_in_a_second_by() -> None:
    """A deadline renders with its own 前/by (`as_deadline`): `於{due_at}前` would say it twice."""
    catalogues = load_catalogues()
    doubled = {
        "zh-Hant": re.compile(rf"[於在]{DEADLINES}前"),
        "zh-Hans": re.compile(rf"[于在]{DEADLINES}前"),
        "en": re.compile(rf"\b(by|before|at) {DEADLINES}"),
    }
    found = [
        f"{language} {key}"
        for language, pattern in doubled.items()
        for key, value in catalogues[language].items()
        if pattern.search(value)
    ]
    assert not found, found
    relative = [
        f"{language} {key}"
        for language in ("zh-Hant", "zh-Hans")
        for key, value in catalogues[language].items()
        if re.search("明天|明日|後天|后天", value)
    ]
    assert not relative, relative


def test_a_quantity_is_typed_and_shown_in_its_products_unit() -> None:
    for typed in ("2箱", "2 箱", "2", "２箱"):
        assert check_quantity(typed, "箱") == 2
    with pytest.raises(InvalidInput) as refused:
        check_quantity("2件", "箱")
    texts = Texts(SHANGHAI, strict=True)
    assert texts.get("zh-Hant", refused.value.text_key, **refused.value.params) == (
        "涉及數量以箱計，請重新發送，例如20箱。"
    )
    shown = as_quantity(12, "盒")
    assert texts.get("zh-Hant", "casework.assignee", name=shown) == "12盒"
    assert texts.get("en", "casework.assignee", name=shown) == "12 盒"
    assert texts.get("zh-Hant", "casework.assignee", name=as_quantity(3, None)) == "3件"


@pytest.mark.parametrize(
    "typed", ["216", "216元", "216 元", "216.00元", "¥216", "￥216", "RMB 216"]
)
def test_money_is_accepted_with_or_without_its_currency(typed: str) -> None:
    assert check_amount(typed, invalid="return.bad_credit") == Decimal("216.00")


def test_money_is_shown_in_one_format_and_another_currency_is_refused() -> None:
    assert check_amount("216.50 元", invalid="return.bad_credit") == Decimal("216.50")
    for typed in ("216美元", "$216", "216 USD", "元"):
        with pytest.raises(InvalidInput):
            check_amount(typed, invalid="return.bad_credit")
    texts = Texts(SHANGHAI, strict=True)
    assert texts.get("zh-Hant", "casework.assignee", name=as_money(Decimal("216"))) == "216.00元"
    assert texts.get("en", "casework.assignee", name=as_money(Decimal("216.5"))) == "216.50 yuan"


@pytest.mark.parametrize("language", ["zh-Hant", "zh-Hans"])
def test_chinese_writes_a_value_and_its_unit_together(language: str) -> None:
    """`15mm`, never `15 mm` beside it: no space between a number and its unit in Chinese."""
    catalogue = load_catalogues()[language]
    spaced = {k: v for k, v in catalogue.items() if re.search(r"\} \{unit\}", v)}
    assert not spaced, spaced
    texts = Texts(SHANGHAI, strict=True)
    assert texts.get(
        language, "patrol.out_of_range", value="15", unit="mm", low="0", high="10"
    ).startswith("15mm")


@pytest.mark.parametrize("language", ["zh-Hant", "zh-Hans"])
def test_chinese_has_one_dash_the_double_one(language: str) -> None:
    """破折號 is `——`: not ` — ` nor a lone `—` between words (a lone `—` is only shown for
    nothing, as a whole value)."""
    catalogue = load_catalogues()[language]
    other = {k: v for k, v in catalogue.items() if re.search(r"(?<!—)—(?!—)", v) and v != "—"}
    assert not other, other


def test_a_notice_names_the_year_of_a_deadline_in_another_year_than_the_clocks(
    services: Services, clock: ManualClock
) -> None:
    """The services' texts read the clock: a deadline written into a notice (`as_deadline`)
    names its year only when the notice is read in another year."""
    clock.set(dt.datetime(2026, 12, 30, 10, tzinfo=SHANGHAI))
    next_year = as_deadline(dt.datetime(2027, 1, 2, 12, tzinfo=SHANGHAI))
    this_year = as_deadline(dt.datetime(2026, 12, 31, 12, tzinfo=SHANGHAI))
    texts = services.texts
    assert texts.get("zh-Hant", "casework.assignee", name=next_year) == "2027年1月2日12:00前"
    assert texts.get("zh-Hans", "casework.assignee", name=next_year) == "2027年1月2日12:00前"
    assert texts.get("en", "casework.assignee", name=next_year) == "by 12:00 on 2 January 2027"
    assert texts.get("zh-Hant", "casework.assignee", name=this_year) == "12月31日12:00前"
    assert texts.get("en", "casework.assignee", name=this_year) == "by 12:00 on 31 December"
    clock.set(dt.datetime(2027, 1, 1, 9, tzinfo=SHANGHAI))  # read again after new year
    assert texts.get("zh-Hant", "casework.assignee", name=next_year) == "1月2日12:00前"
    assert texts.get("zh-Hant", "casework.assignee", name=this_year) == "2026年12月31日12:00前"
