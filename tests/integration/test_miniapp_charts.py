"""The Mini App's charts: each person sees the charts of their roles only (the readers of the
matching report), over the twelve months up to now, in their language, and every figure is the
one the matching report shows for the same period."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from bot.documents import document_context
from bot.services import Services
from procedures.complaints import handling
from procedures.equipment import defects
from procedures.kernel.clock import ManualClock
from procedures.returns.queries import monthly_statistics
from procedures.vendors import scores as vendor_scores
from reports import charts as report_charts
from reports.registry import REPORTS
from storage.models import Vendor
from tests.conftest import SHANGHAI, START
from tests.unit.helpers import act, book_in_return, file, make_user, verify
from tests.unit.test_complaint_steps import staff_file
from tests.unit.test_patrols import draft_for, patrol, vendor_user
from tests.unit.test_returns import request as return_request
from webapp.charts import chart_payload

OCTOBER_10 = dt.datetime(2026, 10, 10, 9, tzinfo=SHANGHAI)
NOVEMBER_20 = dt.datetime(2026, 11, 20, 9, tzinfo=SHANGHAI)
SYRINGE = "一次性使用無菌注射器 5ml"
MASK = "醫用外科口罩"
ELEVATORS = "迅達電梯維保有限公司"

EQUIPMENT_MANAGER_CHARTS = [
    "complaints_by_product",
    "on_time_by_kind",
    "defects_by_vendor",
    "repair_time_by_vendor",
    "vendor_scores",
]
QUALITY_HEAD_CHARTS = ["complaints_by_product", "on_time_by_kind"]
BUSINESS_HEAD_CHARTS = [
    "complaints_by_product",
    "on_time_by_kind",
    "returns_by_reason",
    "exchange_ratio",
]
MONTHS_SHOWN = ["2025年12月", *(f"2026年{month}月" for month in range(1, 12))]


async def _seed(services: Services, clock: ManualClock) -> None:
    """Over October and November, through the use cases: three complaints (two products, one
    verified), a defect of the lifts' vendor repaired in 90 minutes and another left open, the
    vendor's October score, and an exchange booked in."""
    qc = await make_user(services, "quality")
    technician = await make_user(services, "technician")
    manager = await make_user(services, "equipment_manager")
    staff = await vendor_user(services, "V001")

    clock.set(OCTOBER_10)
    first = await file(services, "C001", quantity=3)
    await act(services, handling.take_complaint, qc, first.id)
    await verify(services, qc, first.id, "conforming")
    repaired = (
        await patrol(
            services, technician, await draft_for(services, "EL-01", abnormal="EL-DOOR", photos=1)
        )
    ).defect
    clock.advance(dt.timedelta(minutes=30))
    await act(services, defects.acknowledge_defect, staff, repaired.id)
    clock.advance(dt.timedelta(minutes=60))
    await act(services, defects.record_repair, staff, repaired.id, "fixed", [])

    clock.set(NOVEMBER_20)
    await file(services, "C001", quantity=1)
    await file(services, "C002", product="P-1002", lot="M20260815", quantity=2)
    await patrol(
        services, technician, await draft_for(services, "EL-02", abnormal="EL-ALARM", photos=1)
    )
    async with services.session_factory() as session:
        v001 = await session.scalar(select(Vendor.id).where(Vendor.code == "V001"))
    judged = dict.fromkeys(vendor_scores.SCORE_CRITERIA, 4)
    await act(
        services, vendor_scores.record_vendor_score, manager, v001, "2026-10", judged, SHANGHAI
    )

    clock.set(START)
    exchange = await return_request(services, 2)
    await book_in_return(services, exchange.id)


async def _charts(
    services: Services, clock: ManualClock, *roles: str, language: str = "zh-Hant"
) -> dict[str, dict[str, Any]]:
    async with services.session_factory() as session:
        payload = await chart_payload(
            session, frozenset(roles), language, services.texts, now=clock.now()
        )
    assert set(payload) == {"charts"}
    return {chart["key"]: chart for chart in payload["charts"]}


