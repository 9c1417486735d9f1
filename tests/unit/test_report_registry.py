"""The report registry: every report renders a workbook in the reader's language and, where it
has one, a PNG chart drawn in the bundled CJK font; the quarterly report's approval."""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from functools import partial

import pytest
from matplotlib import font_manager
from openpyxl import load_workbook
from sqlalchemy import select

from bot.services import Services
from procedures import reporting as report_approvals
from procedures.complaints import handling, queries
from procedures.kernel.calendar import period_bounds, period_type, recent_periods
from procedures.kernel.clock import ManualClock
from procedures.kernel.errors import NotAllowed, WrongState
from procedures.vendors import scores as vendor_scores
from reports import charts, documents
from reports import registry as report_registry
from reports.documents import DocumentContext
from reports.registry import REPORTS
from storage.models import Vendor
from tests.conftest import SHANGHAI
from tests.printing import read_pdf

from .helpers import act, book_in_return, file, make_user, outbox_rows, verify
from .test_returns import request as return_request

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def reader(services: Services, language: str = "zh-Hant") -> DocumentContext:
    return DocumentContext(
        timezone=SHANGHAI,
        now=services.clock.now(),
        text=partial(services.texts.get, language),
        company="康華醫藥有限公司",
    )


# each report's files as a reader of each language receives them: (workbook, chart)
REPORT_FILE_NAMES = {
    "zh-Hant": {
        "complaint_ledger": ("顧客質量投訴臺帳-2026-11.xlsx", None),
        "complaint_quarterly": (
            "顧客投訴查詢商品質量記錄表-2026-Q4-草稿.xlsx",
            "顧客投訴按月按產品-2026-Q4.png",
        ),
        "deadline_on_time": ("各類時限按時完成率-2026-Q4.xlsx", "各類時限按時完成率-2026-Q4.png"),
        "vendor_scores": ("維保單位綜合檢查考核-2026-H2.xlsx", "維保單位月度評分-2026-H2.png"),
        "patrol_completion": ("設備巡視完成率-2026-11.xlsx", "設備巡視完成率-2026-11.png"),
        "exchange_ratio": ("各客戶調換率-2026-11.xlsx", "各客戶調換率-2026-11.png"),
        "consumer_complaint_monthly": ("消費者投訴總結和分析-2026-11.xlsx", None),
    },
    "zh-Hans": {
        "complaint_ledger": ("顾客质量投诉台账-2026-11.xlsx", None),
        "complaint_quarterly": (
            "顾客投诉查询商品质量记录表-2026-Q4-草稿.xlsx",
            "顾客投诉按月按产品-2026-Q4.png",
        ),
        "deadline_on_time": ("各类时限按时完成率-2026-Q4.xlsx", "各类时限按时完成率-2026-Q4.png"),
        "vendor_scores": ("维保单位综合检查考核-2026-H2.xlsx", "维保单位月度评分-2026-H2.png"),
        "patrol_completion": ("设备巡视完成率-2026-11.xlsx", "设备巡视完成率-2026-11.png"),
        "exchange_ratio": ("各客户调换率-2026-11.xlsx", "各客户调换率-2026-11.png"),
        "consumer_complaint_monthly": ("消费者投诉总结和分析-2026-11.xlsx", None),
    },
    "en": {
        "complaint_ledger": ("complaint-ledger-2026-11.xlsx", None),
        "complaint_quarterly": (
            "complaints-2026-Q4-draft.xlsx",
            "complaints-by-product-2026-Q4.png",
        ),
        "deadline_on_time": ("deadlines-2026-Q4.xlsx", "deadlines-2026-Q4.png"),
        "vendor_scores": ("vendor-assessment-2026-H2.xlsx", "vendor-scores-2026-H2.png"),
        "patrol_completion": ("patrols-2026-11.xlsx", "patrols-2026-11.png"),
        "exchange_ratio": ("exchange-ratio-2026-11.xlsx", "exchange-ratio-2026-11.png"),
        "consumer_complaint_monthly": ("consumer-complaints-2026-11.xlsx", None),
    },
}
REPORT_PERIODS = {
    "complaint_ledger": "2026-11",
    "complaint_quarterly": "2026-Q4",
    "deadline_on_time": "2026-Q4",
    "vendor_scores": "2026-H2",
    "patrol_completion": "2026-11",
    "exchange_ratio": "2026-11",
    "consumer_complaint_monthly": "2026-11",
}
# a title row's marks: Chinese titles take full-width ones, English titles half-width ones
CHINESE_TITLE_MARKS = re.compile(r"[：　]")
ENGLISH_IN_CHINESE = re.compile(r": |[A-Za-z]+ ·")


