"""P1 records: the complaint ledger and the quarterly report, their periods and their schedule."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook

from bot.services import Services
from procedures.calendar import parse_quarter, previous_quarter, quarter_bounds
from procedures.clock import ManualClock
from procedures.complaints import handling, queries
from reports import complaints as complaint_reports
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


async def test_the_ledger_lists_every_complaint_with_its_handling_in_the_readers_language(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality")
    first = await file(services, "C001", quantity=12)
    await file(services, "C003", quantity=5)
    await act(services, handling.take_complaint, qc, first.id)
    clock.advance(dt.timedelta(hours=30))  # past the 24-hour limit
    await verify(services, qc, first.id, "nonconforming")

    async with services.session_factory() as session:
        rows = await complaint_reports.ledger_rows(session)
    assert [(r.number, r.result, r.verification_on_time) for r in rows] == [
        ("QC-2026-00001", "nonconforming", False),
        ("QC-2026-00002", None, None),
    ]

    def label(key: str) -> str:
        return services.texts.get("zh-Hant", key)

    workbook = load_workbook(io.BytesIO(complaint_reports.ledger_workbook(rows, label, SHANGHAI)))
    sheet = workbook.active
    assert sheet.title == "顧客質量投訴臺帳"
    header = [cell.value for cell in sheet[1]]
    assert header[:7] == ["投訴編號", "收到時間", "客戶", "本埠/外埠", "產品", "批號", "數量"]
    first_row = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert first_row["收到時間"] == "2026-11-26 09:00"
    assert first_row["本埠/外埠"] == "本埠" and first_row["核實結果"] == "核實不合格"
    assert first_row["按時核實"] == "否" and first_row["實地核實"] == "是"


async def test_the_quarterly_report_counts_the_quarter_only(
    services: Services, samples: None, clock: ManualClock
) -> None:
    await file(services, "C001", quantity=12)  # 2026 Q4
    clock.set(dt.datetime(2027, 1, 2, 10, tzinfo=SHANGHAI))
    await file(services, "C003", quantity=5)  # 2027 Q1

    start, end = quarter_bounds(2026, 4, SHANGHAI)
    async with services.session_factory() as session:
        rows = await complaint_reports.ledger_rows(session, start, end)
    content = complaint_reports.quarterly_workbook(
        rows, lambda key: services.texts.get("en", key), SHANGHAI, "2026 Q4"
    )
    summary, details = load_workbook(io.BytesIO(content)).worksheets
    figures = {row[0].value: row[1].value for row in summary.iter_rows(min_row=2, max_row=16)}
    assert figures["Complaints"] == 1 and figures["From local buyers"] == 1
    assert figures["Units complained about"] == 12 and figures["Not yet verified"] == 1
    assert details.max_row == 2  # header and the one complaint


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