def _drawn(monkeypatch: pytest.MonkeyPatch, function: str) -> list[tuple[Any, ...]]:
    """The arguments each report's chart `function` is drawn with, from now on."""
    calls: list[tuple[Any, ...]] = []
    draw = getattr(report_charts, function)

    def record(*args: Any, **kwargs: Any) -> bytes:
        calls.append(args)
        return draw(*args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(report_charts, function, record)
    return calls


def _by_name(chart: dict[str, Any]) -> dict[str, list[Any]]:
    return {series["name"]: series["values"] for series in chart["series"]}


async def test_each_person_sees_the_charts_of_their_roles_only(
    services: Services, samples: None, clock: ManualClock
) -> None:
    await _seed(services, clock)
    assert list(await _charts(services, clock, "equipment_manager")) == EQUIPMENT_MANAGER_CHARTS
    assert list(await _charts(services, clock, "quality_head")) == QUALITY_HEAD_CHARTS
    assert list(await _charts(services, clock, "business_head")) == BUSINESS_HEAD_CHARTS
    assert await _charts(services, clock, "customer") == {}
    assert await _charts(services, clock, "vendor", "driver") == {}
    # a person of two roles sees the charts of both, each once
    both = await _charts(services, clock, "quality_head", "equipment_manager")
    assert list(both) == EQUIPMENT_MANAGER_CHARTS


async def test_the_complaints_per_month_are_the_quarterly_reports(
    services: Services, samples: None, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(services, clock)
    drawn = _drawn(monkeypatch, "stacked_bars")
    async with services.session_factory() as session:
        await REPORTS["complaint_quarterly"].render(
            session, "2026-Q4", document_context(services, "zh-Hant")
        )
    ((_, months, by_product, _),) = drawn
    assert months == ["2026-10", "2026-11", "2026-12"]
    assert by_product == {SYRINGE: [1, 1, 0], MASK: [0, 1, 0]}

    chart = (await _charts(services, clock, "quality_head"))["complaints_by_product"]
    assert chart["title"] == "2025年12月至2026年11月每月投訴件數（按產品）"
    assert (chart["kind"], chart["unit"], chart["limit"], chart["note"]) == (
        "bar",
        "件",
        None,
        None,
    )
    assert chart["categories"] == MONTHS_SHOWN
    shown = _by_name(chart)
    assert set(shown) == set(by_product)
    for product, values in by_product.items():
        assert shown[product][-2:] == values[:2]  # October and November, as the report counts
        assert shown[product][:-2] == [0] * 10


async def test_the_on_time_rates_are_the_deadline_reports(
    services: Services, samples: None, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(services, clock)
    drawn = _drawn(monkeypatch, "rate_bars")
    async with services.session_factory() as session:
        await REPORTS["deadline_on_time"].render(
            session, "2026-Q4", document_context(services, "zh-Hant")
        )
    ((_, kinds, rates, _),) = drawn
    # every deadline met so far fell due in October or November: the quarter's rates are
    # the twelve months'
    reported = {
        kind: None if rate is None else round(rate * 100, 1)
        for kind, rate in zip(kinds, rates, strict=True)
    }
    assert any(rate is not None for rate in reported.values())

    chart = (await _charts(services, clock, "business_head"))["on_time_by_kind"]
    assert chart["title"] == "2025年12月至2026年11月各類時限按時完成率"
    assert chart["unit"] == "%"
    ((series,),) = [chart["series"]]
    assert series["name"] == "按時完成率"
    shown = dict(zip(chart["categories"], series["values"], strict=True))
    met = {kind: rate for kind, rate in shown.items() if rate is not None}
    assert met == {kind: rate for kind, rate in reported.items() if rate is not None}
    assert "核實" in "".join(chart["categories"])  # the deadline kinds by their names


async def test_the_returns_and_exchange_ratios_are_the_exchange_ratio_reports(
    services: Services, samples: None, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(services, clock)
    drawn = _drawn(monkeypatch, "bars_against_limits")
    async with services.session_factory() as session:
        await REPORTS["exchange_ratio"].render(
            session, "2026-11", document_context(services, "zh-Hant")
        )
        statistics = await monthly_statistics(session, "2026-11", SHANGHAI, now=clock.now())
    ((_, customers, ratios, limits, _),) = drawn

    charts = await _charts(services, clock, "business_head")
    returns = charts["returns_by_reason"]
    assert returns["title"] == "2025年12月至2026年11月每月調退貨件數（按原因）"
    assert returns["categories"] == MONTHS_SHOWN
    by_reason = _by_name(returns)
    assert set(by_reason) == {"質量問題", "不適銷"}
    assert by_reason["不適銷"][-1] == statistics.by_reason["unsalable"][0] == 1
    assert by_reason["質量問題"][-1] == 0
    assert sum(by_reason["不適銷"][:-1]) == 0

    exchange = charts["exchange_ratio"]
    assert exchange["title"] == "截至2026-11-26各客戶調換率及規定調換率"
    assert exchange["categories"] == customers == ["C002 康健藥房連鎖", "C003 華南醫藥貿易公司"]
    assert exchange["series"] == [{"name": "調換率", "values": [round(r, 2) for r in ratios]}]
    assert exchange["series"][0]["values"] == [0.0, 3.33]
    # the customers' limits differ: each is named, none drawn across the chart
    assert limits == [3.0, 5.0]
    assert exchange["limit"] is None
    assert exchange["note"] == "規定調換率：C002 康健藥房連鎖為3%、C003 華南醫藥貿易公司為5%"


async def test_defects_repair_times_and_scores_are_the_vendor_reports(
    services: Services, samples: None, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(services, clock)
    drawn = _drawn(monkeypatch, "lines")
    async with services.session_factory() as session:
        v001 = await session.scalar(select(Vendor.id).where(Vendor.code == "V001"))
        measured = [
            await vendor_scores.measured_figures(session, v001, period, SHANGHAI)
            for period in ("2026-10", "2026-11")
        ]
        await REPORTS["vendor_scores"].render(
            session, "2026-H2", document_context(services, "zh-Hant")
        )
    ((_, months, scores, _),) = drawn[:1]

    charts = await _charts(services, clock, "equipment_manager")
    found = charts["defects_by_vendor"]
    assert found["title"] == "2025年12月至2026年11月各維保單位設備缺陷件數"
    assert (found["categories"], found["unit"]) == ([ELEVATORS], "件")
    assert found["series"] == [
        {"name": "缺陷件數", "values": [sum(m["defects"] for m in measured)]}
    ]
    assert found["series"][0]["values"] == [2]

    repairs = charts["repair_time_by_vendor"]
    assert repairs["title"] == "2025年12月至2026年11月各維保單位平均維修時間"
    assert (repairs["categories"], repairs["unit"]) == ([ELEVATORS], "小時")
    # one repair, of 90 minutes, as October's score sheet measured it
    assert measured[0]["median_repair_minutes"] == 90
    assert repairs["series"] == [{"name": "平均維修時間", "values": [1.5]}]

    chart = charts["vendor_scores"]
    assert chart["title"] == "2025年12月至2026年11月維保單位月度評分"
    assert (chart["kind"], chart["unit"], chart["limit"]) == ("line", "分", 60)
    assert chart["note"] == "合格分：60分"
    shown = _by_name(chart)
    assert months[:5] == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert set(shown) == set(scores) == {ELEVATORS}
    for vendor, values in scores.items():
        assert shown[vendor][-5:] == values[:5]  # July to November, as the half-year's chart
    assert shown[ELEVATORS][-2:] == [80, None]  # October scored, November not yet
    assert Counter(v is None for v in shown[ELEVATORS]) == Counter({True: 11, False: 1})


async def test_the_charts_speak_the_readers_language(
    services: Services, samples: None, clock: ManualClock
) -> None:
    await _seed(services, clock)
    english = await _charts(services, clock, "equipment_manager", language="en")
    chart = english["vendor_scores"]
    assert chart["title"] == "Vendors' monthly scores, Dec 2025 to Nov 2026"
    assert chart["categories"][0] == "Dec 2025" and chart["categories"][-1] == "Nov 2026"
    assert (chart["unit"], chart["note"]) == ("points", "Pass mark: 60 points")
    assert english["repair_time_by_vendor"]["unit"] == "hours"
    # names as stored, whatever the language
    assert english["defects_by_vendor"]["categories"] == [ELEVATORS]
    simplified = await _charts(services, clock, "business_head", language="zh-Hans")
    assert simplified["exchange_ratio"]["note"] == (
        "规定调换率：C002 康健藥房連鎖为3%、C003 華南醫藥貿易公司为5%"
    )
    assert _by_name(simplified["returns_by_reason"]).keys() == {"质量问题", "不适销"}


async def test_products_past_the_first_five_are_counted_together_as_other(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    typed = {"甲": 3, "乙": 2, "丙": 1, "丁": 1, "戊": 1, "己": 1, "庚": 1}
    for product, count in typed.items():
        for _ in range(count):
            await staff_file(services, qc, product=None, product_text=product, lot_text="X1")
    chart = (await _charts(services, clock, "quality_head"))["complaints_by_product"]
    this_month = {series["name"]: series["values"][-1] for series in chart["series"]}
    # the most first, then by name; the two left over as one
    assert list(this_month) == ["甲", "乙", "丁", "丙", "己", "其他"]
    assert this_month == {"甲": 3, "乙": 2, "丁": 1, "丙": 1, "己": 1, "其他": 2}