@pytest.mark.parametrize("language", ["zh-Hant", "zh-Hans", "en"])
async def test_every_reports_files_are_named_and_titled_in_the_readers_language(
    services: Services, samples: None, language: str
) -> None:
    assert set(REPORT_PERIODS) == set(REPORTS), "a new report needs its names here"
    names, titles = {}, {}
    async with services.session_factory() as session:
        for kind, period in REPORT_PERIODS.items():
            files = await REPORTS[kind].render(session, period, reader(services, language))
            chart = files.chart.file_name if files.chart is not None else None
            names[kind] = (files.workbook.file_name, chart)
            sheet = load_workbook(io.BytesIO(files.workbook.content)).worksheets[0]
            titles[kind] = str(sheet["A1"].value)
    assert names == REPORT_FILE_NAMES[language]
    for kind, title in titles.items():
        assert title.startswith("康華醫藥有限公司"), (kind, title)
        if language == "en":
            assert not CHINESE_TITLE_MARKS.search(title), (kind, title)
        else:
            assert not ENGLISH_IN_CHINESE.search(title), (kind, title)


def test_a_file_name_keeps_no_character_a_file_system_refuses() -> None:
    assert (
        report_registry.safe_file_name('退貨單-RT/2026:00*1?"<>|\\') == "退貨單-RT-2026-00-1------"
    )
    texts = partial(
        DocumentContext, timezone=SHANGHAI, now=dt.datetime(2026, 11, 26, tzinfo=SHANGHAI)
    )
    context = texts(text=lambda key, **params: "{name}-{number}".format(**params))
    assert context.file_name("file_name.form", "pdf", name="A/B", number="RT:1") == "A-B-RT-1.pdf"


def test_periods_are_named_as_users_type_them() -> None:
    assert [period_type(p) for p in ("2026-11", "2026-q3", "2026-H2", "2026-13", "Q3")] == [
        "month",
        "quarter",
        "half",
        None,
        None,
    ]
    start, end = period_bounds("2026-H2", SHANGHAI)
    assert start == dt.datetime(2026, 6, 30, 16, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC)
    now = dt.datetime(2026, 11, 27, 10, tzinfo=SHANGHAI)
    assert recent_periods("month", now, SHANGHAI, 3) == ["2026-10", "2026-09", "2026-08"]
    assert recent_periods("quarter", now, SHANGHAI, 2) == ["2026-Q3", "2026-Q2"]
    assert recent_periods("half", now, SHANGHAI, 2) == ["2026-H1", "2025-H2"]


def test_charts_draw_chinese_in_the_bundled_font_without_missing_glyphs() -> None:
    family = charts.font_family()
    resolved = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    assert resolved == str(charts.FONT_FILE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        png = charts.stacked_bars(
            "2026-Q4每月投訴件數（按產品）",
            ["2026-10", "2026-11", "2026-12"],
            {"一次性使用無菌注射器 5ml": [1, 2, 0], "醫用外科口罩": [0, 1, 3]},
            "投訴件數",
        )
    assert png.startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("kind", "period", "sheet_title", "chart"),
    [
        ("complaint_ledger", "2026-11", "顧客質量投訴臺帳", False),
        ("complaint_quarterly", "2026-Q4", "匯總", True),
        ("deadline_on_time", "2026-Q4", "各類時限按時完成率（季度）", True),
        ("vendor_scores", "2026-H2", None, True),
        ("patrol_completion", "2026-11", "設備巡視完成率（月）", True),
        # 2026-11 is still running on the clock's day: its figures so far
        ("exchange_ratio", "2026-11", "2026-11調退貨統計（截至2026-11-26）", True),
        ("consumer_complaint_monthly", "2026-11", "總結", False),
    ],
)
async def test_every_report_renders_its_workbook_and_chart(
    services: Services,
    samples: None,
    clock: ManualClock,
    kind: str,
    period: str,
    sheet_title: str | None,
    chart: bool,
) -> None:
    qc = await make_user(services, "quality")
    complaint = await file(services, "C001", quantity=3)
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "conforming")

    async with services.session_factory() as session:
        files = await REPORTS[kind].render(session, period, reader(services))

    workbook = load_workbook(io.BytesIO(files.workbook.content))
    assert files.workbook.file_name.endswith(".xlsx")
    if sheet_title is not None:
        assert workbook.worksheets[0].title == sheet_title
    if chart:
        assert files.chart is not None and files.chart.file_name.endswith(".png")
        assert files.chart.content.startswith(PNG_SIGNATURE)
    else:
        assert files.chart is None


