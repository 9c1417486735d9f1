"""The ledgers and statistics printed as a reader prints them: A4 landscape, every character at
8 pt or more, the title and headings on every page, the page numbers in the footer."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.services import Services
from procedures.complaints import handling
from procedures.kernel.clock import ManualClock
from reports.registry import REPORTS
from tests.printing import print_workbook, read_pdf

from .helpers import act, file, make_user, verify
from .test_reports import reader, render


async def test_the_complaint_ledger_prints_readable_with_its_headings_on_every_page(
    services: Services, samples: None, clock: ManualClock
) -> None:
    qc = await make_user(services, "quality", name="Qiu Quality")
    filed = []
    for index in range(30):
        complaint = await file(
            services,
            "C001" if index % 2 else "C003",
            quantity=index + 1,
            description="注射器針座處漏液，推注時藥液自接口滲出，已停用該批次並封存待查。",
        )
        filed.append(complaint)
        clock.advance(dt.timedelta(minutes=10))
    await act(services, handling.take_complaint, qc, filed[0].id)
    await verify(services, qc, filed[0].id, "nonconforming")

    document = await render(services, {"kind": "complaint_ledger", "params": {"month": "2026-11"}})
    printed = read_pdf(print_workbook(document.content))

    assert printed.pages == 3
    assert printed.smallest >= 8, [s for s in printed.sizes if s[0] < 8][:3]
    for complaint in filed:
        assert complaint.number in printed.text
    assert printed.text.count("康華醫藥有限公司　顧客質量投訴臺帳") == printed.pages
    assert printed.text.count("審核人") == printed.pages  # the headings on every page
    assert "第1頁，共3頁" in printed.text and "第3頁，共3頁" in printed.text
    # the detail columns stay in the workbook, off the paper
    assert "購貨方聯繫人及電話" not in printed.text


@pytest.mark.parametrize(
    ("kind", "period", "title", "pages"),
    [
        ("complaint_quarterly", "2026-Q4", "顧客投訴查詢商品質量記錄表2026年第4季度", 2),
        ("deadline_on_time", "2026-Q4", "各類時限按時完成率（季度）", 1),
        ("vendor_scores", "2026-H2", "2026年第2個半年度維保單位綜合檢查考核", 1),
        ("patrol_completion", "2026-11", "設備巡視完成率（月）", 1),
        ("exchange_ratio", "2026-11", "2026-11調退貨統計", 1),
        ("consumer_complaint_monthly", "2026-11", "消費者投訴總結和分析", 2),
    ],
)
async def test_every_statistics_workbook_prints_readable_under_its_title(
    services: Services, samples: None, kind: str, period: str, title: str, pages: int
) -> None:
    qc = await make_user(services, "quality")
    complaint = await file(services, "C001", quantity=3)
    await act(services, handling.take_complaint, qc, complaint.id)
    await verify(services, qc, complaint.id, "conforming")
    async with services.session_factory() as session:
        files = await REPORTS[kind].render(session, period, reader(services))

    printed = read_pdf(print_workbook(files.workbook.content))

    assert printed.pages == pages
    assert printed.smallest >= 8, [s for s in printed.sizes if s[0] < 8][:3]
    assert "康華醫藥有限公司" in printed.text and title in printed.text
    assert f"第1頁，共{pages}頁" in printed.text
