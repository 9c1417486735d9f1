"""P1 records: the complaint ledger and the quarterly report, their periods and their schedule."""

from __future__ import annotations

import datetime as dt
import io
from functools import partial

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from bot.services import Services
from procedures import reporting as report_approvals
from procedures.complaints import handling, ledger, queries
from procedures.kernel.calendar import parse_quarter, previous_quarter, quarter_bounds
from procedures.kernel.clock import ManualClock
from reports import documents
from reports.cells import print_scale, printed_font_size
from reports.documents import DocumentContext
from tests.conftest import SHANGHAI

from .helpers import act, file, make_user, outbox_rows, verify


def test_quarters_follow_the_local_calendar() -> None:
    start, end = quarter_bounds(2026, 4, SHANGHAI)
    assert start == dt.datetime(2026, 9, 30, 16, 0, tzinfo=dt.UTC)  # 1 Oct 00:00 in Shanghai
    assert end == dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)
    # 1 January 07:00 in Shanghai is still 31 December in UTC: the local date decides
    new_year = dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)
    assert previous_quarter(new_year, SHANGHAI) == (2026, 4)
    assert previous_quarter(dt.datetime(2026, 7, 1, 1, tzinfo=SHANGHAI), SHANGHAI) == (2026, 2)
    assert parse_quarter("2026-q3") == (2026, 3)
    assert parse_quarter("2026-Q5") is None and parse_quarter("last quarter") is None


def reader(services: Services, language: str = "zh-Hant") -> DocumentContext:
    return DocumentContext(
        timezone=SHANGHAI,
        now=services.clock.now(),
        text=partial(services.texts.get, language),
        company="康華醫藥有限公司",
    )


async def render(services: Services, attachment: dict, language: str = "zh-Hant"):
    async with services.session_factory() as session:
        return await documents.render(session, attachment, reader(services, language))