async def test_the_quality_head_approves_the_quarter_with_a_conclusion_and_it_is_sent_final(
    services: Services, samples: None, clock: ManualClock
) -> None:
    head = await make_user(services, "quality_head", name="Hu Head")
    qc = await make_user(services, "quality")
    await file(services, "C001", quantity=3)
    clock.set(dt.datetime(2027, 1, 1, 8, tzinfo=SHANGHAI))
    async with services.unit_of_work() as uow:
        await queries.queue_quarterly_report(uow.session, now=uow.clock.now(), timezone=SHANGHAI)
        await uow.commit()
    notice = await outbox_rows(services, text_key="report.quarterly_ready")
    by_user = {row.user_id: row for row in notice}
    assert by_user[head.id].buttons[0][0]["data"] == "rp:ok:2026:4"
    assert not by_user[qc.id].buttons

    with pytest.raises(NotAllowed):
        await act(
            services,
            report_approvals.approve_quarterly_report,
            qc,
            2026,
            4,
            "ok",
            timezone=SHANGHAI,
        )
    await act(
        services,
        report_approvals.approve_quarterly_report,
        head,
        2026,
        4,
        "本季度投訴均已按時處理，無需糾正措施。",
        timezone=SHANGHAI,
    )
    with pytest.raises(WrongState):
        await act(
            services,
            report_approvals.approve_quarterly_report,
            head,
            2026,
            4,
            "again",
            timezone=SHANGHAI,
        )
    final = await outbox_rows(services, text_key="report.quarterly_final")
    assert {row.user_id for row in final} >= {head.id, qc.id}

    async with services.session_factory() as session:
        document = await documents.render(
            session,
            {"kind": "complaint_quarterly", "params": {"year": 2026, "quarter": 4}},
            reader(services),
        )
    assert document.file_name == "顧客投訴查詢商品質量記錄表-2026-Q4.xlsx"
    summary = load_workbook(io.BytesIO(document.content)).worksheets[0]
    values = [row[0].value for row in summary.iter_rows()]
    assert "本季度投訴均已按時處理，無需糾正措施。" in values
    cells = {row[0].value: row[1].value for row in summary.iter_rows() if len(row) > 1}
    assert cells["狀態"] == "定稿：質量負責人已審核" and cells["審核人"] == "Hu Head"


async def test_the_score_sheet_shows_weights_standards_and_the_conclusion_against_the_pass_mark(
    services: Services, samples: None, clock: ManualClock
) -> None:
    manager = await make_user(services, "equipment_manager", name="Ma Manager")
    async with services.session_factory() as session:
        vendor = await session.scalar(select(Vendor.id).where(Vendor.code == "V001"))
    judged = dict.fromkeys(vendor_scores.SCORE_CRITERIA, 3)  # 60 of 100
    score = await act(
        services, vendor_scores.record_vendor_score, manager, vendor, "2026-10", judged, SHANGHAI
    )
    context = reader(services)
    for pass_mark, conclusion in ((60, "合格"), (70, "不合格")):
        context = DocumentContext(
            timezone=SHANGHAI, now=context.now, text=context.text, pass_mark=pass_mark
        )
        async with services.session_factory() as session:
            document = await documents.render(
                session, {"kind": "vendor_score", "params": {"id": score.id}}, context
            )
        printed = read_pdf(document.content).text
        assert "《合格維保單位考核評分表》" in printed
        assert "考核項目 評分（1–5） 權重 評分標準" in printed
        assert "維修保養質量 3 20% 按合同完成保養項目" in printed
        assert "總分（0–100） 60" in printed and f"合格分數線 {pass_mark}" in printed
        assert f"考核結論 {conclusion}" in printed
        assert "備註 響應逾時0次" in printed
        # the seed has the equipment manager fill the sheet in, and nobody approve it
        assert "評分人 Ma Manager" in printed
        assert "審批" not in printed