async def test_the_ledger_has_the_columns_an_inspector_asks_for_with_real_dates_and_print_set_up(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality", name="Qiu Quality")
    first = await file(services, "C001", quantity=12)
    await file(services, "C003", quantity=5)
    await act(services, handling.take_complaint, qc, first.id)
    clock.advance(dt.timedelta(hours=30))  # past the 24-hour limit
    await verify(services, qc, first.id, "nonconforming")

    async with services.session_factory() as session:
        rows = await queries.ledger_rows(session)
    assert [(r.number, r.result, r.verification_on_time) for r in rows] == [
        ("QC-2026-00001", "nonconforming", False),
        ("QC-2026-00002", None, None),
    ]

    document = await render(services, {"kind": "complaint_ledger", "params": {"month": "2026-11"}})
    assert document.file_name == "顧客質量投訴臺帳-2026-11.xlsx"
    sheet = load_workbook(io.BytesIO(document.content)).active
    assert sheet.title == "顧客質量投訴臺帳"
    assert (
        sheet["A1"].value
        == "康華醫藥有限公司　顧客質量投訴臺帳　期間：2026-11　打印日期：2026-11-27"
    )
    header = [cell.value for cell in sheet[2]]
    # what a reader needs on paper first: only these are printed
    assert header[:12] == [
        "序號",
        "投訴編號",
        "收到時間",
        "客戶",
        "產品",
        "批號",
        "問題",
        "核實結果",
        "處置意見",
        "處理完畢時間",
        "經辦人",
        "審核人",
    ]
    for column in (
        "生產企業",
        "供貨單位",
        "註冊證號",
        "批號",
        "有效期",
        "調退貨明細表號",
        "回訪結果",
        "經辦人",
        "審核人",
    ):
        assert column in header
    first_row = dict(zip(header, [cell.value for cell in sheet[3]], strict=True))
    assert first_row["序號"] == 1
    assert first_row["收到時間"] == dt.datetime(2026, 11, 26, 9, 0)  # a date cell, local time
    assert sheet.cell(row=3, column=3).is_date
    assert first_row["有效期"] == dt.datetime(2029, 2, 28)
    assert first_row["規格型號"] == "5ml 帶針 0.6×25mm"
    assert first_row["生產企業"] == "康華醫療器械有限公司"
    assert first_row["註冊證號"] == "國械注準20193140123"
    assert first_row["本埠/外埠"] == "本埠" and first_row["核實結果"] == "核實不合格"
    assert first_row["按時核實"] == "否" and first_row["實地核實"] == "是"
    assert first_row["調退貨明細表號"].startswith("RT-2026-")
    assert first_row["回訪結果"].startswith("2026-11-27 15:00 ")
    assert first_row["經辦人"] == "Qiu Quality"
    assert [cell.value for cell in sheet[4]][1] == "QC-2026-00002"
    # printed as the quality department files it: the title and headings on every page, the
    # page numbers in the footer, the printed columns at 8 pt or more once fitted to A4's width
    assert sheet.freeze_panes == "A3"
    assert sheet.print_title_rows == "$1:$2"
    assert sheet.print_area == "'顧客質量投訴臺帳'!$A$1:$L$4"
    assert sheet.oddFooter.center.text == "第&P頁，共&N頁"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    widths = [sheet.column_dimensions[get_column_letter(i)].width for i in range(1, 13)]
    assert (
        sheet.page_setup.scale == print_scale(widths)
        and printed_font_size(sheet.page_setup.scale) >= 8
    )
    assert sheet["E3"].alignment.wrap_text  # a long product name wraps instead of widening


async def test_the_quarterly_report_counts_the_quarter_only_and_analyses_it(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    first = await file(services, "C001", quantity=12)  # 2026 Q4
    await act(services, handling.take_complaint, qc, first.id)
    await verify(services, qc, first.id, "conforming")
    clock.set(dt.datetime(2027, 1, 2, 10, tzinfo=SHANGHAI))
    await file(services, "C003", quantity=5)  # 2027 Q1

    document = await render(
        services, {"kind": "complaint_quarterly", "params": {"year": 2026, "quarter": 4}}, "en"
    )
    assert document.file_name == "complaints-2026-Q4-draft.xlsx"
    summary, details = load_workbook(io.BytesIO(document.content)).worksheets
    figures = {row[0].value: row[1].value for row in summary.iter_rows(min_row=2)}
    assert figures["Status"] == "draft: awaiting the quality head's approval"
    assert figures["Complaints"] == 1 and figures["From local buyers"] == 1
    assert figures["Units complained about"] == 12 and figures["Verified conforming"] == 1
    labels = [row[0].value for row in summary.iter_rows()]
    by_lot = labels.index("Complaints by product and lot")
    assert [c.value for c in summary[by_lot + 3]][:4] == [
        "一次性使用無菌注射器 5ml",
        "L20260301",
        1,
        0,
    ]
    on_time = labels.index("On-time rate by deadline")
    rates = {
        r[0].value: (r[1].value, r[5].value)
        for r in summary.iter_rows(min_row=on_time + 3, max_row=on_time + 5)
    }
    assert rates["on-site verification"] == (1, 1)
    assert figures["Holds placed"] == 1 and figures["Holds lifted"] == 0
    assert figures["Returns started"] == 0
    assert labels[labels.index("Conclusion") + 1] == "(to be written by the quality head)"
    assert details.max_row == 3  # title, header and the one complaint


async def test_the_quarterly_report_is_queued_once_for_the_quality_department(
    services: Services, clock: ManualClock
) -> None:
    head = await make_user(services, "quality_head")
    qc = await make_user(services, "quality")
    await make_user(services, "warehouse")
    clock.set(dt.datetime(2027, 1, 1, 8, tzinfo=SHANGHAI))
    for _ in range(2):  # a rerun after a restart
        async with services.unit_of_work() as uow:
            await queries.queue_quarterly_report(
                uow.session, now=uow.clock.now(), timezone=SHANGHAI
            )
            await uow.commit()
    rows = await outbox_rows(services, text_key="report.quarterly_ready")
    assert sorted(r.user_id for r in rows) == sorted([head.id, qc.id])
    assert rows[0].attachment == {
        "kind": "complaint_quarterly",
        "params": {"year": 2026, "quarter": 4},
    }


async def test_the_ledgers_reviewer_is_the_quality_head_never_the_handler_again(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality", name="Qiu Quality")
    head = await make_user(services, "quality_head", name="Hu Head")
    by_handler = await file(services, "C001", quantity=2)
    by_head = await file(services, "C003", quantity=1)
    for complaint in (by_handler, by_head):
        await act(services, handling.take_complaint, qc, complaint.id)
        await verify(services, qc, complaint.id, "conforming")
    await act(services, handling.record_disposition, qc, by_handler.id, "labels reprinted")
    # the quality head gives the opinion in the handler's place: the head reviewed it
    await act(services, handling.record_disposition, head, by_head.id, "goods re-inspected")

    async def reviewers() -> dict[str, tuple[str, str]]:
        async with services.session_factory() as session:
            rows = await queries.ledger_rows(session, timezone=SHANGHAI)
        return {r.number: (r.handled_by, r.reviewed_by) for r in rows}

    assert await reviewers() == {
        by_handler.number: ("Qiu Quality", ""),  # nobody reviewed yet: blank
        by_head.number: ("Qiu Quality", "Hu Head"),
    }

    # the quality head approves the quarter's report: every complaint of it is reviewed
    clock.set(dt.datetime(2027, 1, 1, 8, tzinfo=SHANGHAI))
    await act(
        services,
        report_approvals.approve_quarterly_report,
        head,
        2026,
        4,
        "本季度投訴均已按時處理。",
        timezone=SHANGHAI,
    )
    assert await reviewers() == {
        by_handler.number: ("Qiu Quality", "Hu Head"),
        by_head.number: ("Qiu Quality", "Hu Head"),
    }
    document = await render(services, {"kind": "complaint_ledger", "params": {"month": "2026-11"}})
    sheet = load_workbook(io.BytesIO(document.content)).active
    header = [cell.value for cell in sheet[2]]
    printed = [
        dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(min_row=3)
    ]
    assert [(r["經辦人"], r["審核人"]) for r in printed] == [("Qiu Quality", "Hu Head")] * 2


async def test_the_ledger_reads_page_after_page_each_complaint_once_in_the_order_received(
    services: Services, samples: None, clock: ManualClock
) -> None:
    # five complaints in the same instant, so pages of two split a run of equal times
    for _ in range(5):
        await file(services, "C001", quantity=1)
    clock.advance(dt.timedelta(minutes=1))
    for _ in range(2):
        await file(services, "C003", quantity=1)

    async with services.session_factory() as session:
        numbers = [row.number async for row in ledger.iter_ledger_rows(session, page=2)]
    assert numbers == [f"QC-2026-{n:05d}" for n in range(1, 8)]