async def test_the_exchange_ratio_report_lists_every_customer_and_charts_each_against_its_limit(
    services: Services, samples: None, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # C003: 90.00 of its 2,700.00 in 90 days, limit 5 %, booked in during the month
    booked = await return_request(services, 2)
    await book_in_return(services, booked.id)
    await return_request(services, 4)  # over the limit: refused, counted apart
    drawn = []
    draw = charts._png
    monkeypatch.setattr(charts, "_png", lambda figure: drawn.append(figure) or draw(figure))
    clock.set(dt.datetime(2026, 12, 1, 8, tzinfo=SHANGHAI))
    async with services.session_factory() as session:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a glyph missing from the font would warn
            files = await REPORTS["exchange_ratio"].render(session, "2026-11", reader(services))

    rows = list(
        load_workbook(io.BytesIO(files.workbook.content)).active.iter_rows(values_only=True)
    )
    assert rows[0][0] == "康華醫藥有限公司　2026-11調退貨統計"
    by_first = {row[0]: row[1:] for row in rows}
    assert by_first["不適銷"][:3] == (1, 2, 90.0)
    assert by_first["不予批準或不予調退"][0] == 1
    assert by_first["客戶"] == (
        "調退貨明細表數",
        "數量",
        "金額",
        "期限內已調換",
        "期限內進貨",
        "調換率",
        "規定調換率",
        "超過規定",
    )
    # the customer's row counts what the by-reason table counts: the goods booked in
    assert by_first["C003 華南醫藥貿易公司"] == (1, 2, 90.0, 90.0, 2700.0, "3.33%", "5.00%", "否")
    assert by_first["C002 康健藥房連鎖"][5:] == ("0.00%", "3.00%", "否")
    assert by_first["C001 仁和醫療器械有限公司"][5:] == (
        None,
        "5.00%",
        "否",
    )  # nothing bought in its window

    assert files.chart is not None and files.chart.file_name == "各客戶調換率-2026-11.png"
    assert files.chart.content.startswith(PNG_SIGNATURE)
    (figure,) = drawn
    axes = figure.axes[0]
    assert axes.get_title() == "2026-11月末各客戶調換率及規定調換率"
    labels = [label.get_text() for label in axes.get_xticklabels()]
    assert labels == ["C002 康健藥房連鎖", "C003 華南醫藥貿易公司"]  # C001 has no ratio to draw
    bar = axes.patches[labels.index("C003 華南醫藥貿易公司")]
    assert round(bar.get_height(), 2) == 3.33
    (limits,) = axes.collections  # each customer's own limit, drawn across its bar
    segments = {round(s[0][0] + 0.4): round(s[0][1], 2) for s in limits.get_segments()}
    assert segments == {0: 3.0, 1: 5.0}
    for text in [axes.title, *axes.get_xticklabels()]:
        found = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
        assert found == str(charts.FONT_FILE), text.get_text()


def test_each_kind_is_registered_once_asked_for_by_period_attached_or_both() -> None:
    kinds = report_registry.KINDS
    # the ledger and the quarterly report are asked for with /report and attached to messages:
    # one entry each, with both renderers
    for kind in ("complaint_ledger", "complaint_quarterly"):
        assert REPORTS[kind] is kinds[kind]
        assert documents.RENDERERS[kind] is kinds[kind].document is not None
    # a record's document is only attached; a chart of the deadlines only asked for
    assert "rectification_notice" in documents.RENDERERS and "rectification_notice" not in REPORTS
    assert "deadline_on_time" in REPORTS and "deadline_on_time" not in documents.RENDERERS
    assert set(REPORTS) | set(documents.RENDERERS) == set(kinds)
    assert list(REPORTS) == [
        "complaint_ledger",
        "complaint_quarterly",
        "deadline_on_time",
        "exchange_ratio",
        "consumer_complaint_monthly",
        "vendor_scores",
        "patrol_completion",
    ]
    with pytest.raises(ValueError, match="report kind 'complaint_ledger' is registered twice"):
        report_registry.report("complaint_ledger", "month", frozenset())(
            report_registry.complaint_ledger
        )
    with pytest.raises(ValueError, match="document kind 'complaint_ledger' has two renderers"):
        report_registry.document("complaint_ledger")(report_registry.complaint_ledger_document)
